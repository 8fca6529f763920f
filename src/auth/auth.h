// Users, roles, sessions and API tokens: who may do what, on which sites.
//
// Roles, each including the rights of those before it:
//   viewer    read the model, twins, series, events
//   operator  + acknowledge/shelve alarms, request setpoint changes (desired twin state)
//   engineer  + edit the asset model, types, tags, rules; write telemetry; provision devices
//   admin     + users, tokens of others, the audit trail, server settings
// A user is scoped to a list of sites (by site name); an empty list means every site.
// Plant-wide things (types, users, audit) need an unscoped user where they change state.
//
// Secrets: passwords are hashed with argon2id (libsodium crypto_pwhash_str, interactive
// limits). Session and API tokens are 32 random bytes, shown to the user once as
// "sfs_<base64url>" (session) or "sft_<base64url>" (API token) and stored only as their
// BLAKE2b-256 hash, so a stolen database yields no usable token.
//
// Lockout: 5 failed logins of one user within 15 minutes lock the account for 15 minutes
// (a correct password does not help while locked); failures are counted per user and
// reported as one generic "invalid name or password" so names cannot be probed.
//
// Every state change (user created/changed/deleted, login ok/failed/locked, token created/
// revoked) is recorded in the AuditLog given at Open.
//
// Refusals: deleting, demoting, scoping or disabling the last enabled unscoped admin is
// kInvalidArgument ("... is the last enabled admin for all sites ..."), so an installation
// never loses its administrator.
//
// Storage: tables auth_users, auth_tokens (sessions and API tokens, hashed) and
// auth_login_failures in the metadata database (component "auth"). When the database is a
// file the store opens its own connection to it (its transactions never mix with other
// users of the shared Db); the admin CLI may change users beside a running server.
//
// Time comes from the Clock (lockout windows, session expiry). Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace shopfloor::meta {
class Db;
}

namespace shopfloor::auth {

class AuditLog;

enum class Role : uint8_t { kViewer = 0, kOperator = 1, kEngineer = 2, kAdmin = 3 };
std::string_view RoleName(Role role);                    // "viewer", ...
core::Result<Role> ParseRole(std::string_view name);     // error lists the valid names

// The authenticated caller of a request.
struct Principal {
  int64_t user_id = 0;
  std::string user;
  Role role = Role::kViewer;
  std::vector<std::string> sites;  // empty = all sites
  std::string via;                 // "session", "token:<id>", "password"

  bool AtLeast(Role r) const { return role >= r; }
  bool AllSites() const { return sites.empty(); }
  // True when the principal may see or act on assets of `site` ("" = plant-wide: only
  // unscoped principals).
  bool CanAccessSite(std::string_view site) const;
};

struct UserInfo {
  int64_t id = 0;
  std::string name;
  Role role = Role::kViewer;
  std::vector<std::string> sites;
  bool disabled = false;
  core::Timestamp created = 0;
  core::Timestamp locked_until = 0;  // 0 when not locked
};

struct TokenInfo {
  int64_t id = 0;
  std::string user;
  std::string name;               // what the token is for, e.g. "telegraf-line-1"
  core::Timestamp created = 0;
  core::Timestamp expires = 0;    // 0 = never
  core::Timestamp last_used = 0;  // updated at most once a minute
};

struct NewToken {
  TokenInfo info;
  std::string secret;  // the token itself: shown once, never stored
};

struct Session {
  std::string token;  // the session token: shown once
  core::Timestamp expires = 0;
  Principal principal;
};

struct AuthOptions {
  core::Duration session_ttl = 12 * core::kHour;
  int max_failed_logins = 5;
  core::Duration failure_window = 15 * core::kMinute;
  core::Duration lockout = 15 * core::kMinute;
  size_t min_password_length = 8;
  // Longer passwords are refused (argon2 cost grows with length; keeps requests bounded).
  size_t max_password_length = 1024;
  // Tests only: hash new passwords with libsodium's minimum argon2id limits instead of the
  // interactive ones, so unit tests stay fast. Verification reads the limits from the
  // stored hash, so either setting verifies hashes made by the other. Never set in production.
  bool fast_hash_for_tests = false;
  // How long Authenticate() trusts a cached token -> principal mapping. Revocation, logout
  // and user changes made through this store clear the cache at once; changes made by
  // another process (the admin CLI) are seen after at most this long.
  core::Duration token_cache_ttl = 5 * core::kSecond;
};

class UserStore {
 public:
  // Creates or migrates the auth tables in db. db, clock and audit are not owned and must
  // outlive the store.
  static core::Result<std::unique_ptr<UserStore>> Open(meta::Db* db, core::Clock* clock, AuditLog* audit,
                                                       AuthOptions options = {});
  virtual ~UserStore() = default;

  // `actor` is who does it (a user name, or "cli" for the admin CLI), for the audit trail.
  // Names follow model::IsValidName rules; passwords need min_password_length characters.
  virtual core::Result<UserInfo> CreateUser(std::string_view actor, std::string_view name, std::string_view password,
                                            Role role, std::vector<std::string> sites) = 0;
  struct UserUpdate {
    std::optional<Role> role;
    std::optional<std::vector<std::string>> sites;
    std::optional<std::string> password;
    std::optional<bool> disabled;
    bool unlock = false;  // clears a lockout and the failure count
  };
  virtual core::Result<UserInfo> UpdateUser(std::string_view actor, std::string_view name, const UserUpdate& update) = 0;
  // Deletes the user, their sessions and tokens. The last unscoped admin cannot be deleted.
  virtual core::Status DeleteUser(std::string_view actor, std::string_view name) = 0;
  virtual core::Result<UserInfo> GetUser(std::string_view name) const = 0;
  virtual std::vector<UserInfo> ListUsers() const = 0;

  // Checks the password; on success opens a session. Failures are kUnauthenticated with a
  // generic message; a locked account is kPermissionDenied ("account locked until ...").
  // `remote` (client address) goes to the audit trail.
  virtual core::Result<Session> Login(std::string_view name, std::string_view password, std::string_view remote) = 0;
  virtual core::Status Logout(std::string_view session_token) = 0;

  virtual core::Result<NewToken> CreateToken(std::string_view actor, std::string_view user, std::string_view token_name,
                                             core::Duration ttl = 0) = 0;
  virtual std::vector<TokenInfo> ListTokens(std::string_view user) const = 0;  // "" = all users
  virtual core::Status RevokeToken(std::string_view actor, int64_t token_id) = 0;

  // Resolves a session token ("sfs_...") or API token ("sft_...") to its principal. Fast
  // (a hash and an indexed lookup, cached briefly in memory); never runs argon2.
  // kUnauthenticated when unknown, expired, revoked or the user is disabled.
  virtual core::Result<Principal> Authenticate(std::string_view token) const = 0;
  // name + password (HTTP basic auth, MQTT CONNECT): a token in place of the password is
  // accepted when it belongs to `name`; otherwise the password is checked (argon2, counted
  // for lockout like Login). Successful password checks are cached for a minute so a
  // client sending basic auth on every request does not pay argon2 each time.
  virtual core::Result<Principal> AuthenticatePassword(std::string_view name, std::string_view password,
                                                       std::string_view remote) = 0;

  // True when at least one user exists (the server refuses to start without one unless
  // told otherwise, and prints how to create the first admin).
  virtual bool HasUsers() const = 0;
};

}  // namespace shopfloor::auth
