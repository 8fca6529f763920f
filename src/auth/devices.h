// Device identities: machines and gateways that log in over MQTT as themselves, each bound
// to one asset (its machine or cell) of the plant model.
//
// A device has a name (model::IsValidName rules), the asset path it is bound to, an enabled
// flag, a may_provision flag (it may create tags and child assets under its own path) and
// one secret. The secret is 32 random bytes shown once as "sfd_<base64url>" (47
// characters) and stored only as its BLAKE2b-256 hash, like an API token: it is high-entropy,
// so no password hashing (argon2) is needed, and a stolen database yields nothing usable.
// Rotate() replaces it; the old secret stops working at once for new logins.
//
// Names: devices and users share one login namespace (the MQTT user name), so a device may
// not take a user's name and CreateUser refuses a device's name (kAlreadyExists naming the
// other). Logins cannot be confused either way: a device secret starts with "sfd_", which
// no user password check ever receives (connect/mqtt/device_auth.h).
//
// Every change (device.create, device.rotate, device.update, device.delete) is recorded in
// the AuditLog with the actor; secrets never reach the audit trail.
//
// Storage: table auth_devices in the metadata database (component "devices"). When the
// database is a file the store opens its own connection, so `shopfloor admin devices ...`
// can change devices beside a running server (which sees the change at its next lookup).
//
// Time comes from the Clock (created, rotated). Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace shopfloor::meta {
class Db;
class Statement;
}

namespace shopfloor::auth {

class AuditLog;

inline constexpr std::string_view kDeviceSecretPrefix = "sfd_";

struct DeviceInfo {
  int64_t id = 0;
  std::string name;
  std::string asset_path;  // e.g. "acme/north/hall/press-1"
  bool enabled = true;
  bool may_provision = false;
  core::Timestamp created = 0;
  core::Timestamp rotated = 0;  // when the current secret was issued
};

struct DeviceWithSecret {
  DeviceInfo info;
  std::string secret;  // "sfd_...": shown once, never stored
};

struct DeviceUpdate {
  std::optional<std::string> asset_path;
  std::optional<bool> enabled;
  std::optional<bool> may_provision;
};

class DeviceStore {
 public:
  // Creates or migrates the table. db, clock and audit are not owned and must outlive it.
  static core::Result<std::unique_ptr<DeviceStore>> Open(meta::Db* db, core::Clock* clock, AuditLog* audit);
  ~DeviceStore();

  // `actor` is who does it (a user name, or "cli"). InvalidArgument names a bad name or
  // path; AlreadyExists when a device or user has the name.
  core::Result<DeviceWithSecret> Add(std::string_view actor, std::string_view name, std::string_view asset_path,
                                     bool may_provision);
  core::Result<DeviceWithSecret> Rotate(std::string_view actor, std::string_view name);
  core::Result<DeviceInfo> Update(std::string_view actor, std::string_view name, const DeviceUpdate& update);
  core::Status Remove(std::string_view actor, std::string_view name);
  core::Result<DeviceInfo> Get(std::string_view name) const;  // NotFound naming it
  std::vector<DeviceInfo> List() const;                        // by name

  // name + secret (MQTT CONNECT). kUnauthenticated "invalid device name or secret" for an
  // unknown name or a wrong secret (one message, so names cannot be probed); kPermissionDenied
  // "device ... is disabled" for a disabled device with the right secret. A hash and an
  // indexed lookup: no caching needed.
  core::Result<DeviceInfo> Authenticate(std::string_view name, std::string_view secret) const;

  // Whether a password has the form of a device secret (only the prefix is checked).
  static bool IsDeviceSecret(std::string_view password) { return password.substr(0, 4) == kDeviceSecretPrefix; }
  // A valid asset path: one or more valid names joined by '/'. InvalidArgument naming the level.
  static core::Status ValidateAssetPath(std::string_view path);

 private:
  DeviceStore(std::unique_ptr<meta::Db> own_db, meta::Db* db, core::Clock* clock, AuditLog* audit);
  struct Row;
  static Row ReadRow(const meta::Statement& q);
  core::Result<std::optional<Row>> Find(std::string_view name) const;
  core::Status Record(std::string_view actor, std::string_view action, std::string_view target, std::string old_value,
                      std::string new_value, const core::Status& status);

  std::unique_ptr<meta::Db> own_db_;
  meta::Db* db_;
  core::Clock* clock_;
  AuditLog* audit_;
  std::mutex write_mutex_;  // serializes read-check-write and its audit record
};

// True when a device has `name` (the user store refuses such user names). False when the
// devices table does not exist yet.
core::Result<bool> DeviceNameTaken(meta::Db* db, std::string_view name);

}  // namespace shopfloor::auth
