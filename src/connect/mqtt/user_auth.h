// MQTT authentication and ACLs against Shopfloor's users (auth/auth.h).
//
// CONNECT: a user name is required (no anonymous clients); the password is the user's
// password or one of the user's API tokens, checked with UserStore::AuthenticatePassword
// (so failures count towards the account lockout, and scripts and bridges authenticate as
// they do over HTTP). A refusal is Bad User Name or Password (5.0 0x86, 3.1.1 return code 4)
// and is counted and logged with the client's address.
//
// ACLs, for topics under the enterprise (the plant's namespace "<enterprise>/<site>/..."):
//   publish    operator or above, on a site the user may access;
//   subscribe  any role, on a site the user may access; a filter whose site level is a
//              wildcard ("acme/#", "#", "+/...") only for users of all sites.
// Other topics (outside the plant's namespace) are open to every authenticated user.
// Engineers and admins may provision (TelemetryOptions::may_provision).
//
// Thread safety: thread-safe. Authenticate may run argon2 on a broker I/O thread (about
// 50-100 ms on a first login; successful checks are cached by the UserStore for a minute).
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "auth/auth.h"
#include "connect/mqtt/broker.h"

namespace shopfloor::model {
class AssetStore;
}

namespace shopfloor::connect::mqtt {

struct UserAuthStats {
  uint64_t logins = 0;
  uint64_t login_failures = 0;
  uint64_t publish_denied = 0;
  uint64_t subscribe_denied = 0;
};

class UserAuthHooks : public BrokerHooks {
 public:
  // Neither is owned; both must outlive the hooks.
  UserAuthHooks(auth::UserStore* users, model::AssetStore* assets);

  Reason Authenticate(const Connect& connect, std::string_view remote, std::string* principal) override;
  bool AuthorizePublish(const ClientView& client, std::string_view topic) override;
  bool AuthorizeSubscribe(const ClientView& client, std::string_view filter) override;

  // Engineers and admins (for TelemetryOptions::may_provision).
  bool MayProvision(const ClientView& client) const;
  // Operators and above (e.g. Sparkplug edge nodes publishing births and data).
  bool MayPublishData(const ClientView& client) const;
  UserAuthStats stats() const;

 private:
  // The principal a client authenticated as (keyed by user name, refreshed at each login).
  bool Lookup(std::string_view user, auth::Principal* out) const;
  bool InPlantNamespace(std::string_view topic) const;

  auth::UserStore* const users_;
  model::AssetStore* const assets_;
  mutable std::mutex mu_;
  std::map<std::string, auth::Principal, std::less<>> principals_;
  UserAuthStats stats_;
};

}  // namespace shopfloor::connect::mqtt
