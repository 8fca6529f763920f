// `serve --mqtt` as the Sparkplug B primary host application, against an edge node written
// with mqtt.js and sparkplug-payload (Eclipse Tahu's encoder): STATE, births into the model,
// data by alias for every scalar datatype, sequence gaps and unknown aliases answered with a
// rebirth request, deaths making twins stale, and a desired value sent down as DCMD,
// reported back and audited.
#include <unistd.h>

#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "app/runtime.h"
#include "app_test_util.h"
#include "edge_node_peer.h"
#include "serve_harness.h"
#include "../connect/mosquitto_peer.h"
#include "storage/storage.h"

namespace shopfloor::app {
namespace {

using testing::EdgeNodePeer;
using testing::WaitUntil;
using Json = nlohmann::json;

// {0}: the source's endpoint, {1}: its extra options.
constexpr const char* kPlant = R"(version: 1
sources:
  - name: bottling-sparkplug
    protocol: sparkplug
    endpoint: {0}
    options: {{group_id: bottling, host_id: shopfloor-test, provision_path: acme/north/hall{1}}}
enterprise:
  name: acme
  sites:
    - name: north
      areas:
        - name: hall
          machines:
            - name: edge
              source: bottling-sparkplug
              tags:
                - {{name: voltage, type: double, unit: V, binding: {{address: "edge1/Supply/Voltage"}}}}
            - name: filler
              source: bottling-sparkplug
              tags:
                - {{name: fill_volume, type: double, binding: {{address: "edge1/filler/FillVolume"}}}}
                - {{name: count, type: int64, binding: {{address: "edge1/filler/Count"}}}}
                - {{name: running, type: bool, binding: {{address: "edge1/filler/Running"}}}}
                - {{name: recipe, type: string, binding: {{address: "edge1/filler/Recipe"}}}}
                - {{name: offset, type: int64, binding: {{address: "edge1/filler/Offset"}}}}
                - {{name: total, type: int64, binding: {{address: "edge1/filler/Total"}}}}
                - {{name: speed, type: double, binding: {{address: "edge1/filler/Speed"}}}}
                - {{name: setpoint, type: double, writable: true, range: [0, 100], binding: {{address: "edge1/filler/Setpoint"}}}}
                - {{name: small, type: int64, binding: {{address: "edge1/filler/Small"}}}}
                - {{name: word, type: int64, binding: {{address: "edge1/filler/Word"}}}}
                - {{name: big, type: int64, binding: {{address: "edge1/filler/Big"}}}}
                - {{name: stamp, type: int64, binding: {{address: "edge1/filler/Stamp"}}}}
                - {{name: note, type: string, binding: {{address: "edge1/filler/Note"}}}}
                - {{name: serial, type: string, binding: {{address: "edge1/filler/Serial"}}}}
                - {{name: i32, type: int64, binding: {{address: "edge1/filler/Int32Value"}}}}
                - {{name: u8, type: int64, binding: {{address: "edge1/filler/UInt8Value"}}}}
)";

class SparkplugServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = EdgeNodePeer::MissingReason(); !why.empty()) GTEST_SKIP() << why;
    port_ = testing::FreePort();
    ASSERT_NO_FATAL_FAILURE(Open(fmt::format("mqtt://127.0.0.1:{}", port_), ""));
  }

  // Opens the runtime with Shopfloor's MQTT endpoint on port_ and the source at `endpoint`.
  void Open(const std::string& endpoint, const std::string& options) {
    const std::string plant = fmt::format(kPlant, endpoint, options);
    spdlog::set_level(spdlog::level::warn);
    dir_ = std::filesystem::temp_directory_path() / fmt::format("sf-sparkplug-serve-{}", ::getpid());
    std::filesystem::remove_all(dir_);
    std::vector<core::Status> problems;
    auto config = model::ParsePlantConfig(plant, "plant.yaml", &problems);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    RuntimeOptions ro;
    ro.config = std::move(config).value();
    ro.config_text = plant;
    ro.data_dir = (dir_ / "data").string();
    ro.durability = "always";
    ro.auth.fast_hash_for_tests = true;
    ro.mqtt = std::make_pair(std::string("127.0.0.1"), port_);
    auto rt = Runtime::Open(std::move(ro), core::Clock::System());
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    rt_ = std::move(rt).value();
    ASSERT_TRUE(rt_->users()->CreateUser("test", "edge", "edge-pass", auth::Role::kOperator, {}).ok());
    ASSERT_TRUE(rt_->users()->CreateUser("test", "vic", "viewer-pass", auth::Role::kViewer, {}).ok());
    ASSERT_TRUE(rt_->users()->CreateUser("test", "olga", "olga-pass", auth::Role::kOperator, {}).ok());
    auto started = rt_->StartMqtt();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }

  void TearDown() override {
    node_.Stop();
    rt_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartNode(const std::string& user = "edge", const std::string& password = "edge-pass", uint16_t port = 0) {
    ASSERT_TRUE(node_.Start(port ? port : rt_->mqtt_port(), user, password, "bottling", "edge1", "filler"));
    ASSERT_TRUE(node_.Do("connect"));
  }

  // The latest stored sample of a tag, or nullopt.
  std::optional<core::Sample> Latest(const std::string& asset, const std::string& tag) {
    auto t = rt_->assets()->FindTag(asset, tag);
    if (!t.ok()) return std::nullopt;
    auto info = rt_->storage()->FindSeries(t->series_key);
    if (!info.ok()) return std::nullopt;
    const core::SeriesId ids[] = {info->id};
    return rt_->storage()->Latest(ids)[0];
  }
  std::optional<model::ReportedValue> Reported(const std::string& asset, const std::string& tag) {
    auto a = rt_->assets()->FindAsset(asset);
    if (!a.ok()) return std::nullopt;
    auto twin = rt_->twins()->Get(a->id);
    if (!twin.ok()) return std::nullopt;
    auto it = twin->reported.find(tag);
    if (it == twin->reported.end()) return std::nullopt;
    return it->second;
  }
  bool WaitValue(const std::string& tag, const core::Value& want, const std::string& asset = "acme/north/hall/filler") {
    return WaitUntil([&] {
      auto s = Latest(asset, tag);
      return s && s->value == want;
    });
  }

  uint16_t port_ = 0;
  std::filesystem::path dir_;
  std::unique_ptr<Runtime> rt_;
  EdgeNodePeer node_;
};

TEST_F(SparkplugServeTest, HostStateIsRetainedAndBirthValuesOfEveryScalarTypeAreStored) {
  StartNode();
  auto state = node_.ExpectEvent("state");
  ASSERT_FALSE(state.is_null()) << "no retained STATE; seen: " << Json(node_.seen()).dump();
  EXPECT_EQ(state["topic"], "spBv1.0/STATE/shopfloor-test");
  EXPECT_EQ(state["online"], true);
  EXPECT_TRUE(state["timestamp"].is_number());

  ASSERT_TRUE(node_.Do("birth"));
  EXPECT_TRUE(WaitValue("fill_volume", core::Value(500.25)));
  EXPECT_TRUE(WaitValue("count", core::Value(int64_t{4000000000})));
  EXPECT_TRUE(WaitValue("running", core::Value(true)));
  EXPECT_TRUE(WaitValue("recipe", core::Value("cola-330")));
  EXPECT_TRUE(WaitValue("offset", core::Value(int64_t{-1234})));
  EXPECT_TRUE(WaitValue("total", core::Value(int64_t{-9000000000})));
  EXPECT_TRUE(WaitValue("speed", core::Value(1.5)));
  EXPECT_TRUE(WaitValue("small", core::Value(int64_t{-5})));
  EXPECT_TRUE(WaitValue("word", core::Value(int64_t{65000})));
  EXPECT_TRUE(WaitValue("big", core::Value(int64_t{123456789012})));
  EXPECT_TRUE(WaitValue("stamp", core::Value(int64_t{1700000000000})));
  EXPECT_TRUE(WaitValue("note", core::Value("line note")));
  EXPECT_TRUE(WaitValue("serial", core::Value("0f8fad5b-d9cb-469f-a165-70867728950e")));
  EXPECT_TRUE(WaitValue("i32", core::Value(int64_t{-100000})));
  EXPECT_TRUE(WaitValue("u8", core::Value(int64_t{200})));
  EXPECT_TRUE(WaitValue("voltage", core::Value(24.0), "acme/north/hall/edge"));

  // A metric no tag is bound to became a tag on the device's asset, with its unit.
  ASSERT_TRUE(WaitUntil([&] { return rt_->assets()->FindTag("acme/north/hall/filler", "NewMetric").ok(); }));
  auto created = rt_->assets()->FindTag("acme/north/hall/filler", "NewMetric");
  EXPECT_EQ(created->unit, "mm");
  EXPECT_EQ(created->type, core::ValueType::kDouble);
  ASSERT_TRUE(created->binding.has_value());
  EXPECT_EQ(created->binding->address, "edge1/filler/NewMetric");
  EXPECT_TRUE(WaitValue("NewMetric", core::Value(3.25)));
}

TEST_F(SparkplugServeTest, DataByAliasIsStoredAndTwinsFollow) {
  StartNode();
  ASSERT_TRUE(node_.Do("birth"));
  ASSERT_TRUE(WaitValue("fill_volume", core::Value(500.25)));
  ASSERT_TRUE(node_.Do("data FillVolume 498.5"));
  ASSERT_TRUE(node_.Do("data Recipe water-500"));
  ASSERT_TRUE(node_.Do("ndata 23.5"));
  EXPECT_TRUE(WaitValue("fill_volume", core::Value(498.5)));
  EXPECT_TRUE(WaitValue("recipe", core::Value("water-500")));
  EXPECT_TRUE(WaitValue("voltage", core::Value(23.5), "acme/north/hall/edge"));
  EXPECT_TRUE(WaitUntil([&] {
    auto r = Reported("acme/north/hall/filler", "fill_volume");
    return r && r->value == core::Value(498.5) && r->quality == core::Quality::Good();
  }));
  // No rebirth was needed for in-order data with known aliases.
  for (const Json& e : node_.seen()) EXPECT_NE(e.value("event", ""), "ncmd") << e.dump();
}

TEST_F(SparkplugServeTest, SequenceGapAndUnknownAliasRequestARebirth) {
  StartNode();
  ASSERT_TRUE(node_.Do("birth"));
  ASSERT_TRUE(WaitValue("fill_volume", core::Value(500.25)));
  ASSERT_TRUE(node_.Do("gap"));
  ASSERT_TRUE(node_.Do("data FillVolume 401"));
  auto ncmd = node_.ExpectEvent("ncmd");
  ASSERT_FALSE(ncmd.is_null()) << "no rebirth request after a sequence gap";
  ASSERT_EQ(ncmd["metrics"].size(), 1u);
  EXPECT_EQ(ncmd["metrics"][0]["name"], "Node Control/Rebirth");
  EXPECT_EQ(ncmd["metrics"][0]["value"], true);
  ASSERT_FALSE(node_.ExpectEvent("rebirth").is_null());
  // The data itself had known aliases: kept (the rebirth repeats it as the current value).
  EXPECT_TRUE(WaitValue("fill_volume", core::Value(401.0)));
  ASSERT_TRUE(node_.Do("data FillVolume 402"));
  EXPECT_TRUE(WaitValue("fill_volume", core::Value(402.0)));

  // An unknown alias after the rate limit window: another rebirth.
  std::this_thread::sleep_for(std::chrono::milliseconds(5100));
  ASSERT_TRUE(node_.Do("badalias"));
  EXPECT_FALSE(node_.ExpectEvent("rebirth").is_null()) << "no rebirth request after an unknown alias";
}

TEST_F(SparkplugServeTest, DeathsMakeTwinsStaleAndBirthsRevive) {
  StartNode();
  ASSERT_TRUE(node_.Do("birth"));
  ASSERT_TRUE(WaitUntil([&] { return Reported("acme/north/hall/filler", "speed").has_value(); }));
  ASSERT_TRUE(node_.Do("ddeath"));
  EXPECT_TRUE(WaitUntil([&] {
    auto r = Reported("acme/north/hall/filler", "speed");
    return r && r->quality == core::Quality::BadNoCommunication() && r->value == core::Value(1.5);
  })) << "DDEATH did not make the device's tags stale";
  auto voltage = Reported("acme/north/hall/edge", "voltage");
  ASSERT_TRUE(voltage.has_value());
  EXPECT_EQ(voltage->quality, core::Quality::Good()) << "a device death must not touch node metrics";

  ASSERT_TRUE(node_.Do("birth"));
  EXPECT_TRUE(WaitUntil([&] {
    auto r = Reported("acme/north/hall/filler", "speed");
    return r && r->quality == core::Quality::Good();
  }));
  // The connection drops: the broker publishes the will (NDEATH with the session's bdSeq).
  ASSERT_TRUE(node_.Do("drop"));
  EXPECT_TRUE(WaitUntil([&] {
    auto r = Reported("acme/north/hall/edge", "voltage");
    auto s = Reported("acme/north/hall/filler", "speed");
    return r && s && r->quality == core::Quality::BadNoCommunication() &&
           s->quality == core::Quality::BadNoCommunication();
  })) << "NDEATH did not make the node's and its devices' tags stale";
}

TEST_F(SparkplugServeTest, DesiredValueGoesDownAsDcmdAndIsAuditedOnceReportedBack) {
  StartNode();
  ASSERT_TRUE(node_.Do("birth"));
  ASSERT_TRUE(WaitValue("setpoint", core::Value(72.0)));
  auto filler = rt_->assets()->FindAsset("acme/north/hall/filler");
  ASSERT_TRUE(filler.ok());
  ASSERT_TRUE(rt_->twins()->SetDesired("olga", filler->id, {{"setpoint", core::Value(65.5)}}).ok());
  auto dcmd = node_.ExpectEvent("dcmd");
  ASSERT_FALSE(dcmd.is_null()) << "no DCMD";
  EXPECT_EQ(dcmd["device"], "filler");
  ASSERT_EQ(dcmd["metrics"].size(), 1u);
  EXPECT_EQ(dcmd["metrics"][0]["name"], "Setpoint");
  EXPECT_EQ(dcmd["metrics"][0]["type"], "Double");
  EXPECT_EQ(dcmd["metrics"][0]["value"], 65.5);
  EXPECT_TRUE(WaitValue("setpoint", core::Value(65.5)));
  std::vector<auth::AuditEntry> writes;
  ASSERT_TRUE(WaitUntil([&] {
    auto entries = rt_->audit()->Query(auth::AuditQuery{});
    writes.clear();
    if (entries.ok()) {
      for (auto& e : *entries) {
        if (e.action == "setpoint.write") writes.push_back(e);
      }
    }
    return !writes.empty();
  }));
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].actor, "olga");
  EXPECT_EQ(writes[0].target, "acme/north/hall/filler/setpoint");
  EXPECT_EQ(writes[0].new_value, "65.5");
  EXPECT_EQ(writes[0].result, "ok");
}

TEST_F(SparkplugServeTest, ClientsMayNotSendCommandsAndViewersMayNotPublishData) {
  // A viewer's births are refused: nothing is stored.
  StartNode("vic", "viewer-pass");
  ASSERT_TRUE(node_.Do("birth"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(Latest("acme/north/hall/filler", "fill_volume").has_value());
  node_.Stop();
  // mosquitto_pub as an operator: a DCMD from a client is refused (only Shopfloor commands).
  auto run = testing::Sh(fmt::format(
      "mosquitto_pub -h 127.0.0.1 -p {} -u olga -P olga-pass -V mqttv5 -q 1 -t spBv1.0/bottling/DCMD/edge1/filler "
      "-m x 2>&1; echo rc=$?",
      rt_->mqtt_port()));
  EXPECT_NE(run.output.find("rc="), std::string::npos);
  const auto m = rt_->services().metrics;
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(WaitUntil([&] {
    const std::string text = m->RenderPrometheus();
    const std::string name = "\nshopfloor_sparkplug_denied_total ";
    const auto p = text.find(name);
    return p != std::string::npos && std::stod(text.substr(p + name.size())) >= 3;
  })) << m->RenderPrometheus();
}

// The edge node publishes to a plant broker (mosquitto), not to Shopfloor: the source's MQTT
// client reads the group there with the source's credentials, STATE goes to that broker, and
// rebirth requests and DCMDs go back the same way.
TEST_F(SparkplugServeTest, EdgeNodesOnAPlantBrokerAreReadThroughAnMqttClient) {
  if (!shopfloor::testing::MosquittoInstalled()) GTEST_SKIP() << "mosquitto is not installed (run scripts/setup)";
  const std::string broker_dir = (std::filesystem::temp_directory_path() / fmt::format("sf-sparkplug-broker-{}", ::getpid())).string();
  std::filesystem::remove_all(broker_dir);
  std::filesystem::create_directories(broker_dir);
  shopfloor::testing::MosquittoPeer broker(broker_dir, {false, "plant", "plant-pass"});
  ASSERT_TRUE(broker.Start());
  ::setenv("SF_TEST_SPARKPLUG_PASSWORD", "plant-pass", 1);
  rt_.reset();
  port_ = testing::FreePort();
  ASSERT_NO_FATAL_FAILURE(
      Open(fmt::format("mqtt://127.0.0.1:{}", broker.port()), ", username: plant, password_env: SF_TEST_SPARKPLUG_PASSWORD"));
  ASSERT_TRUE(WaitUntil([&] {
    auto sources = rt_->services().sources();
    return !sources.empty() && sources[0].state != "connecting" && sources[0].state != "backoff";
  })) << rt_->services().sources()[0].last_error;

  StartNode("plant", "plant-pass", broker.port());
  auto state = node_.ExpectEvent("state");
  ASSERT_FALSE(state.is_null()) << "no retained STATE on the plant broker";
  EXPECT_EQ(state["online"], true);
  ASSERT_TRUE(node_.Do("birth"));
  EXPECT_TRUE(WaitValue("fill_volume", core::Value(500.25)));
  EXPECT_TRUE(WaitValue("recipe", core::Value("cola-330")));
  ASSERT_TRUE(node_.Do("gap"));
  ASSERT_TRUE(node_.Do("data FillVolume 410"));
  EXPECT_FALSE(node_.ExpectEvent("rebirth").is_null()) << "the rebirth request did not reach the node";
  EXPECT_TRUE(WaitValue("fill_volume", core::Value(410.0)));

  auto filler = rt_->assets()->FindAsset("acme/north/hall/filler");
  ASSERT_TRUE(filler.ok());
  ASSERT_TRUE(rt_->twins()->SetDesired("olga", filler->id, {{"setpoint", core::Value(61.0)}}).ok());
  auto dcmd = node_.ExpectEvent("dcmd");
  ASSERT_FALSE(dcmd.is_null()) << "no DCMD through the plant broker";
  EXPECT_EQ(dcmd["metrics"][0]["value"], 61.0);
  EXPECT_TRUE(WaitValue("setpoint", core::Value(61.0)));

  ASSERT_TRUE(node_.Do("drop"));  // mosquitto publishes the node's will (NDEATH)
  EXPECT_TRUE(WaitUntil([&] {
    auto r = Reported("acme/north/hall/filler", "speed");
    return r && r->quality == core::Quality::BadNoCommunication();
  }));
  auto sources = rt_->services().sources();
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].endpoint, fmt::format("mqtt://127.0.0.1:{}", broker.port()));
  node_.Stop();
  rt_.reset();
  std::filesystem::remove_all(broker_dir);
}

TEST_F(SparkplugServeTest, APlantBrokerPasswordVariableThatIsUnsetIsAnError) {
  rt_.reset();
  port_ = testing::FreePort();
  ::unsetenv("SF_TEST_SPARKPLUG_UNSET");
  ASSERT_NO_FATAL_FAILURE(Open(fmt::format("mqtt://127.0.0.1:{}", testing::FreePort()), ", username: plant, password_env: SF_TEST_SPARKPLUG_UNSET"));
  auto sources = rt_->services().sources();
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].state, "error");
  EXPECT_NE(sources[0].last_error.find("SF_TEST_SPARKPLUG_UNSET"), std::string::npos) << sources[0].last_error;
}

}  // namespace
}  // namespace shopfloor::app
