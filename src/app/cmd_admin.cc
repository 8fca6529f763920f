// `shopfloor admin ...`: maintenance of a data directory (users and audit: cmd_admin_users.cc).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "app/commands.h"
#include "app/storage_options.h"
#include "storage/storage.h"

namespace shopfloor::app {

namespace {

int CompactOffline(const std::string& dir) {
  auto options = MakeStorageOptions(nullptr, dir, "none");
  if (!options.ok()) {
    std::fprintf(stderr, "%s\n", options.status().ToString().c_str());
    return 2;
  }
  options->background_maintenance = false;
  auto db = storage::Storage::Open(*options);
  if (!db.ok()) {
    std::fprintf(stderr, "shopfloor admin compact: %s%s\n", db.status().ToString().c_str(),
                 db.status().code() == core::StatusCode::kBusy ? " (is a shopfloor server running on it?)" : "");
    return 1;
  }
  core::Status s = (*db)->Flush();
  if (s.ok()) s = (*db)->Compact();
  if (!s.ok()) {
    std::fprintf(stderr, "shopfloor admin compact: %s\n", s.ToString().c_str());
    return 1;
  }
  const storage::StorageStats st = (*db)->stats();
  std::printf("compacted %s: %llu series, %llu blocks, %llu bytes in blocks\n", dir.c_str(),
              static_cast<unsigned long long>(st.series), static_cast<unsigned long long>(st.blocks),
              static_cast<unsigned long long>(st.block_bytes));
  return 0;
}

}  // namespace

void AddAdminCommand(CLI::App& app, int* exit_code) {
  CLI::App* admin = app.add_subcommand("admin", "Offline administration of a data directory");
  admin->require_subcommand(1);
  CLI::App* compact = admin->add_subcommand("compact", "Seal the head into blocks and compact (server stopped)");
  auto dir = std::make_shared<std::string>();
  compact->add_option("--data", *dir, "Data directory")->required()->check(CLI::ExistingDirectory);
  compact->callback([dir, exit_code] { *exit_code = CompactOffline(*dir); });
  AddAdminUserCommands(admin, exit_code);
  AddAdminDeviceCommands(admin, exit_code);
}

}  // namespace shopfloor::app
