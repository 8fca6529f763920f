// ApiFixture: a complete REST API without sockets, wired by app::Runtime::Open exactly as
// `shopfloor serve` wires it: real storage in a temporary directory (durability none), one
// meta::Db connection per component, the hash-chained AuditLog, a UserStore (argon2id at
// libsodium's minimum limits: AuthOptions::fast_hash_for_tests), the asset model seeded from
// config/demo-works.yaml plus a second site (kOtherSite) with one machine, twins fed by the
// bus, the event log, the durable writer and the metrics registry.
//
// Test-tree only. Not thread-safe: one test thread drives it.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/runtime.h"
#include "auth/audit.h"
#include "auth/auth.h"
#include "core/core.h"
#include "core/metrics.h"
#include "ingest/bus.h"
#include "ingest/event_log.h"
#include "ingest/writer.h"
#include "meta/db.h"
#include "model/asset_store.h"
#include "model/plant_config.h"
#include "model/twin.h"
#include "server/api.h"
#include "server/metrics_handler.h"
#include "server/server.h"
#include "storage/storage.h"

namespace shopfloor::server::testing {

// A user made by the fixture and an API token (sft_...) that authenticates as them.
struct TestUser {
  std::string name;
  auth::Role role = auth::Role::kViewer;
  std::vector<std::string> sites;  // empty: all sites
  std::string token;
};

class ApiFixture {
 public:
  static constexpr const char* kEnterprise = "demo-works";
  static constexpr const char* kSite = "stuttgart";
  static constexpr const char* kOtherSite = "hamburg";
  // A machine of each site with a writable double tag (range [0, 45] and [0, 300]).
  static constexpr const char* kMachine = "demo-works/stuttgart/body-shop/body-line/conveyor-1";
  static constexpr const char* kWritableTag = "speed_setpoint";
  static constexpr const char* kOtherMachine = "demo-works/hamburg/paint-shop/paint-line/oven-1";
  static constexpr const char* kOtherWritableTag = "temperature_setpoint";
  static constexpr const char* kPassword = "correct-horse-battery";

  ApiFixture() = default;
  ApiFixture(const ApiFixture&) = delete;
  ApiFixture& operator=(const ApiFixture&) = delete;
  ~ApiFixture() { Close(); }

  // Opens every component through app::Runtime::Open (the wiring `shopfloor serve` runs);
  // a failure names the component.
  core::Status Open(HttpServerOptions options = {}) {
    static std::atomic<int> instance{0};
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("sf-apifixture-{}-{}", ::getpid(), instance.fetch_add(1));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    spdlog::set_level(spdlog::level::warn);  // the seed logs every asset at info

    const std::string path = std::string(SHOPFLOOR_SOURCE_DIR) + "/config/demo-works.yaml";
    std::vector<core::Status> problems;
    auto config = model::LoadPlantConfigFile(core::Env::Posix(), path, &problems);
    if (!config.ok()) return config.status();
    if (!problems.empty()) return problems.front();
    app::RuntimeOptions ro;
    ro.config = std::move(config).value();
    ro.config_text = "fixture";
    ro.data_dir = (dir_ / "data").string();
    ro.durability = "none";
    ro.auth.fast_hash_for_tests = true;
    auto rt = app::Runtime::Open(std::move(ro), core::Clock::System());
    if (!rt.ok()) return rt.status();
    runtime_ = std::move(rt).value();
    if (core::Status s = AddOtherSite(); !s.ok()) return s.WithPrefix("model seed");
    api_ = std::make_unique<Api>(runtime_->services(), options);

    // The unscoped admin the installation never loses (the last-admin rule), so tests may
    // delete or demote other admins freely.
    auto root = CreateUser(auth::Role::kAdmin, {});
    if (!root.ok()) return root.status().WithPrefix("root admin");
    root_ = std::move(root).value();
    return core::Status::OK();
  }

  // Closes in Runtime's order and removes the directory. Idempotent.
  void Close() {
    api_.reset();
    runtime_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

  // A name no earlier call returned: "<prefix>-<n>".
  std::string UniqueName(std::string_view prefix) { return fmt::format("{}-{}", prefix, next_name_++); }

  // Creates a user (unique name, kPassword) with an API token.
  core::Result<TestUser> CreateUser(auth::Role role, std::vector<std::string> sites) {
    TestUser u;
    u.name = UniqueName(fmt::format("u{}", auth::RoleName(role)));
    u.role = role;
    u.sites = sites;
    SF_RETURN_IF_ERROR(users()->CreateUser("fixture", u.name, kPassword, role, std::move(sites)).status());
    SF_ASSIGN_OR_RETURN(auth::NewToken token, users()->CreateToken("fixture", u.name, "fixture"));
    u.token = token.secret;
    return u;
  }

  // Runs one request. token: "" sends no Authorization header; otherwise "Bearer <token>".
  HttpResponse Call(std::string_view method, std::string_view target, std::string_view body = {},
                    std::string_view token = {}) {
    const std::string authorization = token.empty() ? std::string() : fmt::format("Bearer {}", token);
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.content_type = body.empty() ? std::string_view() : std::string_view("application/json");
    r.authorization = authorization;
    r.remote = "127.0.0.1:40000";
    return api_->Handle(r);
  }

  Api& api() { return *api_; }
  const Services& services() const { return runtime_->services(); }
  const TestUser& root() const { return root_; }
  auth::UserStore* users() { return runtime_->users(); }
  auth::AuditLog* audit() { return runtime_->audit(); }
  model::AssetStore* assets() { return runtime_->assets(); }
  model::TwinStore* twins() { return runtime_->twins(); }
  ingest::EventLog* events() { return runtime_->events(); }
  ingest::Writer* writer() { return runtime_->writer(); }
  storage::Storage* storage() { return runtime_->storage(); }
  core::Clock* clock() { return core::Clock::System(); }

 private:
  // A second site with one machine, so out-of-scope checks have a target.
  core::Status AddOtherSite() {
    model::AssetStore* assets_ = assets();
    auto add = [&](std::string parent, model::AssetLevel level, std::string name,
                   std::vector<model::TagDef> tags) -> core::Status {
      model::NewAsset a;
      a.parent_path = std::move(parent);
      a.level = level;
      a.name = std::move(name);
      a.tags = std::move(tags);
      return assets_->CreateAsset("fixture", a).status();
    };
    const std::string site = fmt::format("{}/{}", kEnterprise, kOtherSite);
    SF_RETURN_IF_ERROR(add(kEnterprise, model::AssetLevel::kSite, kOtherSite, {}));
    SF_RETURN_IF_ERROR(add(site, model::AssetLevel::kArea, "paint-shop", {}));
    SF_RETURN_IF_ERROR(add(site + "/paint-shop", model::AssetLevel::kLine, "paint-line", {}));
    model::TagDef temperature;
    temperature.name = "temperature";
    temperature.type = core::ValueType::kDouble;
    model::TagDef setpoint;
    setpoint.name = kOtherWritableTag;
    setpoint.type = core::ValueType::kDouble;
    setpoint.writable = true;
    setpoint.range = model::TagRange{0, 300};
    setpoint.binding = model::TagBinding{"utilities-plc", "hr:900:float32"};
    SF_RETURN_IF_ERROR(add(site + "/paint-shop/paint-line", model::AssetLevel::kMachine, "oven-1",
                           {temperature, setpoint}));
    // The constants above must name real assets and writable tags.
    for (auto [machine, tag] : {std::pair{kMachine, kWritableTag}, std::pair{kOtherMachine, kOtherWritableTag}}) {
      SF_ASSIGN_OR_RETURN(model::Tag t, assets_->FindTag(machine, tag));
      if (!t.writable) return core::Status::InvalidArgument(fmt::format("{}/{} is not writable", machine, tag));
    }
    return core::Status::OK();
  }

  std::filesystem::path dir_;
  std::unique_ptr<app::Runtime> runtime_;
  std::unique_ptr<Api> api_;
  TestUser root_;
  int next_name_ = 1;
};

}  // namespace shopfloor::server::testing
