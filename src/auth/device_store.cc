// DeviceStore (devices.h): device identities bound to assets, with hashed secrets.
#include <sodium.h>

#include <fmt/format.h>

#include "auth/audit.h"
#include "auth/crypto.h"
#include "auth/devices.h"
#include "auth/user_store_impl.h"
#include "meta/db.h"
#include "model/plant_config.h"

namespace shopfloor::auth {

using core::Result;
using core::Status;

namespace {

const std::vector<std::string> kDeviceMigrations = {
    R"sql(
CREATE TABLE auth_devices(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  asset_path TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  may_provision INTEGER NOT NULL DEFAULT 0,
  secret_hash BLOB NOT NULL,
  created INTEGER NOT NULL,
  rotated INTEGER NOT NULL);
)sql"};

constexpr std::string_view kColumns = "id, name, asset_path, enabled, may_provision, created, rotated, secret_hash";
constexpr std::string_view kBadSecret = "invalid device name or secret";

std::string NewSecret() {
  std::string raw(kTokenBytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  return std::string(kDeviceSecretPrefix) + Base64UrlEncode(raw);
}

std::string DeviceJson(const DeviceInfo& d) {
  return fmt::format(R"({{"asset":{},"enabled":{},"may_provision":{}}})", JsonQuote(d.asset_path),
                     d.enabled ? "true" : "false", d.may_provision ? "true" : "false");
}

Result<bool> TableHasName(meta::Db* db, std::string_view table, std::string_view name) {
  SF_ASSIGN_OR_RETURN(meta::Statement exists,
                      db->Prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1"));
  exists.Bind(1, table);
  SF_ASSIGN_OR_RETURN(bool has_table, exists.Step());
  if (!has_table) return false;
  SF_ASSIGN_OR_RETURN(meta::Statement q, db->Prepare(fmt::format("SELECT 1 FROM {} WHERE name=?1", table)));
  q.Bind(1, name);
  return q.Step();
}

}  // namespace

struct DeviceStore::Row {
  DeviceInfo info;
  std::string secret_hash;
};

Result<bool> DeviceNameTaken(meta::Db* db, std::string_view name) { return TableHasName(db, "auth_devices", name); }

Status DeviceStore::ValidateAssetPath(std::string_view path) {
  if (path.empty()) return Status::InvalidArgument("the asset path is empty");
  size_t start = 0;
  for (;;) {
    const size_t end = path.find('/', start);
    const std::string_view level = path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!model::IsValidName(level)) {
      return Status::InvalidArgument(fmt::format(
          "invalid asset path {}: level {} is not a name of 1-128 characters from A-Z a-z 0-9 _ - .",
          JsonQuote(path), JsonQuote(level)));
    }
    if (end == std::string_view::npos) return Status::OK();
    start = end + 1;
  }
}

Result<std::unique_ptr<DeviceStore>> DeviceStore::Open(meta::Db* db, core::Clock* clock, AuditLog* audit) {
  SF_RETURN_IF_ERROR(EnsureSodium());
  if (db == nullptr || clock == nullptr || audit == nullptr) {
    return Status::InvalidArgument("DeviceStore::Open: db, clock and audit are required");
  }
  SF_RETURN_IF_ERROR(db->Migrate("devices", kDeviceMigrations));
  std::unique_ptr<meta::Db> own;
  meta::Db* use = db;
  if (db->path() != ":memory:" && !db->path().empty()) {
    SF_ASSIGN_OR_RETURN(own, meta::Db::Open(db->path()));
    use = own.get();
  }
  return std::unique_ptr<DeviceStore>(new DeviceStore(std::move(own), use, clock, audit));
}

DeviceStore::DeviceStore(std::unique_ptr<meta::Db> own_db, meta::Db* db, core::Clock* clock, AuditLog* audit)
    : own_db_(std::move(own_db)), db_(db), clock_(clock), audit_(audit) {}

DeviceStore::~DeviceStore() = default;

// One row of a SELECT of kColumns.
DeviceStore::Row DeviceStore::ReadRow(const meta::Statement& q) {
  Row row;
  row.info.id = q.Int(0);
  row.info.name = q.Text(1);
  row.info.asset_path = q.Text(2);
  row.info.enabled = q.Int(3) != 0;
  row.info.may_provision = q.Int(4) != 0;
  row.info.created = q.Int(5);
  row.info.rotated = q.Int(6);
  row.secret_hash = q.Blob(7);
  return row;
}

Result<std::optional<DeviceStore::Row>> DeviceStore::Find(std::string_view name) const {
  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare(fmt::format("SELECT {} FROM auth_devices WHERE name=?1", kColumns)));
  q.Bind(1, name);
  SF_ASSIGN_OR_RETURN(bool found, q.Step());
  if (!found) return std::optional<Row>();
  return std::optional<Row>(ReadRow(q));
}

Status DeviceStore::Record(std::string_view actor, std::string_view action, std::string_view target,
                           std::string old_value, std::string new_value, const Status& status) {
  AuditEntry entry;
  entry.actor = std::string(actor.substr(0, 256));
  entry.action = std::string(action);
  entry.target = std::string(target.substr(0, 256));
  entry.old_value = std::move(old_value);
  entry.new_value = std::move(new_value);
  entry.result = status.ok() ? "ok" : status.message();
  return audit_->Append(std::move(entry)).status();
}

Result<DeviceWithSecret> DeviceStore::Add(std::string_view actor, std::string_view name, std::string_view asset_path,
                                          bool may_provision) {
  if (!model::IsValidName(name)) {
    return Status::InvalidArgument(fmt::format(
        "invalid device name {}: 1-128 characters from A-Z a-z 0-9 _ - . (not \".\" or \"..\")", JsonQuote(name)));
  }
  SF_RETURN_IF_ERROR(ValidateAssetPath(asset_path));
  std::lock_guard<std::mutex> lock(write_mutex_);
  DeviceWithSecret out;
  out.info.name = std::string(name);
  out.info.asset_path = std::string(asset_path);
  out.info.may_provision = may_provision;
  out.info.created = out.info.rotated = clock_->Now();
  out.secret = NewSecret();
  Status s = [&]() -> Status {
    SF_ASSIGN_OR_RETURN(std::optional<Row> existing, Find(name));
    if (existing) return Status::AlreadyExists(fmt::format("device \"{}\" already exists", name));
    SF_ASSIGN_OR_RETURN(bool user, TableHasName(db_, "auth_users", name));
    if (user) {
      return Status::AlreadyExists(fmt::format(
          "\"{}\" is a user's name; devices and users share the MQTT login names, choose another", name));
    }
    SF_ASSIGN_OR_RETURN(meta::Statement ins,
                        db_->Prepare("INSERT INTO auth_devices(name, asset_path, enabled, may_provision, secret_hash, "
                                     "created, rotated) VALUES(?1, ?2, 1, ?3, ?4, ?5, ?5)"));
    ins.Bind(1, name).Bind(2, asset_path).Bind(3, int64_t{may_provision ? 1 : 0});
    ins.BindBlob(4, HashToken(out.secret)).Bind(5, out.info.created);
    SF_RETURN_IF_ERROR(ins.Run());
    out.info.id = db_->LastInsertRowId();
    return Status::OK();
  }();
  Status audited = Record(actor, "device.create", name, "", DeviceJson(out.info), s);
  SF_RETURN_IF_ERROR(s);
  if (!audited.ok()) return audited.WithPrefix(fmt::format("device \"{}\" was created but not audited", name));
  return out;
}

Result<DeviceWithSecret> DeviceStore::Rotate(std::string_view actor, std::string_view name) {
  std::lock_guard<std::mutex> lock(write_mutex_);
  DeviceWithSecret out;
  out.secret = NewSecret();
  Status s = [&]() -> Status {
    SF_ASSIGN_OR_RETURN(std::optional<Row> row, Find(name));
    if (!row) return Status::NotFound(fmt::format("no device \"{}\"", name));
    out.info = row->info;
    out.info.rotated = clock_->Now();
    SF_ASSIGN_OR_RETURN(meta::Statement up,
                        db_->Prepare("UPDATE auth_devices SET secret_hash=?1, rotated=?2 WHERE id=?3"));
    up.BindBlob(1, HashToken(out.secret)).Bind(2, out.info.rotated).Bind(3, out.info.id);
    return up.Run();
  }();
  Status audited = Record(actor, "device.rotate", name, "", R"({"secret":"rotated"})", s);
  SF_RETURN_IF_ERROR(s);
  if (!audited.ok()) return audited.WithPrefix(fmt::format("the secret of \"{}\" was rotated but not audited", name));
  return out;
}

Result<DeviceInfo> DeviceStore::Update(std::string_view actor, std::string_view name, const DeviceUpdate& update) {
  if (update.asset_path) SF_RETURN_IF_ERROR(ValidateAssetPath(*update.asset_path));
  std::lock_guard<std::mutex> lock(write_mutex_);
  DeviceInfo before;
  DeviceInfo after;
  Status s = [&]() -> Status {
    SF_ASSIGN_OR_RETURN(std::optional<Row> row, Find(name));
    if (!row) return Status::NotFound(fmt::format("no device \"{}\"", name));
    before = after = row->info;
    if (update.asset_path) after.asset_path = *update.asset_path;
    if (update.enabled) after.enabled = *update.enabled;
    if (update.may_provision) after.may_provision = *update.may_provision;
    SF_ASSIGN_OR_RETURN(meta::Statement up, db_->Prepare("UPDATE auth_devices SET asset_path=?1, enabled=?2, "
                                                         "may_provision=?3 WHERE id=?4"));
    up.Bind(1, after.asset_path).Bind(2, int64_t{after.enabled ? 1 : 0});
    up.Bind(3, int64_t{after.may_provision ? 1 : 0}).Bind(4, before.id);
    return up.Run();
  }();
  Status audited = Record(actor, "device.update", name, s.ok() ? DeviceJson(before) : "", DeviceJson(after), s);
  SF_RETURN_IF_ERROR(s);
  if (!audited.ok()) return audited.WithPrefix(fmt::format("device \"{}\" was changed but not audited", name));
  return after;
}

Status DeviceStore::Remove(std::string_view actor, std::string_view name) {
  std::lock_guard<std::mutex> lock(write_mutex_);
  DeviceInfo before;
  Status s = [&]() -> Status {
    SF_ASSIGN_OR_RETURN(std::optional<Row> row, Find(name));
    if (!row) return Status::NotFound(fmt::format("no device \"{}\"", name));
    before = row->info;
    SF_ASSIGN_OR_RETURN(meta::Statement del, db_->Prepare("DELETE FROM auth_devices WHERE id=?1"));
    del.Bind(1, before.id);
    return del.Run();
  }();
  Status audited = Record(actor, "device.delete", name, s.ok() ? DeviceJson(before) : "", "", s);
  SF_RETURN_IF_ERROR(s);
  if (!audited.ok()) return audited.WithPrefix(fmt::format("device \"{}\" was removed but not audited", name));
  return Status::OK();
}

Result<DeviceInfo> DeviceStore::Get(std::string_view name) const {
  SF_ASSIGN_OR_RETURN(std::optional<Row> row, Find(name));
  if (!row) return Status::NotFound(fmt::format("no device \"{}\"", name));
  return row->info;
}

std::vector<DeviceInfo> DeviceStore::List() const {
  std::vector<DeviceInfo> out;
  auto q = db_->Prepare(fmt::format("SELECT {} FROM auth_devices ORDER BY name", kColumns));
  if (!q.ok()) return out;
  while (true) {
    Result<bool> row = q->Step();
    if (!row.ok() || !*row) break;
    out.push_back(ReadRow(*q).info);
  }
  return out;
}

Result<DeviceInfo> DeviceStore::Authenticate(std::string_view name, std::string_view secret) const {
  if (!IsDeviceSecret(secret) || secret.size() != kTokenTextLength) return Status::Unauthenticated(std::string(kBadSecret));
  SF_ASSIGN_OR_RETURN(std::optional<Row> row, Find(name));
  const std::string hash = HashToken(secret);
  // Compared in constant time; an unknown name compares against itself so timing is alike.
  const std::string& stored = row && row->secret_hash.size() == hash.size() ? row->secret_hash : hash;
  const bool match = sodium_memcmp(stored.data(), hash.data(), hash.size()) == 0;
  if (!row || !match || row->secret_hash.size() != hash.size()) return Status::Unauthenticated(std::string(kBadSecret));
  if (!row->info.enabled) return Status::PermissionDenied(fmt::format("device \"{}\" is disabled", name));
  return row->info;
}

}  // namespace shopfloor::auth
