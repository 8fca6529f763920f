// UserStore: password checks, lockout, sessions, basic-auth style authentication.
#include <sodium.h>

#include <fmt/format.h>

#include "auth/user_store_impl.h"
#include "core/log.h"

namespace shopfloor::auth {

using core::Result;
using core::Status;

namespace {

// Cached successful password checks (AuthenticatePassword) live this long.
constexpr core::Duration kPasswordCacheTtl = core::kMinute;

}  // namespace

void UserStoreImpl::CountFailure(const UserRow& user, std::string_view remote) {
  // Caller holds write_mutex_.
  const core::Timestamp now = clock_->Now();
  Status s = [&]() -> Status {
    SF_ASSIGN_OR_RETURN(meta::Transaction txn, meta::Transaction::Begin(db_));
    SF_ASSIGN_OR_RETURN(meta::Statement prune,
                        db_->Prepare("DELETE FROM auth_login_failures WHERE user_id=?1 AND ts <= ?2"));
    prune.Bind(1, user.info.id).Bind(2, now - options_.failure_window);
    SF_RETURN_IF_ERROR(prune.Run());
    SF_ASSIGN_OR_RETURN(meta::Statement ins, db_->Prepare("INSERT INTO auth_login_failures(user_id, ts) VALUES(?1, ?2)"));
    ins.Bind(1, user.info.id).Bind(2, now);
    SF_RETURN_IF_ERROR(ins.Run());
    SF_ASSIGN_OR_RETURN(meta::Statement count, db_->Prepare("SELECT count(*) FROM auth_login_failures WHERE user_id=?1"));
    count.Bind(1, user.info.id);
    SF_ASSIGN_OR_RETURN(bool row, count.Step());
    const int64_t failures = row ? count.Int(0) : 0;
    const bool lock = failures >= options_.max_failed_logins;
    if (lock) {
      SF_ASSIGN_OR_RETURN(meta::Statement up, db_->Prepare("UPDATE auth_users SET locked_until=?1 WHERE id=?2"));
      up.Bind(1, now + options_.lockout).Bind(2, user.info.id);
      SF_RETURN_IF_ERROR(up.Run());
      SF_ASSIGN_OR_RETURN(meta::Statement clear, db_->Prepare("DELETE FROM auth_login_failures WHERE user_id=?1"));
      clear.Bind(1, user.info.id);
      SF_RETURN_IF_ERROR(clear.Run());
    }
    SF_RETURN_IF_ERROR(txn.Commit());
    if (lock) {
      ClearCaches();
      return Record(user.info.name, "login.locked", user.info.name, "",
                    fmt::format(R"({{"locked_until":"{}","failures":{}}})", core::FormatTimestamp(now + options_.lockout),
                                failures),
                    Status::PermissionDenied(fmt::format("{} failed logins: account locked until {}", failures,
                                                         core::FormatTimestamp(now + options_.lockout))),
                    remote);
    }
    return Record(user.info.name, "login.failed", user.info.name, "", "",
                  Status::Unauthenticated("wrong password"), remote);
  }();
  if (!s.ok()) SF_LOG(warn, "auth.failure_not_recorded", "user={} error=\"{}\"", user.info.name, s.ToString());
}

Result<UserStoreImpl::UserRow> UserStoreImpl::CheckCredentials(std::string_view name, std::string_view password,
                                                               std::string_view remote) {
  SF_ASSIGN_OR_RETURN(std::optional<UserRow> user, FindUser(name));
  const Status generic = Status::Unauthenticated(std::string(kInvalidCredentials));
  if (!user) {
    // Spend the same argon2 time as for a real user, so response time does not tell names.
    std::call_once(dummy_hash_once_, [this] {
      Result<std::string> hash = HashPassword("shopfloor-no-such-user", options_.fast_hash_for_tests);
      if (hash.ok()) dummy_hash_ = *hash;
    });
    if (!dummy_hash_.empty()) (void)VerifyPassword(dummy_hash_, password);
    std::lock_guard<std::mutex> lock(write_mutex_);
    Status s = Record(name, "login.failed", name, "", "", Status::Unauthenticated("no such user"), remote);
    if (!s.ok()) SF_LOG(warn, "auth.failure_not_recorded", "error=\"{}\"", s.ToString());
    return generic;
  }
  if (user->info.locked_until != 0) {
    const std::string until = core::FormatTimestamp(user->info.locked_until);
    std::lock_guard<std::mutex> lock(write_mutex_);
    Status s = Record(name, "login.locked", name, "", "",
                      Status::PermissionDenied(fmt::format("login refused: account locked until {}", until)), remote);
    if (!s.ok()) SF_LOG(warn, "auth.failure_not_recorded", "error=\"{}\"", s.ToString());
    return Status::PermissionDenied(fmt::format("account locked until {}", until));
  }
  if (user->info.disabled) {
    std::lock_guard<std::mutex> lock(write_mutex_);
    Status s = Record(name, "login.failed", name, "", "", Status::Unauthenticated("user disabled"), remote);
    if (!s.ok()) SF_LOG(warn, "auth.failure_not_recorded", "error=\"{}\"", s.ToString());
    return generic;
  }
  // argon2 runs outside the lock: logins of different users proceed in parallel.
  const bool ok = password.size() <= options_.max_password_length && VerifyPassword(user->password_hash, password);
  std::lock_guard<std::mutex> lock(write_mutex_);
  if (!ok) {
    CountFailure(*user, remote);
    return generic;
  }
  SF_ASSIGN_OR_RETURN(meta::Statement clear, db_->Prepare("DELETE FROM auth_login_failures WHERE user_id=?1"));
  clear.Bind(1, user->info.id);
  SF_RETURN_IF_ERROR(clear.Run());
  return *user;
}

Result<Session> UserStoreImpl::Login(std::string_view name, std::string_view password, std::string_view remote) {
  SF_ASSIGN_OR_RETURN(UserRow user, CheckCredentials(name, password, remote));
  const core::Timestamp now = clock_->Now();
  Session session;
  session.expires = now + options_.session_ttl;
  std::lock_guard<std::mutex> lock(write_mutex_);
  {
    // Housekeeping: the user's expired sessions are of no further use.
    SF_ASSIGN_OR_RETURN(meta::Statement prune,
                        db_->Prepare("DELETE FROM auth_tokens WHERE user_id=?1 AND kind='session' AND expires<=?2"));
    prune.Bind(1, user.info.id).Bind(2, now);
    SF_RETURN_IF_ERROR(prune.Run());
  }
  SF_ASSIGN_OR_RETURN(auto inserted, InsertToken(TokenKind::kSession, user.info.id, "", session.expires));
  session.token = std::move(inserted.first);
  session.principal = ToPrincipal(user.info, "session");
  SF_RETURN_IF_ERROR(Record(name, "login", name, "",
                            fmt::format(R"({{"session":{},"expires":"{}"}})", inserted.second,
                                        core::FormatTimestamp(session.expires)),
                            Status::OK(), remote));
  return session;
}

Status UserStoreImpl::Logout(std::string_view session_token) {
  SF_ASSIGN_OR_RETURN(ParsedToken parsed, ParseToken(session_token));
  if (parsed.kind != TokenKind::kSession) return Status::InvalidArgument("logout takes a session token (sfs_...)");
  std::lock_guard<std::mutex> lock(write_mutex_);
  SF_ASSIGN_OR_RETURN(meta::Statement q,
                      db_->Prepare("SELECT t.id, u.name FROM auth_tokens t JOIN auth_users u ON u.id=t.user_id "
                                   "WHERE t.hash=?1 AND t.kind='session'"));
  q.BindBlob(1, HashToken(session_token));
  SF_ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Status::Unauthenticated("unknown or expired session");
  const int64_t id = q.Int(0);
  const std::string user = q.Text(1);
  q.Reset();
  SF_ASSIGN_OR_RETURN(meta::Statement del, db_->Prepare("DELETE FROM auth_tokens WHERE id=?1"));
  del.Bind(1, id);
  SF_RETURN_IF_ERROR(del.Run());
  ClearCaches();
  return Record(user, "logout", user, fmt::format(R"({{"session":{}}})", id), "", Status::OK());
}

Result<Principal> UserStoreImpl::AuthenticatePassword(std::string_view name, std::string_view password,
                                                      std::string_view remote) {
  if (password.substr(0, 4) == kSessionPrefix || password.substr(0, 4) == kApiTokenPrefix) {
    SF_ASSIGN_OR_RETURN(Principal p, Authenticate(password));
    if (p.user != name) return Status::Unauthenticated(std::string(kInvalidCredentials));
    return p;
  }
  // Keyed hash of (name, password): the cache never holds a password or a plain hash of one.
  std::string key(crypto_generichash_BYTES, '\0');
  {
    crypto_generichash_state state;
    crypto_generichash_init(&state, reinterpret_cast<const unsigned char*>(password_cache_key_.data()),
                            password_cache_key_.size(), key.size());
    const std::string name_field = fmt::format("{}:", name.size());
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(name_field.data()), name_field.size());
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(name.data()), name.size());
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(password.data()), password.size());
    crypto_generichash_final(&state, reinterpret_cast<unsigned char*>(key.data()), key.size());
  }
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = password_cache_.find(key);
    if (it != password_cache_.end()) {
      if (clock_->Steady() - it->second.cached_at < kPasswordCacheTtl) return it->second.principal;
      password_cache_.erase(it);
    }
  }
  SF_ASSIGN_OR_RETURN(UserRow user, CheckCredentials(name, password, remote));
  Principal principal = ToPrincipal(user.info, "password");
  {
    std::lock_guard<std::mutex> lock(write_mutex_);
    SF_RETURN_IF_ERROR(Record(name, "login", name, "", R"({"via":"password"})", Status::OK(), remote));
  }
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (password_cache_.size() >= kMaxCacheEntries) password_cache_.clear();
  password_cache_[key] = CachedPassword{principal, clock_->Steady()};
  return principal;
}

}  // namespace shopfloor::auth
