// UserStore: API tokens and Authenticate (the per-request path).
#include <fmt/format.h>

#include "auth/user_store_impl.h"
#include "core/log.h"
#include "model/plant_config.h"

namespace shopfloor::auth {

using core::Result;
using core::Status;

Result<std::pair<std::string, int64_t>> UserStoreImpl::InsertToken(TokenKind kind, int64_t user_id,
                                                                   std::string_view name, core::Timestamp expires) {
  const std::string text = NewTokenText(kind);
  SF_ASSIGN_OR_RETURN(meta::Statement ins,
                      db_->Prepare("INSERT INTO auth_tokens(kind, hash, user_id, name, created, expires) "
                                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6)"));
  ins.Bind(1, kind == TokenKind::kSession ? "session" : "token").BindBlob(2, HashToken(text)).Bind(3, user_id);
  ins.Bind(4, name).Bind(5, clock_->Now()).Bind(6, expires);
  SF_RETURN_IF_ERROR(ins.Run());
  return std::make_pair(text, db_->LastInsertRowId());
}

Result<NewToken> UserStoreImpl::CreateToken(std::string_view actor, std::string_view user,
                                            std::string_view token_name, core::Duration ttl) {
  if (!model::IsValidName(token_name)) {
    return Status::InvalidArgument(fmt::format(
        "invalid token name {}: 1-128 characters from A-Z a-z 0-9 _ - . (not \".\" or \"..\")", JsonQuote(token_name)));
  }
  if (ttl < 0) return Status::InvalidArgument("token lifetime must not be negative (0 = never expires)");
  std::lock_guard<std::mutex> lock(write_mutex_);
  NewToken token;
  Status s = [&]() -> Status {
    SF_ASSIGN_OR_RETURN(std::optional<UserRow> row, FindUser(user));
    if (!row) return Status::NotFound(fmt::format("no user \"{}\"", user));
    const core::Timestamp now = clock_->Now();
    token.info.user = row->info.name;
    token.info.name = std::string(token_name);
    token.info.created = now;
    token.info.expires = ttl == 0 ? 0 : (ttl > INT64_MAX - now ? INT64_MAX : now + ttl);
    SF_ASSIGN_OR_RETURN(auto inserted, InsertToken(TokenKind::kApiToken, row->info.id, token_name, token.info.expires));
    token.secret = std::move(inserted.first);
    token.info.id = inserted.second;
    return Status::OK();
  }();
  const std::string new_value =
      s.ok() ? fmt::format(R"({{"id":{},"name":{},"expires":{}}})", token.info.id, JsonQuote(token_name),
                           token.info.expires == 0 ? "null" : JsonQuote(core::FormatTimestamp(token.info.expires)))
             : fmt::format(R"({{"name":{}}})", JsonQuote(token_name));
  Status audited = Record(actor, "token.create", user, "", new_value, s);
  SF_RETURN_IF_ERROR(s);
  if (!audited.ok()) return audited.WithPrefix("the token was created but not audited");
  return token;
}

std::vector<TokenInfo> UserStoreImpl::ListTokens(std::string_view user) const {
  std::vector<TokenInfo> out;
  auto q = db_->Prepare(
      "SELECT t.id, u.name, t.name, t.created, t.expires, t.last_used FROM auth_tokens t "
      "JOIN auth_users u ON u.id=t.user_id WHERE t.kind='token' AND (?1='' OR u.name=?1) ORDER BY t.id");
  if (!q.ok()) return out;
  q->Bind(1, user);
  while (true) {
    Result<bool> row = q->Step();
    if (!row.ok() || !*row) break;
    TokenInfo info;
    info.id = q->Int(0);
    info.user = q->Text(1);
    info.name = q->Text(2);
    info.created = q->Int(3);
    info.expires = q->Int(4);
    info.last_used = q->Int(5);
    out.push_back(std::move(info));
  }
  return out;
}

Status UserStoreImpl::RevokeToken(std::string_view actor, int64_t token_id) {
  std::lock_guard<std::mutex> lock(write_mutex_);
  std::string user;
  std::string old_value;
  Status s = [&]() -> Status {
    SF_ASSIGN_OR_RETURN(meta::Transaction txn, meta::Transaction::Begin(db_));
    SF_ASSIGN_OR_RETURN(meta::Statement q,
                        db_->Prepare("SELECT u.name, t.name FROM auth_tokens t JOIN auth_users u ON u.id=t.user_id "
                                     "WHERE t.id=?1 AND t.kind='token'"));
    q.Bind(1, token_id);
    SF_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::NotFound(fmt::format("no API token with id {}", token_id));
    user = q.Text(0);
    old_value = fmt::format(R"({{"id":{},"name":{}}})", token_id, JsonQuote(q.Text(1)));
    q.Reset();
    SF_ASSIGN_OR_RETURN(meta::Statement del, db_->Prepare("DELETE FROM auth_tokens WHERE id=?1"));
    del.Bind(1, token_id);
    SF_RETURN_IF_ERROR(del.Run());
    return txn.Commit();
  }();
  ClearCaches();
  Status audited = Record(actor, "token.revoke", user, s.ok() ? old_value : fmt::format(R"({{"id":{}}})", token_id),
                          "", s);
  SF_RETURN_IF_ERROR(s);
  if (!audited.ok()) return audited.WithPrefix("the token was revoked but not audited");
  return Status::OK();
}

Result<Principal> UserStoreImpl::Authenticate(std::string_view token) const {
  SF_ASSIGN_OR_RETURN(ParsedToken parsed, ParseToken(token));
  const std::string hash = HashToken(token);
  const core::Timestamp now = clock_->Now();
  const int64_t steady = clock_->Steady();
  int64_t token_id = 0;
  Principal principal;
  bool update_last_used = false;
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = token_cache_.find(hash);
    if (it != token_cache_.end() && steady - it->second.cached_at < options_.token_cache_ttl) {
      CachedToken& cached = it->second;
      if (cached.expires != 0 && now >= cached.expires) {
        token_cache_.erase(it);
        return Status::Unauthenticated("token expired");
      }
      if (now - cached.last_used >= kLastUsedGranularity) {
        cached.last_used = now;
        update_last_used = true;
        token_id = cached.token_id;
      }
      principal = cached.principal;
    } else if (it != token_cache_.end()) {
      token_cache_.erase(it);
    }
  }
  if (principal.user_id == 0) {
    SF_ASSIGN_OR_RETURN(meta::Statement q,
                        db_->Prepare("SELECT t.id, t.kind, t.expires, t.last_used, u.id, u.name, u.role, u.sites, "
                                     "u.disabled FROM auth_tokens t JOIN auth_users u ON u.id=t.user_id "
                                     "WHERE t.hash=?1"));
    q.BindBlob(1, hash);
    SF_ASSIGN_OR_RETURN(bool row, q.Step());
    const char* want_kind = parsed.kind == TokenKind::kSession ? "session" : "token";
    if (!row || q.Text(1) != want_kind) return Status::Unauthenticated("unknown, revoked or logged-out token");
    CachedToken cached;
    cached.token_id = q.Int(0);
    cached.expires = q.Int(2);
    cached.last_used = q.Int(3);
    if (cached.expires != 0 && now >= cached.expires) return Status::Unauthenticated("token expired");
    if (q.Int(8) != 0) return Status::Unauthenticated("the token's user is disabled");
    UserInfo info;
    info.id = q.Int(4);
    info.name = q.Text(5);
    info.role = static_cast<Role>(std::clamp<int64_t>(q.Int(6), 0, 3));
    std::string sites = q.Text(7);
    for (size_t start = 0; !sites.empty() && start <= sites.size();) {
      const size_t comma = std::min(sites.find(',', start), sites.size());
      info.sites.push_back(sites.substr(start, comma - start));
      start = comma + 1;
    }
    cached.principal = ToPrincipal(info, parsed.kind == TokenKind::kSession
                                             ? std::string("session")
                                             : fmt::format("token:{}", cached.token_id));
    if (now - cached.last_used >= kLastUsedGranularity) {
      cached.last_used = now;
      update_last_used = true;
      token_id = cached.token_id;
    }
    cached.cached_at = steady;
    principal = cached.principal;
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (token_cache_.size() >= kMaxCacheEntries) token_cache_.clear();
    token_cache_[hash] = std::move(cached);
  }
  if (update_last_used) {
    // Best effort: a busy database must not fail the request that used the token.
    auto up = db_->Prepare("UPDATE auth_tokens SET last_used=?1 WHERE id=?2");
    Status s = up.ok() ? up->Bind(1, now).Bind(2, token_id).Run() : up.status();
    if (!s.ok()) SF_LOG(debug, "auth.last_used_not_written", "token={} error=\"{}\"", token_id, s.ToString());
  }
  return principal;
}

}  // namespace shopfloor::auth
