// `shopfloor admin devices add|list|rotate|enable|disable|remove`: MQTT device identities
// of a data directory (auth/devices.h), also beside a running server. add and rotate print
// only the secret on stdout (shown once); everything else goes to stderr. Audit actor "cli".
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "app/commands.h"
#include "auth/audit.h"
#include "auth/devices.h"
#include "core/core.h"
#include "meta/db.h"
#include "model/asset_store.h"

namespace shopfloor::app {

namespace {

constexpr char kActor[] = "cli";

int Fail(std::string_view command, const core::Status& s) {
  std::fprintf(stderr, "shopfloor admin devices %.*s: %s\n", static_cast<int>(command.size()), command.data(),
               s.ToString().c_str());
  switch (s.code()) {
    case core::StatusCode::kInvalidArgument:
    case core::StatusCode::kNotFound:
    case core::StatusCode::kAlreadyExists:
      return 2;
    default:
      return 1;
  }
}

struct DeviceContext {
  std::unique_ptr<meta::Db> db;
  std::unique_ptr<auth::AuditLog> audit;
  std::unique_ptr<auth::DeviceStore> devices;
};

core::Result<DeviceContext> Open(const std::string& dir) {
  DeviceContext ctx;
  SF_ASSIGN_OR_RETURN(ctx.db, meta::Db::OpenInDataDir(dir));
  SF_ASSIGN_OR_RETURN(ctx.audit, auth::AuditLog::Open(ctx.db.get(), core::Clock::System(),
                                                      core::JoinPath(dir, "audit.head")));
  SF_ASSIGN_OR_RETURN(ctx.devices, auth::DeviceStore::Open(ctx.db.get(), core::Clock::System(), ctx.audit.get()));
  return ctx;
}

// The model may not hold the asset yet (a fresh data directory is seeded by `serve`): warn only.
void WarnUnknownAsset(const DeviceContext& ctx, const std::string& asset_path) {
  auto assets = model::AssetStore::Open(ctx.db.get(), core::Clock::System());
  if (assets.ok() && !(*assets)->FindAsset(asset_path).ok()) {
    std::fprintf(stderr, "warning: the model has no asset \"%s\" (yet); the device can publish only once it exists\n",
                 asset_path.c_str());
  }
}

int Add(const std::string& dir, const std::string& name, const std::string& asset, bool may_provision) {
  auto ctx = Open(dir);
  if (!ctx.ok()) return Fail("add", ctx.status());
  auto added = ctx->devices->Add(kActor, name, asset, may_provision);
  if (!added.ok()) return Fail("add", added.status());
  WarnUnknownAsset(*ctx, asset);
  std::printf("%s\n", added->secret.c_str());
  std::fflush(stdout);
  std::fprintf(stderr,
               "added device %s bound to %s%s; its MQTT login is user name \"%s\" with the secret above (shown once)\n",
               name.c_str(), asset.c_str(), may_provision ? " (may provision)" : "", name.c_str());
  return 0;
}

int List(const std::string& dir) {
  auto ctx = Open(dir);
  if (!ctx.ok()) return Fail("list", ctx.status());
  std::printf("%-24s %-8s %-9s %-24s %s\n", "NAME", "STATE", "PROVISION", "ROTATED", "ASSET");
  for (const auth::DeviceInfo& d : ctx->devices->List()) {
    std::printf("%-24s %-8s %-9s %-24s %s\n", d.name.c_str(), d.enabled ? "enabled" : "disabled",
                d.may_provision ? "yes" : "no", core::FormatTimestamp(d.rotated).c_str(), d.asset_path.c_str());
  }
  return 0;
}

int Rotate(const std::string& dir, const std::string& name) {
  auto ctx = Open(dir);
  if (!ctx.ok()) return Fail("rotate", ctx.status());
  auto rotated = ctx->devices->Rotate(kActor, name);
  if (!rotated.ok()) return Fail("rotate", rotated.status());
  std::printf("%s\n", rotated->secret.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "new secret for device %s (the old one no longer logs in)\n", name.c_str());
  return 0;
}

int SetEnabled(const std::string& dir, const std::string& name, bool enabled) {
  const char* command = enabled ? "enable" : "disable";
  auto ctx = Open(dir);
  if (!ctx.ok()) return Fail(command, ctx.status());
  auth::DeviceUpdate update;
  update.enabled = enabled;
  auto changed = ctx->devices->Update(kActor, name, update);
  if (!changed.ok()) return Fail(command, changed.status());
  std::fprintf(stderr, "device %s %s\n", name.c_str(), enabled ? "enabled" : "disabled");
  return 0;
}

int Remove(const std::string& dir, const std::string& name) {
  auto ctx = Open(dir);
  if (!ctx.ok()) return Fail("remove", ctx.status());
  core::Status s = ctx->devices->Remove(kActor, name);
  if (!s.ok()) return Fail("remove", s);
  std::fprintf(stderr, "removed device %s\n", name.c_str());
  return 0;
}

}  // namespace

void AddAdminDeviceCommands(CLI::App* admin, int* exit_code) {
  struct Args {
    std::string dir, name, asset;
    bool may_provision = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* devices = admin->add_subcommand("devices", "MQTT device identities bound to assets");
  devices->require_subcommand(1);
  auto common = [&args](CLI::App* cmd) {
    cmd->add_option("--data", args->dir, "Data directory")->required()->check(CLI::ExistingDirectory);
    cmd->add_option("--name", args->name, "Device name (its MQTT user name)")->required();
  };

  CLI::App* add = devices->add_subcommand("add", "Add a device; prints only its secret on stdout (shown once)");
  common(add);
  add->add_option("--asset", args->asset, "The asset path it is bound to, e.g. acme/north/hall/press-1")->required();
  add->add_flag("--may-provision", args->may_provision, "It may create tags and child assets under its asset");
  add->callback([args, exit_code] { *exit_code = Add(args->dir, args->name, args->asset, args->may_provision); });

  CLI::App* list = devices->add_subcommand("list", "List devices, their state and asset");
  list->add_option("--data", args->dir, "Data directory")->required()->check(CLI::ExistingDirectory);
  list->callback([args, exit_code] { *exit_code = List(args->dir); });

  CLI::App* rotate = devices->add_subcommand("rotate", "Replace a device's secret; prints only the new one");
  common(rotate);
  rotate->callback([args, exit_code] { *exit_code = Rotate(args->dir, args->name); });

  CLI::App* enable = devices->add_subcommand("enable", "Allow a device to log in again");
  common(enable);
  enable->callback([args, exit_code] { *exit_code = SetEnabled(args->dir, args->name, true); });
  CLI::App* disable = devices->add_subcommand("disable", "Refuse a device's logins (and its requests within seconds)");
  common(disable);
  disable->callback([args, exit_code] { *exit_code = SetEnabled(args->dir, args->name, false); });

  CLI::App* remove = devices->add_subcommand("remove", "Remove a device");
  common(remove);
  remove->callback([args, exit_code] { *exit_code = Remove(args->dir, args->name); });
}

}  // namespace shopfloor::app
