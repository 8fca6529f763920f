// UserStore: opening, users (create, update, delete, list) and the audit helpers.
#include <algorithm>

#include <sodium.h>

#include <fmt/format.h>

#include "auth/devices.h"
#include "auth/user_store_impl.h"
#include "model/plant_config.h"

namespace shopfloor::auth {

using core::Result;
using core::Status;

namespace {

const std::vector<std::string> kAuthMigrations = {
    R"sql(
CREATE TABLE auth_users(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role INTEGER NOT NULL CHECK(role BETWEEN 0 AND 3),
  sites TEXT NOT NULL DEFAULT '',
  disabled INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL,
  locked_until INTEGER NOT NULL DEFAULT 0);
CREATE TABLE auth_tokens(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK(kind IN ('session', 'token')),
  hash BLOB NOT NULL UNIQUE,
  user_id INTEGER NOT NULL REFERENCES auth_users(id) ON DELETE CASCADE,
  name TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL,
  expires INTEGER NOT NULL DEFAULT 0,
  last_used INTEGER NOT NULL DEFAULT 0);
CREATE INDEX auth_tokens_user ON auth_tokens(user_id);
CREATE TABLE auth_login_failures(
  user_id INTEGER NOT NULL REFERENCES auth_users(id) ON DELETE CASCADE,
  ts INTEGER NOT NULL);
CREATE INDEX auth_login_failures_user ON auth_login_failures(user_id, ts);
)sql"};

// Site lists are stored comma-separated: valid names never contain a comma.
std::string JoinSites(const std::vector<std::string>& sites) {
  std::string out;
  for (const std::string& site : sites) {
    if (!out.empty()) out += ',';
    out += site;
  }
  return out;
}

std::vector<std::string> SplitSites(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

bool IsFullAdmin(const UserInfo& u) { return u.role == Role::kAdmin && u.sites.empty() && !u.disabled; }

std::string UserJson(const UserInfo& u) {
  return fmt::format(R"({{"role":{},"sites":{},"disabled":{}}})", JsonQuote(RoleName(u.role)), SitesJson(u.sites),
                     u.disabled ? "true" : "false");
}

}  // namespace

std::string JsonQuote(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

std::string SitesJson(const std::vector<std::string>& sites) {
  std::string out = "[";
  for (size_t i = 0; i < sites.size(); ++i) {
    if (i > 0) out += ',';
    out += JsonQuote(sites[i]);
  }
  return out + "]";
}

Result<std::unique_ptr<UserStore>> UserStore::Open(meta::Db* db, core::Clock* clock, AuditLog* audit,
                                                   AuthOptions options) {
  SF_RETURN_IF_ERROR(EnsureSodium());
  if (db == nullptr || clock == nullptr || audit == nullptr) {
    return Status::InvalidArgument("UserStore::Open: db, clock and audit are required");
  }
  SF_RETURN_IF_ERROR(db->Migrate("auth", kAuthMigrations));
  std::unique_ptr<meta::Db> own;
  meta::Db* use = db;
  if (db->path() != ":memory:" && !db->path().empty()) {
    SF_ASSIGN_OR_RETURN(own, meta::Db::Open(db->path()));
    use = own.get();
  }
  return std::unique_ptr<UserStore>(new UserStoreImpl(std::move(own), use, clock, audit, options));
}

UserStoreImpl::UserStoreImpl(std::unique_ptr<meta::Db> own_db, meta::Db* db, core::Clock* clock, AuditLog* audit,
                             AuthOptions options)
    : own_db_(std::move(own_db)), db_(db), clock_(clock), audit_(audit), options_(options) {
  password_cache_key_.resize(crypto_generichash_KEYBYTES);
  randombytes_buf(password_cache_key_.data(), password_cache_key_.size());
}

UserStoreImpl::UserRow UserStoreImpl::ReadUser(const meta::Statement& q) const {
  UserRow row;
  row.info.id = q.Int(0);
  row.info.name = q.Text(1);
  row.info.role = static_cast<Role>(std::clamp<int64_t>(q.Int(2), 0, 3));
  row.info.sites = SplitSites(q.Text(3));
  row.info.disabled = q.Int(4) != 0;
  row.info.created = q.Int(5);
  row.info.locked_until = q.Int(6) > clock_->Now() ? q.Int(6) : 0;
  row.password_hash = q.Text(7);
  return row;
}

Result<std::optional<UserStoreImpl::UserRow>> UserStoreImpl::FindUser(std::string_view name) const {
  SF_ASSIGN_OR_RETURN(meta::Statement q,
                      db_->Prepare(fmt::format("SELECT {} FROM auth_users WHERE name=?1", kUserColumns)));
  q.Bind(1, name);
  SF_ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<UserRow>();
  return std::optional<UserRow>(ReadUser(q));
}

Principal UserStoreImpl::ToPrincipal(const UserInfo& info, std::string via) {
  Principal p;
  p.user_id = info.id;
  p.user = info.name;
  p.role = info.role;
  p.sites = info.sites;
  p.via = std::move(via);
  return p;
}

Status UserStoreImpl::ValidatePassword(std::string_view password) const {
  if (password.size() < options_.min_password_length) {
    return Status::InvalidArgument(
        fmt::format("password too short: at least {} characters are required", options_.min_password_length));
  }
  if (password.size() > options_.max_password_length) {
    return Status::InvalidArgument(
        fmt::format("password too long: at most {} characters are allowed", options_.max_password_length));
  }
  return Status::OK();
}

Status UserStoreImpl::ValidateSites(std::vector<std::string>* sites) {
  for (const std::string& site : *sites) {
    if (!model::IsValidName(site)) {
      return Status::InvalidArgument(fmt::format(
          "invalid site name {}: 1-128 characters from A-Z a-z 0-9 _ - . (not \".\" or \"..\")", JsonQuote(site)));
    }
  }
  std::sort(sites->begin(), sites->end());
  sites->erase(std::unique(sites->begin(), sites->end()), sites->end());
  return Status::OK();
}

Result<int64_t> UserStoreImpl::CountOtherFullAdmins(int64_t except_id) const {
  SF_ASSIGN_OR_RETURN(meta::Statement q,
                      db_->Prepare("SELECT count(*) FROM auth_users WHERE role=3 AND sites='' AND disabled=0 AND id<>?1"));
  q.Bind(1, except_id);
  SF_ASSIGN_OR_RETURN(bool row, q.Step());
  return row ? q.Int(0) : 0;
}

Status UserStoreImpl::Record(std::string_view actor, std::string_view action, std::string_view target,
                             std::string old_value, std::string new_value, const Status& status,
                             std::string_view remote) {
  AuditEntry entry;
  entry.actor = std::string(actor.substr(0, 256));
  entry.action = std::string(action);
  entry.target = std::string(target.substr(0, 256));
  entry.old_value = std::move(old_value);
  entry.new_value = std::move(new_value);
  entry.result = status.ok() ? "ok" : status.message();
  entry.remote = std::string(remote);
  Result<AuditEntry> appended = audit_->Append(std::move(entry));
  return appended.status();
}

Result<UserInfo> UserStoreImpl::CreateUser(std::string_view actor, std::string_view name, std::string_view password,
                                           Role role, std::vector<std::string> sites) {
  if (!model::IsValidName(name)) {
    return Status::InvalidArgument(fmt::format(
        "invalid user name {}: 1-128 characters from A-Z a-z 0-9 _ - . (not \".\" or \"..\")", JsonQuote(name)));
  }
  if (static_cast<uint8_t>(role) > static_cast<uint8_t>(Role::kAdmin)) return Status::InvalidArgument("invalid role");
  SF_RETURN_IF_ERROR(ValidatePassword(password));
  SF_RETURN_IF_ERROR(ValidateSites(&sites));
  SF_ASSIGN_OR_RETURN(std::string hash, HashPassword(password, options_.fast_hash_for_tests));

  std::lock_guard<std::mutex> lock(write_mutex_);
  UserInfo info;
  info.name = std::string(name);
  info.role = role;
  info.sites = std::move(sites);
  info.created = clock_->Now();
  Status s = [&]() -> Status {
    SF_ASSIGN_OR_RETURN(std::optional<UserRow> existing, FindUser(name));
    if (existing) return Status::AlreadyExists(fmt::format("user \"{}\" already exists", name));
    SF_ASSIGN_OR_RETURN(bool device, DeviceNameTaken(db_, name));
    if (device) {
      return Status::AlreadyExists(fmt::format(
          "\"{}\" is a device's name; users and devices share the MQTT login names, choose another", name));
    }
    SF_ASSIGN_OR_RETURN(meta::Statement ins,
                        db_->Prepare("INSERT INTO auth_users(name, password_hash, role, sites, created) "
                                     "VALUES(?1, ?2, ?3, ?4, ?5)"));
    ins.Bind(1, name).Bind(2, hash).Bind(3, static_cast<int64_t>(role)).Bind(4, JoinSites(info.sites));
    ins.Bind(5, info.created);
    SF_RETURN_IF_ERROR(ins.Run());
    info.id = db_->LastInsertRowId();
    return Status::OK();
  }();
  Status audited = Record(actor, "user.create", name, "", UserJson(info), s);
  SF_RETURN_IF_ERROR(s);
  if (!audited.ok()) return audited.WithPrefix(fmt::format("user \"{}\" was created but not audited", name));
  return info;
}

Result<UserInfo> UserStoreImpl::UpdateUser(std::string_view actor, std::string_view name, const UserUpdate& update) {
  std::vector<std::string> new_sites;
  if (update.sites) {
    new_sites = *update.sites;
    SF_RETURN_IF_ERROR(ValidateSites(&new_sites));
  }
  if (update.role && static_cast<uint8_t>(*update.role) > static_cast<uint8_t>(Role::kAdmin)) {
    return Status::InvalidArgument("invalid role");
  }
  std::optional<std::string> new_hash;
  if (update.password) {
    SF_RETURN_IF_ERROR(ValidatePassword(*update.password));
    SF_ASSIGN_OR_RETURN(new_hash, HashPassword(*update.password, options_.fast_hash_for_tests));
  }

  std::lock_guard<std::mutex> lock(write_mutex_);
  UserInfo before;
  UserInfo after;
  Status s = [&]() -> Status {
    SF_ASSIGN_OR_RETURN(meta::Transaction txn, meta::Transaction::Begin(db_));
    SF_ASSIGN_OR_RETURN(std::optional<UserRow> row, FindUser(name));
    if (!row) return Status::NotFound(fmt::format("no user \"{}\"", name));
    before = after = row->info;
    if (update.role) after.role = *update.role;
    if (update.sites) after.sites = new_sites;
    if (update.disabled) after.disabled = *update.disabled;
    if (update.unlock) after.locked_until = 0;
    if (IsFullAdmin(before) && !IsFullAdmin(after)) {
      SF_ASSIGN_OR_RETURN(int64_t others, CountOtherFullAdmins(before.id));
      if (others == 0) {
        return Status::InvalidArgument(fmt::format(
            "refusing to demote, scope or disable \"{}\": it is the last enabled admin for all sites; "
            "create another admin first",
            name));
      }
    }
    SF_ASSIGN_OR_RETURN(meta::Statement up,
                        db_->Prepare("UPDATE auth_users SET role=?1, sites=?2, disabled=?3, "
                                     "password_hash=coalesce(?4, password_hash), "
                                     "locked_until=CASE WHEN ?5 THEN 0 ELSE locked_until END WHERE id=?6"));
    up.Bind(1, static_cast<int64_t>(after.role)).Bind(2, JoinSites(after.sites));
    up.Bind(3, int64_t{after.disabled ? 1 : 0});
    if (new_hash) {
      up.Bind(4, *new_hash);
    } else {
      up.BindNull(4);
    }
    up.Bind(5, int64_t{update.unlock ? 1 : 0}).Bind(6, before.id);
    SF_RETURN_IF_ERROR(up.Run());
    if (update.unlock || update.password) {
      SF_ASSIGN_OR_RETURN(meta::Statement clear, db_->Prepare("DELETE FROM auth_login_failures WHERE user_id=?1"));
      clear.Bind(1, before.id);
      SF_RETURN_IF_ERROR(clear.Run());
    }
    return txn.Commit();
  }();
  ClearCaches();
  std::string new_value = UserJson(after);
  if (update.password) new_value.insert(new_value.size() - 1, R"(,"password":"changed")");
  if (update.unlock) new_value.insert(new_value.size() - 1, R"(,"unlocked":true)");
  Status audited = Record(actor, "user.update", name, s.ok() ? UserJson(before) : "", std::move(new_value), s);
  SF_RETURN_IF_ERROR(s);
  if (!audited.ok()) return audited.WithPrefix(fmt::format("user \"{}\" was changed but not audited", name));
  return after;
}

Status UserStoreImpl::DeleteUser(std::string_view actor, std::string_view name) {
  std::lock_guard<std::mutex> lock(write_mutex_);
  UserInfo before;
  Status s = [&]() -> Status {
    SF_ASSIGN_OR_RETURN(meta::Transaction txn, meta::Transaction::Begin(db_));
    SF_ASSIGN_OR_RETURN(std::optional<UserRow> row, FindUser(name));
    if (!row) return Status::NotFound(fmt::format("no user \"{}\"", name));
    before = row->info;
    if (IsFullAdmin(before)) {
      SF_ASSIGN_OR_RETURN(int64_t others, CountOtherFullAdmins(before.id));
      if (others == 0) {
        return Status::InvalidArgument(fmt::format(
            "refusing to delete \"{}\": it is the last enabled admin for all sites; create another admin first",
            name));
      }
    }
    // Sessions, tokens and failure counts go with the user (ON DELETE CASCADE).
    SF_ASSIGN_OR_RETURN(meta::Statement del, db_->Prepare("DELETE FROM auth_users WHERE id=?1"));
    del.Bind(1, before.id);
    SF_RETURN_IF_ERROR(del.Run());
    return txn.Commit();
  }();
  ClearCaches();
  Status audited = Record(actor, "user.delete", name, s.ok() ? UserJson(before) : "", "", s);
  SF_RETURN_IF_ERROR(s);
  if (!audited.ok()) return audited.WithPrefix(fmt::format("user \"{}\" was deleted but not audited", name));
  return Status::OK();
}

Result<UserInfo> UserStoreImpl::GetUser(std::string_view name) const {
  SF_ASSIGN_OR_RETURN(std::optional<UserRow> row, FindUser(name));
  if (!row) return Status::NotFound(fmt::format("no user \"{}\"", name));
  return row->info;
}

std::vector<UserInfo> UserStoreImpl::ListUsers() const {
  std::vector<UserInfo> out;
  auto q = db_->Prepare(fmt::format("SELECT {} FROM auth_users ORDER BY name", kUserColumns));
  if (!q.ok()) return out;
  while (true) {
    Result<bool> row = q->Step();
    if (!row.ok() || !*row) break;
    out.push_back(ReadUser(*q).info);
  }
  return out;
}

bool UserStoreImpl::HasUsers() const {
  auto q = db_->Prepare("SELECT 1 FROM auth_users LIMIT 1");
  if (!q.ok()) return false;
  Result<bool> row = q->Step();
  return row.ok() && *row;
}

void UserStoreImpl::ClearCaches() const {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  token_cache_.clear();
  password_cache_.clear();
}

}  // namespace shopfloor::auth
