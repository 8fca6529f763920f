// Internal to the auth module: the SQLite-backed UserStore, split over user_store.cc
// (users), login.cc (passwords, lockout, sessions) and tokens.cc (API tokens, Authenticate).
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "auth/audit.h"
#include "auth/auth.h"
#include "auth/crypto.h"
#include "meta/db.h"

namespace shopfloor::auth {

// The one message for every failed credential check, so names cannot be probed.
inline constexpr std::string_view kInvalidCredentials = "invalid name or password";
// Bounds the in-memory caches: when full they are emptied (a burst of distinct clients
// costs only re-checks, never unbounded memory).
inline constexpr size_t kMaxCacheEntries = 10000;
// last_used of a token is written at most this often.
inline constexpr core::Duration kLastUsedGranularity = core::kMinute;

class UserStoreImpl final : public UserStore {
 public:
  UserStoreImpl(std::unique_ptr<meta::Db> own_db, meta::Db* db, core::Clock* clock, AuditLog* audit,
                AuthOptions options);

  core::Result<UserInfo> CreateUser(std::string_view actor, std::string_view name, std::string_view password, Role role,
                                    std::vector<std::string> sites) override;
  core::Result<UserInfo> UpdateUser(std::string_view actor, std::string_view name, const UserUpdate& update) override;
  core::Status DeleteUser(std::string_view actor, std::string_view name) override;
  core::Result<UserInfo> GetUser(std::string_view name) const override;
  std::vector<UserInfo> ListUsers() const override;

  core::Result<Session> Login(std::string_view name, std::string_view password, std::string_view remote) override;
  core::Status Logout(std::string_view session_token) override;

  core::Result<NewToken> CreateToken(std::string_view actor, std::string_view user, std::string_view token_name,
                                     core::Duration ttl) override;
  std::vector<TokenInfo> ListTokens(std::string_view user) const override;
  core::Status RevokeToken(std::string_view actor, int64_t token_id) override;

  core::Result<Principal> Authenticate(std::string_view token) const override;
  core::Result<Principal> AuthenticatePassword(std::string_view name, std::string_view password,
                                               std::string_view remote) override;
  bool HasUsers() const override;

 private:
  struct UserRow {
    UserInfo info;
    std::string password_hash;
  };
  // SELECT of every auth_users column in the order ReadUser expects.
  static constexpr std::string_view kUserColumns =
      "id, name, role, sites, disabled, created, locked_until, password_hash";
  UserRow ReadUser(const meta::Statement& q) const;
  core::Result<std::optional<UserRow>> FindUser(std::string_view name) const;
  static Principal ToPrincipal(const UserInfo& info, std::string via);

  core::Status ValidatePassword(std::string_view password) const;
  static core::Status ValidateSites(std::vector<std::string>* sites);
  // Unscoped enabled admins other than user `except_id`.
  core::Result<int64_t> CountOtherFullAdmins(int64_t except_id) const;

  // Appends to the audit trail; the entry's result is "ok" or status's message.
  core::Status Record(std::string_view actor, std::string_view action, std::string_view target,
                      std::string old_value, std::string new_value, const core::Status& status,
                      std::string_view remote = {});

  // Checks name + password with lockout accounting and auditing of failures (login.c).
  core::Result<UserRow> CheckCredentials(std::string_view name, std::string_view password, std::string_view remote);
  // Counts a failed password for the user; locks the account at max_failed_logins.
  void CountFailure(const UserRow& user, std::string_view remote);

  // Stores the hash of a new token of `kind` for user_id; returns (text, row id).
  core::Result<std::pair<std::string, int64_t>> InsertToken(TokenKind kind, int64_t user_id, std::string_view name,
                                                            core::Timestamp expires);
  void ClearCaches() const;

  std::unique_ptr<meta::Db> own_db_;  // our own connection when the database is a file
  meta::Db* db_;
  core::Clock* clock_;
  AuditLog* audit_;
  const AuthOptions options_;

  // Serializes this store's read-check-write sequences and the audit records that follow.
  std::mutex write_mutex_;
  std::once_flag dummy_hash_once_;
  std::string dummy_hash_;  // verified against for unknown names, so timing does not tell

  struct CachedToken {
    Principal principal;
    int64_t token_id = 0;
    core::Timestamp expires = 0;
    core::Timestamp last_used = 0;
    int64_t cached_at = 0;  // clock Steady()
  };
  struct CachedPassword {
    Principal principal;
    int64_t cached_at = 0;
  };
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, CachedToken> token_cache_;        // GUARDED_BY(cache_mutex_)
  mutable std::unordered_map<std::string, CachedPassword> password_cache_;  // GUARDED_BY(cache_mutex_)
  std::string password_cache_key_;  // random per process: cache keys reveal nothing
};

// Minimal JSON text for audit values (names are validated; other strings are escaped).
std::string JsonQuote(std::string_view text);
std::string SitesJson(const std::vector<std::string>& sites);

}  // namespace shopfloor::auth
