// `shopfloor serve` with a Modbus source: the Runtime wired as serve wires it (Open, then
// StartSources), against pymodbus's server started by the test. Values arrive under the
// tags' series and twins, /api/v1/sources and /metrics report the source, a desired value
// set through the REST route is written to the device, verified, audited and evented, a
// refused write is recorded as failed, and model edits restart the collector.
#include <unistd.h>

#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "../connect/modbus_peer.h"
#include "app/runtime.h"
#include "app_test_util.h"
#include "ingest/event_log.h"
#include "server/api.h"
#include "storage/storage.h"

namespace shopfloor::app {
namespace {

using connect::modbus::ModbusPeer;
using testing::WaitUntil;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Json = nlohmann::json;

constexpr const char* kMachine = "acme/plant/hall/m1";

std::string PlantYaml(const std::string& endpoint) {
  return fmt::format(R"(version: 1
sources:
  - name: plc
    protocol: modbus
    endpoint: {0}
    poll_interval: 100ms
    options: {{unit_id: 1, timeout: 1s, retries: 1}}
enterprise:
  name: acme
  sites:
    - name: plant
      areas:
        - name: hall
          machines:
            - name: m1
              source: plc
              tags:
                - {{name: temperature, type: double, binding: {{address: "ir:0:float32"}}}}
                - {{name: count, type: int64, binding: {{address: "ir:2:uint32"}}}}
                - {{name: speed, type: double, writable: true, binding: {{address: "hr:10:int16:scale=0.1"}}}}
                - {{name: run, type: bool, writable: true, binding: {{address: "co:0"}}}}
                - {{name: far, type: double, writable: true, binding: {{address: "hr:1999:float32"}}}}
)",
                     endpoint);
}

class ModbusServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = ModbusPeer::MissingReason(); !why.empty()) GTEST_SKIP() << why;
    spdlog::set_level(spdlog::level::warn);
    std::string error;
    ASSERT_TRUE(peer_.Start(&error)) << error;
    // temperature 21.5 (float32 0x41AC0000), count 70000, speed 12.3 (raw 123).
    ASSERT_EQ(peer_.Command("set ir 0 16812 0 1 4464"), "ok");
    ASSERT_EQ(peer_.Command("set hr 10 123"), "ok");
    dir_ = std::filesystem::temp_directory_path() / fmt::format("sf-modbus-serve-{}-{}", ::getpid(), counter_++);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    const std::string yaml = PlantYaml(peer_.endpoint());
    std::vector<core::Status> problems;
    auto config = model::ParsePlantConfig(yaml, "plant.yaml", &problems);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    RuntimeOptions ro;
    ro.config = std::move(config).value();
    ro.config_text = yaml;
    ro.data_dir = (dir_ / "data").string();
    ro.durability = "none";
    ro.auth.fast_hash_for_tests = true;
    auto rt = Runtime::Open(std::move(ro), core::Clock::System());
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    rt_ = std::move(rt).value();
    ASSERT_TRUE(rt_->users()->CreateUser("test", "alice", "correct-horse-battery", auth::Role::kAdmin, {}).ok());
    auto token = rt_->users()->CreateToken("test", "alice", "test");
    ASSERT_TRUE(token.ok()) << token.status().ToString();
    token_ = "Bearer " + token->secret;
    api_ = std::make_unique<server::Api>(rt_->services(), server::HttpServerOptions{});
    rt_->StartSources();
  }

  void TearDown() override {
    api_.reset();
    rt_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  server::HttpResponse Call(std::string_view method, std::string_view target, std::string_view body = {}) {
    server::HttpRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.content_type = body.empty() ? std::string_view() : std::string_view("application/json");
    r.authorization = token_;
    r.remote = "127.0.0.1:40000";
    return api_->Handle(r);
  }

  std::string AssetUrl(std::string_view suffix) {
    std::string encoded;
    for (char c : std::string(kMachine)) encoded += c == '/' ? std::string("%2F") : std::string(1, c);
    return fmt::format("/api/v1/assets/{}{}", encoded, suffix);
  }

  std::optional<core::Sample> Latest(const std::string& tag) {
    auto info = rt_->storage()->FindSeries(fmt::format("{}/{}", kMachine, tag));
    if (!info.ok()) return std::nullopt;
    core::SeriesId id = info->id;
    return rt_->storage()->Latest(std::span<const core::SeriesId>(&id, 1)).at(0);
  }

  server::SourceStatus Source() {
    auto all = rt_->modbus_sources()->Status();
    if (all.size() != 1) {
      ADD_FAILURE() << "expected one modbus source";
      return {};
    }
    return all[0];
  }

  std::vector<auth::AuditEntry> SetpointAudit() {
    auth::AuditQuery q;
    q.action = "setpoint.write";
    auto entries = rt_->audit()->Query(q);
    EXPECT_TRUE(entries.ok());
    return entries.ok() ? *entries : std::vector<auth::AuditEntry>{};
  }

  std::vector<ingest::StoredEvent> Events(const std::string& kind) {
    ingest::EventQuery q;
    q.kind = kind;
    auto events = rt_->events()->Query(q);
    EXPECT_TRUE(events.ok());
    return events.ok() ? *events : std::vector<ingest::StoredEvent>{};
  }

  static inline int counter_ = 0;
  ModbusPeer peer_;
  std::filesystem::path dir_;
  std::unique_ptr<Runtime> rt_;
  std::unique_ptr<server::Api> api_;
  std::string token_;
};

TEST_F(ModbusServeTest, CollectsIntoStorageAndTwins) {
  ASSERT_TRUE(WaitUntil([&] {
    auto t = Latest("temperature"), c = Latest("count"), s = Latest("speed");
    return t && c && s && t->quality.good();
  })) << Source().last_error;
  EXPECT_EQ(Latest("temperature")->value, core::Value(21.5));
  EXPECT_EQ(Latest("count")->value, core::Value(int64_t{70000}));
  EXPECT_NEAR(Latest("speed")->value.as_double(), 12.3, 1e-9);
  EXPECT_EQ(Latest("run")->value, core::Value(false));
  // hr:1999 float32 runs past the server's 2000 registers: IllegalDataAddress, once.
  EXPECT_EQ(Latest("far")->quality, core::Quality::FromOpcUaStatus(0x80340000u));
  // Values keep coming: a new one is stored at the next poll.
  ASSERT_EQ(peer_.Command("set ir 2 0 5"), "ok");
  ASSERT_TRUE(WaitUntil([&] { return Latest("count")->value == core::Value(int64_t{5}); }));

  auto asset = rt_->assets()->FindAsset(kMachine);
  ASSERT_TRUE(asset.ok());
  ASSERT_TRUE(WaitUntil([&] {
    auto twin = rt_->twins()->Get(asset->id);
    return twin.ok() && twin->reported.count("temperature") && twin->reported.at("count").value == core::Value(int64_t{5});
  }));

  server::SourceStatus plc = Source();
  EXPECT_EQ(plc.state, "connected");
  EXPECT_EQ(plc.protocol, "modbus");
  EXPECT_EQ(plc.tags, 5u);
  EXPECT_GE(plc.connects, 1u);
  EXPECT_GT(plc.samples, 5u);
  EXPECT_THAT(plc.last_error, HasSubstr("IllegalDataAddress"));

  server::HttpResponse r = Call("GET", "/api/v1/sources");
  ASSERT_EQ(r.status, 200) << r.body;
  Json body = Json::parse(r.body);
  ASSERT_EQ(body["sources"].size(), 1u);
  EXPECT_EQ(body["sources"][0]["name"], "plc");
  EXPECT_EQ(body["sources"][0]["protocol"], "modbus");
  EXPECT_EQ(body["sources"][0]["state"], "connected");

  const std::string metrics = rt_->services().metrics->RenderPrometheus();
  EXPECT_THAT(metrics, HasSubstr("shopfloor_source_up{source=\"plc\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("shopfloor_source_tags{source=\"plc\"} 5"));
  EXPECT_THAT(metrics, HasSubstr("shopfloor_modbus_requests_total{source=\"plc\"}"));
  EXPECT_THAT(metrics, HasSubstr("shopfloor_modbus_exceptions_total{source=\"plc\"}"));
}

TEST_F(ModbusServeTest, DesiredValuesAreWrittenVerifiedAndAudited) {
  ASSERT_TRUE(WaitUntil([&] { return Source().state == "connected"; })) << Source().last_error;
  server::HttpResponse r = Call("PATCH", AssetUrl("/twin/desired"), R"({"speed": 42.5, "run": true})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitUntil([&] { return SetpointAudit().size() == 2; }));
  for (const auth::AuditEntry& e : SetpointAudit()) {
    EXPECT_EQ(e.actor, "alice");
    EXPECT_EQ(e.result, "ok") << e.target;
    if (e.target == std::string(kMachine) + "/speed") {
      EXPECT_NEAR(Json::parse(e.old_value).get<double>(), 12.3, 1e-9);
      EXPECT_EQ(e.new_value, "42.5");
    } else {
      EXPECT_EQ(e.target, std::string(kMachine) + "/run");
      EXPECT_EQ(e.old_value, "false");
      EXPECT_EQ(e.new_value, "true");
    }
  }
  EXPECT_EQ(peer_.Command("get hr 10 1"), "values 425");
  EXPECT_EQ(peer_.Command("get co 0 1"), "values 1");
  ASSERT_TRUE(WaitUntil([&] { return Events("twin.write_ok").size() == 2; }));
  // The reported value converges through polling and the delta disappears.
  auto asset = rt_->assets()->FindAsset(kMachine);
  ASSERT_TRUE(asset.ok());
  EXPECT_TRUE(WaitUntil([&] {
    auto twin = rt_->twins()->Get(asset->id);
    return twin.ok() && twin->reported.count("speed") && twin->reported.at("speed").value == core::Value(42.5) &&
           twin->reported.at("run").value == core::Value(true) && twin->delta.empty();
  }));

  // Refused by the device: failed, with the exception, in the audit trail and an event.
  r = Call("PATCH", AssetUrl("/twin/desired"), R"({"far": 1.5})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitUntil([&] { return SetpointAudit().size() == 3; }));
  auth::AuditEntry failed = SetpointAudit()[2];
  EXPECT_EQ(failed.target, std::string(kMachine) + "/far");
  EXPECT_THAT(failed.result, StartsWith("failed: "));
  EXPECT_THAT(failed.result, HasSubstr("IllegalDataAddress"));
  ASSERT_TRUE(WaitUntil([&] { return Events("twin.write_failed").size() == 1; }));
  Json data = Json::parse(Events("twin.write_failed")[0].event.data_json);
  EXPECT_EQ(data["tag"], "far");
  EXPECT_EQ(data["source"], "plc");
  EXPECT_EQ(data["result"], "failed");

  server::SourceStatus plc = Source();
  EXPECT_EQ(plc.setpoints_ok, 2u);
  EXPECT_EQ(plc.setpoints_failed, 1u);
  EXPECT_THAT(rt_->services().metrics->RenderPrometheus(),
              HasSubstr("shopfloor_setpoint_writes_total{source=\"plc\",result=\"ok\"} 2"));
}

TEST_F(ModbusServeTest, ModelChangesRestartTheCollector) {
  ASSERT_TRUE(WaitUntil([&] { return Source().state == "connected"; })) << Source().last_error;
  auto asset = rt_->assets()->FindAsset(kMachine);
  ASSERT_TRUE(asset.ok());
  ASSERT_EQ(peer_.Command("set ir 100 7"), "ok");
  model::TagDef extra;
  extra.name = "extra";
  extra.type = core::ValueType::kInt64;
  extra.binding = model::TagBinding{"plc", "ir:100:int16"};
  ASSERT_TRUE(rt_->assets()->UpsertTag("test", asset->id, extra).ok());
  ASSERT_TRUE(WaitUntil([&] { return Latest("extra").has_value(); })) << Source().last_error;
  EXPECT_EQ(Latest("extra")->value, core::Value(int64_t{7}));
  EXPECT_EQ(Source().restarts, 1u);
  EXPECT_EQ(Source().tags, 6u);
  // A rebinding to an address the tag cannot use: left out, and the reason is visible.
  extra.binding = model::TagBinding{"plc", "ir:100:float32"};
  ASSERT_TRUE(rt_->assets()->UpsertTag("test", asset->id, extra).ok());
  ASSERT_TRUE(WaitUntil([&] { return Source().restarts == 2; }));
  EXPECT_EQ(Source().tags, 5u);
  EXPECT_THAT(Source().last_error, HasSubstr("extra not collected"));
  EXPECT_THAT(Source().last_error, HasSubstr("int64 tag cannot take a float"));
}

}  // namespace
}  // namespace shopfloor::app
