// ApiFixture: a complete REST API without sockets, wired the way app::Runtime wires it:
// real storage in a temporary directory (durability none), one meta::Db connection per
// component (audit, users, model, twins, events), the hash-chained AuditLog, a UserStore
// (argon2id at libsodium's minimum limits: AuthOptions::fast_hash_for_tests), the asset
// model seeded from config/demo-works.yaml plus a second site (kOtherSite) with one machine,
// twins fed by the bus, the event log, the durable writer and the metrics registry.
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

  // Opens every component; a failure names the component.
  core::Status Open(HttpServerOptions options = {}) {
    static std::atomic<int> instance{0};
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("sf-apifixture-{}-{}", ::getpid(), instance.fetch_add(1));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    clock_ = core::Clock::System();
    spdlog::set_level(spdlog::level::warn);  // the seed logs every asset at info

    storage::Options so;
    so.env = core::Env::Posix();
    so.clock = clock_;
    so.dir = (dir_ / "data").string();
    so.durability.mode = storage::DurabilityPolicy::Mode::kNone;
    so.background_maintenance = false;
    auto fsync_histogram = RegisterWalFsyncHistogram(&metrics_);
    if (!fsync_histogram.ok()) return fsync_histogram.status().WithPrefix("metrics");
    so.wal_fsync_seconds = *fsync_histogram;
    auto st = storage::Storage::Open(so);
    if (!st.ok()) return st.status().WithPrefix("storage");
    storage_ = std::move(st).value();

    for (auto& db : dbs_) {
      auto opened = meta::Db::OpenInDataDir(dir_.string());
      if (!opened.ok()) return opened.status().WithPrefix("metadata database");
      db = std::move(opened).value();
    }
    auto audit = auth::AuditLog::Open(dbs_[kAuditDb].get(), clock_, (dir_ / "audit.head").string());
    if (!audit.ok()) return audit.status().WithPrefix("audit");
    audit_ = std::move(audit).value();
    auth::AuthOptions auth_options;
    auth_options.fast_hash_for_tests = true;
    auto users = auth::UserStore::Open(dbs_[kUsersDb].get(), clock_, audit_.get(), auth_options);
    if (!users.ok()) return users.status().WithPrefix("users");
    users_ = std::move(users).value();
    auto assets = model::AssetStore::Open(dbs_[kModelDb].get(), clock_);
    if (!assets.ok()) return assets.status().WithPrefix("assets");
    assets_ = std::move(assets).value();
    if (core::Status s = SeedModel(); !s.ok()) return s.WithPrefix("model seed");

    storage::Storage* storage = storage_.get();
    auto twins = model::TwinStore::Open(dbs_[kTwinDb].get(), assets_.get(), clock_,
                                        [storage](std::string_view key) -> std::optional<core::SeriesId> {
                                          auto info = storage->FindSeries(key);
                                          if (!info.ok()) return std::nullopt;
                                          return info->id;
                                        });
    if (!twins.ok()) return twins.status().WithPrefix("twins");
    twins_ = std::move(twins).value();
    auto events = ingest::EventLog::Open(dbs_[kEventsDb].get());
    if (!events.ok()) return events.status().WithPrefix("events");
    events_ = std::move(events).value();
    events_->Subscribe(&bus_);
    writer_ = std::make_unique<ingest::Writer>(storage, &bus_);
    model::TwinStore* twin_store = twins_.get();
    ingest::Bus* bus = &bus_;
    twin_feed_ = bus->SubscribeSamples([twin_store](const core::SampleBatch& b) { twin_store->OnSamples(b); });
    twin_store->SetListener([bus](const model::ModelEvent& e) { bus->PublishEvent(ToEvent(e)); });
    model_listener_ = assets_->AddListener([bus, twin_store](const model::ModelEvent& e) {
      (void)twin_store->Rebuild();
      bus->PublishEvent(ToEvent(e));
    });

    if (core::Status s = RegisterStorageMetrics(&metrics_, storage); !s.ok()) return s;
    if (core::Status s = RegisterProcessMetrics(&metrics_, clock_, "test"); !s.ok()) return s;
    if (core::Status s = RegisterIngestMetrics(&metrics_, writer_.get()); !s.ok()) return s;

    services_.storage = storage;
    services_.clock = clock_;
    services_.writer = writer_.get();
    services_.bus = bus;
    services_.events = events_.get();
    services_.users = users_.get();
    services_.audit = audit_.get();
    services_.assets = assets_.get();
    services_.twins = twin_store;
    services_.metrics = &metrics_;
    services_.config = &config_;
    api_ = std::make_unique<Api>(services_, options);

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
    twin_feed_.Reset();
    if (assets_ && model_listener_ != 0) assets_->RemoveListener(model_listener_);
    model_listener_ = 0;
    if (twins_) twins_->SetListener(nullptr);
    events_.reset();
    writer_.reset();
    twins_.reset();
    assets_.reset();
    users_.reset();
    audit_.reset();
    for (auto& db : dbs_) db.reset();
    storage_.reset();
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
    SF_RETURN_IF_ERROR(users_->CreateUser("fixture", u.name, kPassword, role, std::move(sites)).status());
    SF_ASSIGN_OR_RETURN(auth::NewToken token, users_->CreateToken("fixture", u.name, "fixture"));
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
  const Services& services() const { return services_; }
  const TestUser& root() const { return root_; }
  auth::UserStore* users() { return users_.get(); }
  auth::AuditLog* audit() { return audit_.get(); }
  model::AssetStore* assets() { return assets_.get(); }
  model::TwinStore* twins() { return twins_.get(); }
  ingest::EventLog* events() { return events_.get(); }
  ingest::Writer* writer() { return writer_.get(); }
  storage::Storage* storage() { return storage_.get(); }
  core::Clock* clock() { return clock_; }

 private:
  static ingest::Event ToEvent(const model::ModelEvent& e) {
    return ingest::Event{e.ts, e.kind, e.asset_path, e.actor, e.message, e.data_json};
  }

  core::Status SeedModel() {
    const std::string path = std::string(SHOPFLOOR_SOURCE_DIR) + "/config/demo-works.yaml";
    std::vector<core::Status> problems;
    auto config = model::LoadPlantConfigFile(core::Env::Posix(), path, &problems);
    if (!config.ok()) return config.status();
    if (!problems.empty()) return problems.front();
    config_ = std::move(config).value();
    SF_RETURN_IF_ERROR(assets_->SeedFromConfig(config_, config_.file_name, "fixture").status());

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

  enum { kAuditDb, kUsersDb, kModelDb, kTwinDb, kEventsDb, kDbs };
  std::filesystem::path dir_;
  core::Clock* clock_ = nullptr;
  core::MetricsRegistry metrics_;
  model::PlantConfig config_;
  std::unique_ptr<storage::Storage> storage_;
  std::unique_ptr<meta::Db> dbs_[kDbs];
  std::unique_ptr<auth::AuditLog> audit_;
  std::unique_ptr<auth::UserStore> users_;
  std::unique_ptr<model::AssetStore> assets_;
  std::unique_ptr<model::TwinStore> twins_;
  ingest::Bus bus_;
  std::unique_ptr<ingest::Writer> writer_;
  std::unique_ptr<ingest::EventLog> events_;
  ingest::Bus::Subscription twin_feed_;
  int model_listener_ = 0;
  Services services_;
  std::unique_ptr<Api> api_;
  TestUser root_;
  int next_name_ = 1;
};

}  // namespace shopfloor::server::testing
