// `serve` with a `protocol: mqtt` source: a bridge to an external mosquitto broker
// (tests/connect/mosquitto_peer.h). Bridged telemetry is renamed from remote_prefix to
// local_prefix, stored, and routed to the local broker's subscribers; a path the model lacks
// is refused (the source may not provision) and shown; an unset password variable is an
// error naming it; messages published while Shopfloor was down are stored after it starts
// again (persistent session); and the real binary reports the source in /api/v1/sources.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "../connect/mosquitto_peer.h"
#include "../connect/mqtt_test_client.h"
#include "app/runtime.h"
#include "serve_harness.h"

namespace shopfloor::app {
namespace {

using ::testing::HasSubstr;
using connect::mqtt::Reason;
using connect::mqtt::testing::TestClient;

std::string PlantYaml(uint16_t broker_port) {
  return fmt::format(R"(version: 1
enterprise:
  name: acme
  sites:
    - name: north
      areas:
        - name: hall
          machines:
            - name: m1
              tags:
                - {{name: temp, type: double, unit: degC}}
sources:
  - name: plant
    protocol: mqtt
    endpoint: mqtt://127.0.0.1:{}
    options: {{client_id: sf-e2e, remote_prefix: factory, local_prefix: acme/north}}
  - name: locked
    protocol: mqtt
    endpoint: mqtt://127.0.0.1:{}
    options: {{username: bridge, password_env: SF_TEST_MQTT_PASSWORD_UNSET}}
)",
                     broker_port, broker_port);
}

bool WaitUntil(const std::function<bool()>& done, int timeout_ms = 10'000) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

bool Pub(uint16_t port, const std::string& topic, const std::string& payload) {
  std::string cmd = fmt::format("mosquitto_pub -h 127.0.0.1 -p {} -q 1 -t '{}' -m '{}'", port, topic, payload);
  return std::system(cmd.c_str()) == 0;
}

class MqttBridgeServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!shopfloor::testing::MosquittoInstalled() || std::system("command -v mosquitto_pub >/dev/null") != 0) {
      GTEST_SKIP() << "mosquitto and mosquitto-clients are not installed (scripts/setup installs them)";
    }
    spdlog::set_level(spdlog::level::warn);
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("sf-bridge-serve-{}-{}", ::getpid(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "broker");
    peer_ = std::make_unique<shopfloor::testing::MosquittoPeer>((dir_ / "broker").string(),
                                                                shopfloor::testing::MosquittoPeer::Options{});
    ASSERT_TRUE(peer_->Start());
  }
  void TearDown() override {
    rt_.reset();
    peer_.reset();
    std::filesystem::remove_all(dir_);
  }

  void OpenRuntime() {
    std::vector<core::Status> problems;
    const std::string yaml = PlantYaml(peer_->port());
    auto config = model::ParsePlantConfig(yaml, "plant.yaml", &problems);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    RuntimeOptions ro;
    ro.config = std::move(config).value();
    ro.config_text = yaml;
    ro.data_dir = (dir_ / "data").string();
    ro.durability = "always";
    ro.auth.fast_hash_for_tests = true;
    ro.mqtt = std::make_pair(std::string("127.0.0.1"), uint16_t{0});
    auto rt = Runtime::Open(std::move(ro), core::Clock::System());
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    rt_ = std::move(rt).value();
    rt_->StartSources();  // the order of Runtime::Start: sources, then the local broker
    ASSERT_TRUE(rt_->StartMqtt().ok());
  }

  server::SourceStatus Source(const std::string& name) {
    for (const server::SourceStatus& s : rt_->services().sources()) {
      if (s.name == name) return s;
    }
    ADD_FAILURE() << "no source " << name;
    return {};
  }

  std::vector<double> Values(const std::string& key) {
    std::vector<double> out;
    auto info = rt_->storage()->FindSeries(key);
    if (!info.ok()) return out;
    auto it = rt_->storage()->ReadRaw(info->id, 0, std::numeric_limits<int64_t>::max());
    if (!it.ok()) return out;
    core::Sample s;
    while ((*it)->Next(&s)) out.push_back(s.value.as_double());
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<shopfloor::testing::MosquittoPeer> peer_;
  std::unique_ptr<Runtime> rt_;
};

TEST_F(MqttBridgeServeTest, BridgedTelemetryIsStoredAndReachesLocalSubscribers) {
  OpenRuntime();
  ASSERT_TRUE(WaitUntil([&] { return Source("plant").state == "connected"; })) << Source("plant").last_error;
  ASSERT_TRUE(rt_->users()->CreateUser("test", "erin", "engineer-pass", auth::Role::kEngineer, {}).ok());
  TestClient local(rt_->mqtt_port());
  connect::mqtt::Connect login;
  login.protocol_level = connect::mqtt::kMqtt5;
  login.client_id = "local-sub";
  login.keep_alive = 60;
  login.username = "erin";
  login.password = "engineer-pass";
  local.Send(login);
  ASSERT_EQ(local.Expect<connect::mqtt::Connack>().reason, Reason::kSuccess);
  local.SubscribeTo("acme/#", 0);

  ASSERT_TRUE(Pub(peer_->port(), "factory/hall/m1/temp", "21.5"));
  ASSERT_TRUE(WaitUntil([&] { return Values("acme/north/hall/m1/temp").size() == 1; }));
  EXPECT_EQ(Values("acme/north/hall/m1/temp"), std::vector<double>{21.5});
  connect::mqtt::Publish routed = local.Expect<connect::mqtt::Publish>();
  EXPECT_EQ(routed.topic, "acme/north/hall/m1/temp");
  EXPECT_EQ(routed.payload, "21.5");
  auto m1 = rt_->assets()->FindAsset("acme/north/hall/m1");
  ASSERT_TRUE(m1.ok());
  auto twin = rt_->twins()->Get(m1->id);
  ASSERT_TRUE(twin.ok());
  EXPECT_EQ(twin->reported.at("temp").value, core::Value(21.5));

  // A tag the model lacks: the source may not provision, so it is refused and shown.
  ASSERT_TRUE(Pub(peer_->port(), "factory/hall/m1/pressure", "3"));
  ASSERT_TRUE(WaitUntil([&] { return !Source("plant").last_error.empty(); }));
  server::SourceStatus plant = Source("plant");
  EXPECT_EQ(plant.state, "connected");
  EXPECT_EQ(plant.samples, 1u);
  EXPECT_EQ(plant.connects, 1u);
  EXPECT_THAT(plant.last_error, HasSubstr("acme/north/hall/m1/pressure"));
  EXPECT_THAT(plant.last_error, HasSubstr("may not create assets or tags"));
  EXPECT_FALSE(rt_->storage()->FindSeries("acme/north/hall/m1/pressure").ok());

  server::SourceStatus locked = Source("locked");
  EXPECT_EQ(locked.state, "error");
  EXPECT_THAT(locked.last_error, HasSubstr("SF_TEST_MQTT_PASSWORD_UNSET"));

  const std::string metrics = rt_->services().metrics->RenderPrometheus();
  EXPECT_THAT(metrics, HasSubstr("shopfloor_source_up{source=\"plant\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("shopfloor_source_up{source=\"locked\"} 0"));
  EXPECT_THAT(metrics, HasSubstr("shopfloor_source_samples_total{source=\"plant\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("shopfloor_source_messages_refused_total{source=\"plant\"} 1"));
}

TEST_F(MqttBridgeServeTest, MessagesPublishedWhileShopfloorWasDownAreStoredAfterItStarts) {
  OpenRuntime();
  ASSERT_TRUE(WaitUntil([&] { return Source("plant").state == "connected"; })) << Source("plant").last_error;
  rt_.reset();  // Shopfloor stops; the external broker keeps its session
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(Pub(peer_->port(), "factory/hall/m1/temp", fmt::format("{{\"value\": {}, \"ts\": {}}}", i, 1700000000000 + i)));
  }
  OpenRuntime();
  ASSERT_TRUE(WaitUntil([&] { return Values("acme/north/hall/m1/temp").size() == 3; }))
      << Values("acme/north/hall/m1/temp").size();
  EXPECT_EQ(Values("acme/north/hall/m1/temp"), (std::vector<double>{1, 2, 3}));
}

TEST_F(MqttBridgeServeTest, ServeReportsTheBridgeInTheApi) {
  using app::testing::HttpCall;
  const std::string config = (dir_ / "plant.yaml").string();
  std::ofstream(config) << PlantYaml(peer_->port());
  const std::string data = (dir_ / "served").string();
  app::testing::ShRun created = app::testing::Sh(
      "printf 'admin-password-1\\n' | $SF admin create-user --data " + data + " --name admin --role admin 2>&1");
  ASSERT_EQ(created.exit_code, 0) << created.output;
  app::testing::ServeProcess server;
  std::string error;
  ASSERT_TRUE(server.Start(config, data, (dir_ / "serve.log").string(), &error)) << error;
  nlohmann::json login = {{"name", "admin"}, {"password", "admin-password-1"}};
  auto answer = HttpCall(server.port(), "POST", "/api/v1/auth/login", login.dump(), {{"Content-Type", "application/json"}});
  ASSERT_EQ(answer.status, 200) << answer.body;
  const auto auth = app::testing::Bearer(nlohmann::json::parse(answer.body)["token"].get<std::string>());
  auto plant = [&] {
    auto r = HttpCall(server.port(), "GET", "/api/v1/sources", {}, auth);
    if (r.status != 200) return nlohmann::json{{"status", r.status}, {"body", r.body}};
    const nlohmann::json body = nlohmann::json::parse(r.body);
    for (const auto& s : body["sources"]) {
      if (s["name"] == "plant") return s;
    }
    return nlohmann::json();
  };
  ASSERT_TRUE(WaitUntil([&] { return plant()["state"] == "connected"; })) << plant().dump();
  ASSERT_TRUE(Pub(peer_->port(), "factory/hall/m1/temp", "19.5"));
  ASSERT_TRUE(WaitUntil([&] { return plant()["samples"] == 1; })) << plant().dump();
  EXPECT_EQ(plant()["protocol"], "mqtt");
  EXPECT_EQ(server.Stop(), 0);
}

TEST(BridgeOptionsFor, EndpointsAndDefaults) {
  model::SourceConfig s;
  s.name = "site";
  s.endpoint = "mqtt://broker.local";
  auto b = BridgeOptionsFor(s, "acme");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->host, "broker.local");
  EXPECT_EQ(b->port, 1883);
  EXPECT_FALSE(b->tls);
  EXPECT_EQ(b->client_id, "shopfloor-site");
  EXPECT_FALSE(b->clean_session);
  ASSERT_EQ(b->topics.size(), 1u);
  EXPECT_EQ(b->topics[0].filter, "acme/#");
  EXPECT_EQ(b->topics[0].qos, 1);
  EXPECT_EQ(b->keep_alive_s, 30);

  s.endpoint = "mqtts://[::1]";
  s.options.remote_prefix = "factory/a";
  s.options.local_prefix = "acme/a";
  s.options.client_id = "mine";
  s.options.qos = 0;
  b = BridgeOptionsFor(s, "acme");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 8883);
  EXPECT_TRUE(b->tls);
  EXPECT_EQ(b->client_id, "mine");
  EXPECT_EQ(b->topics[0].filter, "factory/a/#");
  EXPECT_EQ(b->topics[0].qos, 0);

  s.endpoint = "10.0.0.5:1884";
  s.options.topics = {"x/#", "y/+"};
  b = BridgeOptionsFor(s, "acme");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "10.0.0.5");
  EXPECT_EQ(b->port, 1884);
  ASSERT_EQ(b->topics.size(), 2u);
  EXPECT_EQ(b->topics[1].filter, "y/+");

  s.endpoint = "mqtt://h:0";
  EXPECT_THAT(BridgeOptionsFor(s, "acme").status().message(), HasSubstr("source \"site\": endpoint \"mqtt://h:0\""));
}

}  // namespace
}  // namespace shopfloor::app
