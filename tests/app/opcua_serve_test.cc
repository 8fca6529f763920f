// `shopfloor serve` with an OPC UA source: the Runtime wired as serve wires it (Open, then
// StartSources), against node-opcua started by the test. Samples reach storage and twins,
// desired values set through the REST route are written to the server and verified, a
// clamping server gives a failed outcome in the audit trail, model edits restart the
// collector (debounced), and after a reconnect an unchanged value is re-stamped after the gap.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "../connect/opcua_peer.h"
#include "app/runtime.h"
#include "app_test_util.h"
#include "connect/opcua/client.h"
#include "ingest/event_log.h"
#include "server/api.h"
#include "storage/storage.h"

namespace shopfloor::app {
namespace {

using testing::WaitUntil;

using connect::opcua::OpcUaPeer;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Json = nlohmann::json;

constexpr const char* kMachine = "acme/plant/hall/m1";

std::string PlantYaml(int port) {
  return fmt::format(R"(version: 1
sources:
  - name: ua
    protocol: opcua
    endpoint: 127.0.0.1:{0}
    poll_interval: 100ms
    options: {{timeout: 2s}}
  - name: ua-locked
    protocol: opcua
    endpoint: opc.tcp://127.0.0.1:{0}
    options: {{username: operator, password_env: SF_TEST_OPCUA_PASSWORD_UNSET}}
enterprise:
  name: acme
  sites:
    - name: plant
      areas:
        - name: hall
          machines:
            - name: m1
              source: ua
              tags:
                - {{name: speed, type: double, writable: true, range: [0, 1000], binding: {{address: "ns=1;s=Setpoints.Speed"}}}}
                - {{name: clamped, type: double, writable: true, range: [0, 1000], binding: {{address: "ns=1;s=Setpoints.Clamped"}}}}
                - {{name: v0, type: double, binding: {{address: "ns=1;s=Changing.V0"}}}}
                - {{name: pi, type: double, binding: {{address: "ns=1;s=Scalars.Double"}}}}
                - {{name: slow, type: double, writable: true, binding: {{address: "ns=1;s=Setpoints.Slow"}}}}
            - name: m2
              source: ua-locked
              tags:
                - {{name: pi, type: double, binding: {{address: "ns=1;s=Scalars.Double"}}}}
)",
                     port);
}


class OpcUaServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = OpcUaPeer::MissingReason(); !why.empty()) GTEST_SKIP() << why;
    spdlog::set_level(spdlog::level::warn);
    std::string error;
    ASSERT_TRUE(peer_.Start(&error, 0, {"--changing=2", "--change-ms=100"})) << error;
    dir_ = std::filesystem::temp_directory_path() / fmt::format("sf-opcua-serve-{}-{}", ::getpid(), counter_++);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::vector<core::Status> problems;
    auto config = model::ParsePlantConfig(PlantYaml(peer_.port()), "plant.yaml", &problems);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    RuntimeOptions ro;
    ro.config = std::move(config).value();
    ro.config_text = PlantYaml(peer_.port());
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
    std::string path = kMachine;
    std::string encoded;
    for (char c : path) encoded += c == '/' ? std::string("%2F") : std::string(1, c);
    return fmt::format("/api/v1/assets/{}{}", encoded, suffix);
  }

  std::optional<core::Sample> Latest(const std::string& tag) {
    auto info = rt_->storage()->FindSeries(fmt::format("{}/{}", kMachine, tag));
    if (!info.ok()) return std::nullopt;
    core::SeriesId id = info->id;
    return rt_->storage()->Latest(std::span<const core::SeriesId>(&id, 1)).at(0);
  }

  server::SourceStatus Source(const std::string& name) {
    for (const auto& s : rt_->opcua_sources()->Status()) {
      if (s.name == name) return s;
    }
    ADD_FAILURE() << "no source " << name;
    return {};
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

  // The value the node-opcua server holds now, read with a client of our own.
  double ServerDouble(const std::string& node) {
    connect::opcua::ClientOptions o;
    o.endpoint_url = peer_.url();
    auto client = connect::opcua::Client::Connect(o);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    if (!client.ok()) return -1;
    auto values = (*client)->Read({connect::opcua::ReadValueId{*connect::opcua::ParseNodeId(node)}});
    EXPECT_TRUE(values.ok());
    if (!values.ok() || !values->at(0).value) return -1;
    return std::get<double>(values->at(0).value->scalar);
  }

  static inline int counter_ = 0;
  OpcUaPeer peer_;
  std::filesystem::path dir_;
  std::unique_ptr<Runtime> rt_;
  std::unique_ptr<server::Api> api_;
  std::string token_;
};

TEST_F(OpcUaServeTest, CollectsIntoStorageAndTwins) {
  ASSERT_TRUE(WaitUntil([&] {
    auto v0 = Latest("v0"), speed = Latest("speed"), pi = Latest("pi");
    return v0 && v0->quality.good() && speed && pi;
  })) << Source("ua").last_error;
  EXPECT_EQ(Latest("speed")->value, core::Value(10.0));
  EXPECT_EQ(Latest("pi")->value, core::Value(3.141592653589793));
  // v0 steps every 100 ms: more samples keep arriving.
  const core::Timestamp first = Latest("v0")->ts;
  EXPECT_TRUE(WaitUntil([&] { return Latest("v0")->ts > first; }));

  auto asset = rt_->assets()->FindAsset(kMachine);
  ASSERT_TRUE(asset.ok());
  ASSERT_TRUE(WaitUntil([&] {
    auto twin = rt_->twins()->Get(asset->id);
    return twin.ok() && twin->reported.count("v0") && twin->reported.count("speed");
  }));

  server::SourceStatus ua = Source("ua");
  EXPECT_EQ(ua.state, "connected");
  EXPECT_EQ(ua.tags, 5u);
  EXPECT_EQ(ua.connects, 1u);
  EXPECT_GT(ua.samples, 4u);
  // The source whose password variable is unset does not run, and says why.
  server::SourceStatus locked = Source("ua-locked");
  EXPECT_EQ(locked.state, "error");
  EXPECT_THAT(locked.last_error, HasSubstr("SF_TEST_OPCUA_PASSWORD_UNSET"));

  server::HttpResponse r = Call("GET", "/api/v1/sources");
  ASSERT_EQ(r.status, 200) << r.body;
  Json body = Json::parse(r.body);
  ASSERT_EQ(body["sources"].size(), 2u);
  EXPECT_EQ(body["sources"][0]["name"], "ua");
  EXPECT_EQ(body["sources"][0]["state"], "connected");
  EXPECT_EQ(body["sources"][1]["state"], "error");

  const std::string metrics = rt_->services().metrics->RenderPrometheus();
  EXPECT_THAT(metrics, HasSubstr("shopfloor_source_up{source=\"ua\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("shopfloor_source_up{source=\"ua-locked\"} 0"));
  EXPECT_THAT(metrics, HasSubstr("shopfloor_source_connects_total{source=\"ua\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("shopfloor_source_tags{source=\"ua\"} 5"));
}

TEST_F(OpcUaServeTest, DesiredValuesAreWrittenAndVerified) {
  ASSERT_TRUE(WaitUntil([&] { return Source("ua").state == "connected"; })) << Source("ua").last_error;
  server::HttpResponse r = Call("PATCH", AssetUrl("/twin/desired"), R"({"speed": 42.5})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitUntil([&] { return SetpointAudit().size() == 1; }));
  auth::AuditEntry ok = SetpointAudit()[0];
  EXPECT_EQ(ok.actor, "alice");
  EXPECT_EQ(ok.target, std::string(kMachine) + "/speed");
  EXPECT_EQ(ok.old_value, "10.0");
  EXPECT_EQ(ok.new_value, "42.5");
  EXPECT_EQ(ok.result, "ok");
  EXPECT_EQ(ServerDouble("ns=1;s=Setpoints.Speed"), 42.5);
  // The reported value converges through the subscription and the delta disappears; the
  // desired value stays (docs/model.md).
  auto asset = rt_->assets()->FindAsset(kMachine);
  ASSERT_TRUE(asset.ok());
  EXPECT_TRUE(WaitUntil([&] {
    auto twin = rt_->twins()->Get(asset->id);
    return twin.ok() && twin->reported.count("speed") && twin->reported.at("speed").value == core::Value(42.5) &&
           twin->delta.empty();
  }));
  EXPECT_EQ(rt_->twins()->Get(asset->id)->desired.at("speed").value, core::Value(42.5));
  // The event follows the audit entry (Record writes the audit first).
  ASSERT_TRUE(WaitUntil([&] { return Events("twin.write_ok").size() == 1; }));

  // The server clamps 150 to 100: the write is reported as failed, with both values.
  r = Call("PATCH", AssetUrl("/twin/desired"), R"({"clamped": 150})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitUntil([&] { return SetpointAudit().size() == 2; }));
  auth::AuditEntry failed = SetpointAudit()[1];
  EXPECT_EQ(failed.target, std::string(kMachine) + "/clamped");
  EXPECT_EQ(failed.old_value, "50.0");
  EXPECT_EQ(failed.new_value, "150.0");
  EXPECT_THAT(failed.result, StartsWith("failed: "));
  EXPECT_THAT(failed.result, HasSubstr("read back"));
  EXPECT_THAT(failed.result, HasSubstr("100"));
  EXPECT_EQ(ServerDouble("ns=1;s=Setpoints.Clamped"), 100.0);
  ASSERT_TRUE(WaitUntil([&] { return Events("twin.write_failed").size() == 1; }));
  auto events = Events("twin.write_failed");
  Json data = Json::parse(events[0].event.data_json);
  EXPECT_EQ(data["tag"], "clamped");
  EXPECT_EQ(data["result"], "failed");
  EXPECT_THAT(data["error"].get<std::string>(), HasSubstr("read back"));
  // The desired value stays and the delta shows it was not reached.
  EXPECT_TRUE(WaitUntil([&] {
    auto twin = rt_->twins()->Get(asset->id);
    return twin.ok() && twin->reported.count("clamped") && twin->reported.at("clamped").value == core::Value(100.0);
  }));
  auto twin = rt_->twins()->Get(asset->id);
  ASSERT_TRUE(twin.ok());
  EXPECT_EQ(twin->delta, std::vector<std::string>{"clamped"});

  server::SourceStatus ua = Source("ua");
  EXPECT_EQ(ua.setpoints_ok, 1u);
  EXPECT_EQ(ua.setpoints_failed, 1u);
  EXPECT_EQ(ua.setpoints_unknown, 0u);
  EXPECT_THAT(rt_->services().metrics->RenderPrometheus(),
              HasSubstr("shopfloor_setpoint_writes_total{source=\"ua\",result=\"failed\"} 1"));
}

// Setpoints.Slow answers a write after 4 s, past the source's 2 s timeout: the outcome is
// unknown, recorded as such, and the write is not sent again.
TEST_F(OpcUaServeTest, AWriteWithoutAnAnswerIsUnknownAndNeverRetried) {
  ASSERT_TRUE(WaitUntil([&] { return Source("ua").state == "connected"; })) << Source("ua").last_error;
  server::HttpResponse r = Call("PATCH", AssetUrl("/twin/desired"), R"({"slow": 7.5})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitUntil([&] { return SetpointAudit().size() == 1; }));
  EXPECT_THAT(SetpointAudit()[0].result, StartsWith("unknown: "));
  EXPECT_THAT(SetpointAudit()[0].result, HasSubstr("not retried"));
  ASSERT_TRUE(WaitUntil([&] { return Events("twin.write_unknown").size() == 1; }));
  EXPECT_EQ(Source("ua").setpoints_unknown, 1u);
  // The device applies it late; it saw exactly one write, also after the delay has passed.
  ASSERT_TRUE(WaitUntil([&] { return ServerDouble("ns=1;s=Setpoints.Slow") == 7.5; }));
  ::usleep(1'000'000);
  connect::opcua::ClientOptions o;
  o.endpoint_url = peer_.url();
  auto client = connect::opcua::Client::Connect(o);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto writes = (*client)->Read({connect::opcua::ReadValueId{*connect::opcua::ParseNodeId("ns=1;s=Setpoints.SlowWrites")}});
  ASSERT_TRUE(writes.ok() && writes->at(0).value);
  EXPECT_EQ(std::get<uint32_t>(writes->at(0).value->scalar), 1u);
  EXPECT_EQ(SetpointAudit().size(), 1u);
  // The next write goes out on a fresh connection and succeeds.
  r = Call("PATCH", AssetUrl("/twin/desired"), R"({"speed": 11})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitUntil([&] { return SetpointAudit().size() == 2; }));
  EXPECT_EQ(SetpointAudit()[1].result, "ok");
}

TEST_F(OpcUaServeTest, ModelChangesRestartTheCollectorDebounced) {
  ASSERT_TRUE(WaitUntil([&] { return Source("ua").state == "connected"; })) << Source("ua").last_error;
  auto asset = rt_->assets()->FindAsset(kMachine);
  ASSERT_TRUE(asset.ok());
  // Two edits in a burst: one restart.
  model::TagDef i32;
  i32.name = "i32";
  i32.type = core::ValueType::kInt64;
  i32.binding = model::TagBinding{"ua", "ns=1;s=Scalars.Int32"};
  ASSERT_TRUE(rt_->assets()->UpsertTag("test", asset->id, i32).ok());
  model::TagDef u16 = i32;
  u16.name = "u16";
  u16.binding = model::TagBinding{"ua", "ns=1;s=Scalars.UInt16"};
  ASSERT_TRUE(rt_->assets()->UpsertTag("test", asset->id, u16).ok());
  ASSERT_TRUE(WaitUntil([&] { return Latest("i32") && Latest("u16"); })) << Source("ua").last_error;
  EXPECT_EQ(Latest("i32")->value, core::Value(int64_t{-2000000000}));
  EXPECT_EQ(Latest("u16")->value, core::Value(int64_t{60000}));
  server::SourceStatus ua = Source("ua");
  EXPECT_EQ(ua.restarts, 1u);
  EXPECT_EQ(ua.tags, 7u);
  EXPECT_TRUE(WaitUntil([&] { return Source("ua").connects == 2; }));

  // An edit that does not touch a binding restarts nothing.
  model::AssetPatch patch;
  patch.description = "renamed nothing";
  ASSERT_TRUE(rt_->assets()->UpdateAsset("test", asset->id, patch).ok());
  // Removing a tag restarts once more, without it.
  ASSERT_TRUE(rt_->assets()->DeleteTag("test", asset->id, "u16").ok());
  ASSERT_TRUE(WaitUntil([&] { return Source("ua").restarts == 2 && Source("ua").state == "connected"; }));
  EXPECT_EQ(Source("ua").tags, 6u);
  EXPECT_EQ(Source("ua").connects, 3u);

  // A rebinding to a bad NodeId: the tag is left out and the reason is visible.
  model::TagDef bad = i32;
  bad.binding = model::TagBinding{"ua", "ns=1;x=nope"};
  ASSERT_TRUE(rt_->assets()->UpsertTag("test", asset->id, bad).ok());
  ASSERT_TRUE(WaitUntil([&] { return Source("ua").restarts == 3; }));
  EXPECT_EQ(Source("ua").tags, 5u);
  EXPECT_THAT(Source("ua").last_error, HasSubstr("i32 not collected"));
}

TEST_F(OpcUaServeTest, ReconnectRestampsUnchangedValuesAfterTheGap) {
  // Scalars.Double carries a fixed source timestamp of 2024-01-02.
  ASSERT_TRUE(WaitUntil([&] { return Latest("pi").has_value(); })) << Source("ua").last_error;
  const core::Timestamp old_ts = Latest("pi")->ts;
  EXPECT_LT(old_ts, core::Clock::System()->Now() - 365 * 24 * 3600 * core::kSecond);

  const core::Timestamp kill_at = core::Clock::System()->Now();
  peer_.Kill();
  ASSERT_TRUE(WaitUntil([&] { return Source("ua").connection_losses == 1; }));
  // The gap, BadNoCommunication at the loss time, once the outage outlasts the collector's
  // grace for a resume (3 s).
  ASSERT_TRUE(WaitUntil([&] { return Latest("pi")->quality == core::Quality::BadNoCommunication(); }))
      << Latest("pi")->quality.opcua_status();
  EXPECT_GE(Latest("pi")->ts, kill_at);

  // A setpoint while the server is down is not sent, and says so.
  server::HttpResponse r = Call("PATCH", AssetUrl("/twin/desired"), R"({"speed": 12})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitUntil([&] { return SetpointAudit().size() == 1; }));
  EXPECT_THAT(SetpointAudit()[0].result, StartsWith("failed: not sent"));

  std::string error;
  ASSERT_TRUE(peer_.Restart(&error)) << error;
  ASSERT_TRUE(WaitUntil([&] { return Source("ua").connects == 2; }, 20000)) << Source("ua").last_error;
  // pi is delivered again with its 2024 source timestamp; it is stored after the gap, Good.
  ASSERT_TRUE(WaitUntil([&] { return Latest("pi")->quality.good(); })) << Latest("pi")->quality.opcua_status();
  EXPECT_GT(Latest("pi")->ts, kill_at);
  EXPECT_EQ(Latest("pi")->value, core::Value(3.141592653589793));
  EXPECT_GE(Source("ua").restamped, 1u);
}

}  // namespace
}  // namespace shopfloor::app
