// MQTT logins and ACLs for devices (auth/devices.h), in front of the users' hooks.
//
// CONNECT: a password starting with "sfd_" is a device secret: the user name must be that
// device's name (DeviceStore::Authenticate). The principal is then "device:<name>" (user
// names cannot contain ':', so it never equals a user's principal). Any other password goes
// to the users' hooks unchanged (UserAuthHooks: password or API token). A refused device
// gets Bad User Name or Password (unknown name, wrong or rotated secret) or Not authorized
// (disabled), and the refusal is logged with client id, remote address and reason (at most
// once per `log_interval` per address and device name).
//
// Device ACLs, with P the device's bound asset path:
//   publish    P itself (a batch) or any topic under "P/", with no level starting with '$'
//              (telemetry of its tags and, when it may provision, of child assets);
//   subscribe  its command topics only: "P/[<child>/...]$cmd/<tag>", "P/.../$cmd/+" or
//              "P/.../$cmd/#" (literal levels before "$cmd").
// Everything else is denied. The device's record is re-read at most every
// `refresh_interval`, so a device disabled or removed while connected is denied from then
// on (reason "disabled").
// Command topics ("<asset path>/$cmd/<tag>") are written by Shopfloor only, so that every
// command is audited: a PUBLISH with a "$cmd" level is denied to users too (reason
// "command_topic"). Users' other ACLs are the users' hooks' own.
//
// Denials are counted per reason (stats(), metric shopfloor_mqtt_device_denied_total) and
// logged with client id, remote address and topic, at most once per `log_interval` per
// client; the next line says how many were not logged meanwhile, so a misbehaving device
// cannot flood the log.
//
// Thread safety: thread-safe. Time (cache refresh, log rate) comes from the Clock.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "auth/devices.h"
#include "connect/mqtt/broker.h"
#include "core/clock.h"

namespace shopfloor::connect::mqtt {

inline constexpr std::string_view kDevicePrincipalPrefix = "device:";
inline constexpr std::string_view kCommandLevel = "$cmd";

// Why a device's (or a user's command-topic) request was denied.
enum class Denial : uint8_t { kNone, kOutsideAssetPath, kCommandTopic, kNotCommandTopic, kDisabled };
inline constexpr size_t kDenialKinds = 5;
// "outside_asset_path", "command_topic", "not_command_topic", "disabled" ("" for kNone).
std::string_view DenialName(Denial denial);

// The ACL decisions, without state (see the header comment).
Denial DevicePublishDecision(std::string_view asset_path, std::string_view topic);
Denial DeviceSubscribeDecision(std::string_view asset_path, std::string_view filter);
// True when a level of the topic is "$cmd".
bool IsCommandTopic(std::string_view topic);
// "<asset path>/$cmd/<tag>".
std::string CommandTopic(std::string_view asset_path, std::string_view tag);

struct DeviceAuthOptions {
  core::Duration refresh_interval = 5 * core::kSecond;
  core::Duration log_interval = 10 * core::kSecond;
};

struct DeviceAuthStats {
  uint64_t logins = 0;
  uint64_t login_failures = 0;
  std::array<uint64_t, kDenialKinds> denied{};  // by Denial
  uint64_t logs_suppressed = 0;
};

class DeviceAuthHooks : public BrokerHooks {
 public:
  // `users` answers everything that is not a device (may be null: users are refused).
  // None is owned; all must outlive the hooks.
  DeviceAuthHooks(auth::DeviceStore* devices, BrokerHooks* users, core::Clock* clock, DeviceAuthOptions options = {});

  Reason Authenticate(const Connect& connect, std::string_view remote, std::string* principal) override;
  bool AuthorizePublish(const ClientView& client, std::string_view topic) override;
  bool AuthorizeSubscribe(const ClientView& client, std::string_view filter) override;

  // For TelemetryOptions::may_provision: a device's flag; users ask `users_may_provision`.
  bool MayProvision(const ClientView& client) const;
  void set_users_may_provision(std::function<bool(const ClientView&)> fn) { users_may_provision_ = std::move(fn); }

  DeviceAuthStats stats() const;

 private:
  // The device's current record (re-read after refresh_interval); false when it is gone.
  bool Current(std::string_view name, auth::DeviceInfo* out) const;
  bool Deny(const ClientView& client, std::string_view what, std::string_view topic, Denial denial);
  // Whether to log now for `key`; *suppressed gets the count not logged since the last line.
  bool ShouldLog(const std::string& key, uint64_t* suppressed);

  auth::DeviceStore* const devices_;
  BrokerHooks* const users_;
  core::Clock* const clock_;
  const DeviceAuthOptions options_;
  std::function<bool(const ClientView&)> users_may_provision_;

  struct Cached {
    auth::DeviceInfo info;
    bool exists = false;
    int64_t fetched = 0;  // Clock::Steady()
  };
  struct LogWindow {
    int64_t last = 0;
    uint64_t suppressed = 0;
  };
  mutable std::mutex mu_;
  mutable std::map<std::string, Cached, std::less<>> devices_cache_;  // GUARDED_BY(mu_)
  std::map<std::string, LogWindow, std::less<>> log_windows_;         // GUARDED_BY(mu_)
  DeviceAuthStats stats_;                                             // GUARDED_BY(mu_)
};

}  // namespace shopfloor::connect::mqtt
