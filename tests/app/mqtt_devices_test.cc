// MQTT devices end to end, with real clients (mosquitto_pub / mosquitto_sub from Debian's
// mosquitto-clients, and paho in 3.1.1: tests/peers/mqtt/paho_device.py) against the
// Runtime's broker and HTTP API: a device added through
// /api/v1/devices publishes under its asset (stored) and is denied elsewhere (PUBACK 0x87,
// counted per reason); it receives a command on "<asset>/$cmd/<tag>" when a desired value
// is set through the API, reports the value back and the audit says "sent" then "ok"; a
// disabled, rotated or removed device is refused. `shopfloor admin devices` manages the
// same store from the command line. Skipped when mosquitto-clients is not installed.
#include <unistd.h>

#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "app/runtime.h"
#include "app_test_util.h"
#include "serve_harness.h"

namespace shopfloor::app {
namespace {

using Json = nlohmann::json;
using testing::Bearer;
using testing::HttpCall;
using testing::WaitUntil;

constexpr const char* kPlant = R"(version: 1
enterprise:
  name: acme
  sites:
    - name: north
      areas:
        - name: hall
          machines:
            - name: m1
              tags:
                - {name: temp, type: double, unit: degC}
                - {name: setpoint, type: double, writable: true}
            - name: m2
              tags:
                - {name: temp, type: double}
)";

std::string Shell(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int rc = ::pclose(pipe);
  if (status != nullptr) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

class MqttDevicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v mosquitto_pub >/dev/null && command -v mosquitto_sub >/dev/null") != 0) {
      GTEST_SKIP() << "mosquitto-clients is not installed (scripts/setup installs it)";
    }
    spdlog::set_level(spdlog::level::warn);
    dir_ = std::filesystem::temp_directory_path() / fmt::format("sf-mqtt-devices-{}", ::getpid());
    std::filesystem::remove_all(dir_);
    std::vector<core::Status> problems;
    auto config = model::ParsePlantConfig(kPlant, "plant.yaml", &problems);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    RuntimeOptions ro;
    ro.config = std::move(config).value();
    ro.config_text = kPlant;
    ro.data_dir = (dir_ / "data").string();
    ro.durability = "always";
    ro.auth.fast_hash_for_tests = true;
    ro.http.port = 0;
    ro.mqtt = std::make_pair(std::string("127.0.0.1"), uint16_t{0});
    auto rt = Runtime::Open(std::move(ro), core::Clock::System());
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    rt_ = std::move(rt).value();
    auth::UserStore* users = rt_->users();
    ASSERT_TRUE(users->CreateUser("test", "ada", "admin-pass", auth::Role::kAdmin, {}).ok());
    ASSERT_TRUE(users->CreateUser("test", "olga", "operator-pass", auth::Role::kOperator, {"north"}).ok());
    admin_ = users->CreateToken("test", "ada", "api")->secret;
    operator_ = users->CreateToken("test", "olga", "api")->secret;
    ASSERT_TRUE(rt_->StartHttp().ok());
    ASSERT_TRUE(rt_->StartMqtt().ok());
  }

  void TearDown() override {
    rt_.reset();
    std::filesystem::remove_all(dir_);
  }

  testing::HttpAnswer Api(const std::string& method, const std::string& target, const std::string& token,
                          std::string body = {}) {
    auto headers = Bearer(token);
    headers["Content-Type"] = "application/json";
    return HttpCall(rt_->http_port(), method, target, std::move(body), headers);
  }

  // Adds a device through the API and returns its secret.
  std::string AddDevice(const std::string& name, const std::string& asset) {
    auto r = Api("POST", "/api/v1/devices", admin_, Json{{"name", name}, {"asset", asset}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    Json j = Json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("secret") ? j["secret"].get<std::string>() : std::string();
  }

  std::string Mqtt(const std::string& user, const std::string& secret) const {
    return fmt::format("-h 127.0.0.1 -p {} -V 5 -u {} -P '{}'", rt_->mqtt_port(), user, secret);
  }

  // mosquitto_pub at QoS 1 with protocol traces (-d shows the PUBACK's reason code).
  std::string Pub(const std::string& user, const std::string& secret, const std::string& topic,
                  const std::string& payload, int* status = nullptr) {
    return Shell(fmt::format("timeout 15 mosquitto_pub -d {} -q 1 -t '{}' -m '{}'", Mqtt(user, secret), topic, payload),
                 status);
  }

  std::optional<core::Value> Latest(const std::string& key) {
    auto info = rt_->storage()->FindSeries(key);
    if (!info.ok()) return std::nullopt;
    auto latest = rt_->storage()->Latest(std::span<const core::SeriesId>(&info->id, 1)).at(0);
    if (!latest) return std::nullopt;
    return latest->value;
  }

  // The results of the audit entries "setpoint.write" on `target`, oldest first.
  std::vector<std::string> SetpointResults(const std::string& target) {
    auto r = Api("GET", "/api/v1/audit?action=setpoint.write&target=" + testing::UrlEncode(target), admin_);
    std::vector<std::string> out;
    Json j = Json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("entries")) return out;
    for (const Json& e : j["entries"]) {
      if (e["actor"] != "olga" || e["target"] != target) continue;
      out.push_back(e["result"].get<std::string>());
    }
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Runtime> rt_;
  std::string admin_, operator_;
};

TEST_F(MqttDevicesTest, ADevicePublishesUnderItsAssetOnlyAndDenialsAreCounted) {
  const std::string secret = AddDevice("m1-plc", "acme/north/hall/m1");
  ASSERT_FALSE(secret.empty());

  int status = -1;
  std::string out = Pub("m1-plc", secret, "acme/north/hall/m1/temp", "21.5", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("received PUBACK (Mid: 1, RC:0)"), std::string::npos) << out;
  EXPECT_EQ(Latest("acme/north/hall/m1/temp"), core::Value(21.5));

  // Outside its asset: Not authorized (0x87 = 135), nothing stored.
  out = Pub("m1-plc", secret, "acme/north/hall/m2/temp", "99");
  EXPECT_NE(out.find("RC:135"), std::string::npos) << out;
  EXPECT_FALSE(Latest("acme/north/hall/m2/temp").has_value());
  // Its own command topic is not for publishing.
  out = Pub("m1-plc", secret, "acme/north/hall/m1/$cmd/setpoint", "1");
  EXPECT_NE(out.find("RC:135"), std::string::npos) << out;
  // It may subscribe only to its command topics.
  out = Shell(fmt::format("timeout 15 mosquitto_sub -d {} -t 'acme/#' -C 1 -W 2", Mqtt("m1-plc", secret)));
  EXPECT_NE(out.find("Subscribed (mid: 1): 135"), std::string::npos) << out;
  out = Shell(fmt::format("timeout 15 mosquitto_sub -d {} -t 'acme/north/hall/m1/temp' -C 1 -W 2", Mqtt("m1-plc", secret)));
  EXPECT_NE(out.find("Subscribed (mid: 1): 135"), std::string::npos) << out;

  const std::string metrics = rt_->services().metrics->RenderPrometheus();
  EXPECT_NE(metrics.find(R"(shopfloor_mqtt_device_denied_total{reason="outside_asset_path"} 2)"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(R"(shopfloor_mqtt_device_denied_total{reason="command_topic"} 1)"), std::string::npos);
  EXPECT_NE(metrics.find(R"(shopfloor_mqtt_device_denied_total{reason="not_command_topic"} 1)"), std::string::npos);
  EXPECT_NE(metrics.find("shopfloor_mqtt_denied_total 4"), std::string::npos);
}

TEST_F(MqttDevicesTest, ADesiredValueGoesDownAsACommandAndTheAuditSaysOkOnceReported) {
  const std::string secret = AddDevice("m1-plc", "acme/north/hall/m1");
  ASSERT_FALSE(secret.empty());
  // No device listens yet: the command is audited as "no subscriber".
  auto r = Api("PATCH", "/api/v1/assets/" + testing::UrlEncode("acme/north/hall/m1") + "/twin/desired", operator_,
               R"({"setpoint": 5.0})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(WaitUntil([&] { return SetpointResults("acme/north/hall/m1/setpoint").size() == 1; }));
  EXPECT_EQ(SetpointResults("acme/north/hall/m1/setpoint"), std::vector<std::string>{"no subscriber"});

  // The device subscribes to its command topics; once SUBACKed, the operator sets 6.5.
  const std::string command = fmt::format("timeout 20 stdbuf -oL mosquitto_sub -d {} -q 1 -t '{}' -C 1 -W 15 -v",
                                          Mqtt("m1-plc", secret), "acme/north/hall/m1/$cmd/+");
  FILE* sub = ::popen(command.c_str(), "r");
  ASSERT_NE(sub, nullptr);
  std::string received;
  bool requested = false;
  char line[4096];
  while (std::fgets(line, sizeof line, sub) != nullptr) {
    const std::string l(line);
    if (!requested && l.find("SUBACK") != std::string::npos) {
      r = Api("PATCH", "/api/v1/assets/" + testing::UrlEncode("acme/north/hall/m1") + "/twin/desired", operator_,
              R"({"setpoint": 6.5})");
      EXPECT_EQ(r.status, 200) << r.body;
      requested = true;
    } else if (l.rfind("acme/north/hall/m1/$cmd/setpoint ", 0) == 0) {
      received = l.substr(l.find(' ') + 1);
    }
  }
  ::pclose(sub);
  ASSERT_TRUE(requested) << "mosquitto_sub never got its SUBACK";
  Json cmd = Json::parse(received, nullptr, false);
  ASSERT_TRUE(cmd.is_object()) << "no command received: " << received;
  EXPECT_EQ(cmd["value"], 6.5);
  EXPECT_EQ(cmd["by"], "olga");
  EXPECT_TRUE(cmd["id"].is_string() && !cmd["id"].get<std::string>().empty()) << received;
  EXPECT_TRUE(cmd["ts"].is_number_integer()) << received;
  EXPECT_TRUE(WaitUntil([&] { return SetpointResults("acme/north/hall/m1/setpoint").size() == 2; }));
  EXPECT_EQ(SetpointResults("acme/north/hall/m1/setpoint").back(), "sent");

  // The device applies it and reports the value back: the command's outcome is "ok".
  int status = -1;
  std::string out = Pub("m1-plc", secret, "acme/north/hall/m1/setpoint", "6.5", &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_TRUE(WaitUntil([&] { return SetpointResults("acme/north/hall/m1/setpoint").size() == 3; }));
  EXPECT_EQ(SetpointResults("acme/north/hall/m1/setpoint"),
            (std::vector<std::string>{"no subscriber", "sent", "ok"}));
  // The same outcomes as events, for the asset's event log.
  std::vector<std::string> kinds;
  ASSERT_TRUE(WaitUntil([&] {
    ingest::EventQuery q;
    q.asset = "acme/north/hall/m1";
    q.kind = "twin.write_";
    auto events = rt_->events()->Query(q);
    kinds.clear();
    if (events.ok()) {
      for (const auto& e : *events) kinds.push_back(e.event.kind);
    }
    return kinds.size() == 3;
  }));
  EXPECT_EQ(kinds, (std::vector<std::string>{"twin.write_failed", "twin.write_sent", "twin.write_ok"}));
  auto stats = rt_->mqtt_commands()->stats();
  EXPECT_EQ(stats.sent, 1u);
  EXPECT_EQ(stats.ok, 1u);
  EXPECT_EQ(stats.no_subscriber, 1u);
}

// The same round trip with paho in MQTT 3.1.1 (tests/peers/mqtt/paho_device.py).
TEST_F(MqttDevicesTest, APahoDeviceIn311AppliesACommand) {
  if (std::system("/usr/bin/python3 -c 'import paho.mqtt.client' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-paho-mqtt is not installed (scripts/setup installs it)";
  }
  const std::string secret = AddDevice("m1-plc", "acme/north/hall/m1");
  // 3.1.1 has no negative PUBACK: a denied publish is acknowledged and dropped.
  int status = -1;
  std::string out = Shell(fmt::format("timeout 15 mosquitto_pub -h 127.0.0.1 -p {} -V 311 -u m1-plc -P '{}' -q 1 "
                                      "-t acme/north/hall/m2/temp -m 5",
                                      rt_->mqtt_port(), secret),
                          &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_FALSE(Latest("acme/north/hall/m2/temp").has_value());

  const std::string command = fmt::format("timeout 30 /usr/bin/python3 {}/tests/peers/mqtt/paho_device.py {} m1-plc '{}' "
                                          "acme/north/hall/m1 2>&1",
                                          SHOPFLOOR_SOURCE_DIR, rt_->mqtt_port(), secret);
  FILE* device = ::popen(command.c_str(), "r");
  ASSERT_NE(device, nullptr);
  std::string output;
  char line[4096];
  while (std::fgets(line, sizeof line, device) != nullptr) {
    const std::string l(line);
    output += l;
    if (l.rfind("READY ", 0) == 0) {
      EXPECT_EQ(l, "READY 1\n");
      auto r = Api("PATCH", "/api/v1/assets/" + testing::UrlEncode("acme/north/hall/m1") + "/twin/desired",
                   operator_, R"({"setpoint": 8.25})");
      EXPECT_EQ(r.status, 200) << r.body;
    }
  }
  const int rc = ::pclose(device);
  ASSERT_EQ(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, 0) << output;
  EXPECT_NE(output.find("APPLIED setpoint 8.25 "), std::string::npos) << output;
  EXPECT_NE(output.find(" olga\n"), std::string::npos) << output;
  EXPECT_TRUE(WaitUntil([&] { return SetpointResults("acme/north/hall/m1/setpoint").size() == 2; }));
  EXPECT_EQ(SetpointResults("acme/north/hall/m1/setpoint"), (std::vector<std::string>{"sent", "ok"}));
  EXPECT_EQ(Latest("acme/north/hall/m1/setpoint"), core::Value(8.25));
}

TEST_F(MqttDevicesTest, ACommandTheDeviceNeverAppliesTimesOut) {
  const std::string secret = AddDevice("m1-plc", "acme/north/hall/m1");
  // The device subscribes (in the background) and never answers.
  const std::string sub = fmt::format("timeout 15 mosquitto_sub {} -q 1 -t 'acme/north/hall/m1/$cmd/+' -C 1 -W 14 "
                                      ">/dev/null 2>&1 &",
                                      Mqtt("m1-plc", secret));
  ASSERT_EQ(std::system(sub.c_str()), 0);
  ASSERT_TRUE(WaitUntil([&] {
    return rt_->services().metrics->RenderPrometheus().find("shopfloor_mqtt_connections 1") != std::string::npos;
  }));
  ::usleep(300'000);  // the SUBSCRIBE follows the CONNACK
  auto r = Api("PATCH", "/api/v1/assets/" + testing::UrlEncode("acme/north/hall/m1") + "/twin/desired", operator_,
               R"({"setpoint": 7.5})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(WaitUntil([&] { return SetpointResults("acme/north/hall/m1/setpoint").size() == 2; }, 13000));
  EXPECT_EQ(SetpointResults("acme/north/hall/m1/setpoint"), (std::vector<std::string>{"sent", "timeout"}));
}

TEST_F(MqttDevicesTest, DisabledRotatedAndRemovedDevicesAreRefused) {
  const std::string secret = AddDevice("m1-plc", "acme/north/hall/m1");
  int status = -1;
  Pub("m1-plc", secret, "acme/north/hall/m1/temp", "1", &status);
  EXPECT_EQ(status, 0);
  // A name clash with a user is refused.
  auto clash = Api("POST", "/api/v1/devices", admin_, R"({"name": "olga", "asset": "acme/north/hall/m1"})");
  EXPECT_EQ(clash.status, 409) << clash.body;
  // An operator may not manage devices.
  EXPECT_EQ(Api("GET", "/api/v1/devices", operator_).status, 403);

  auto r = Api("PATCH", "/api/v1/devices/m1-plc", admin_, R"({"enabled": false})");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string out = Pub("m1-plc", secret, "acme/north/hall/m1/temp", "2", &status);
  EXPECT_NE(status, 0) << out;
  EXPECT_NE(out.find("received CONNACK (135)"), std::string::npos) << out;  // Not authorized
  ASSERT_EQ(Api("PATCH", "/api/v1/devices/m1-plc", admin_, R"({"enabled": true})").status, 200);

  r = Api("POST", "/api/v1/devices/m1-plc/rotate", admin_);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string rotated = Json::parse(r.body)["secret"];
  out = Pub("m1-plc", secret, "acme/north/hall/m1/temp", "3", &status);
  EXPECT_NE(status, 0) << out;
  EXPECT_NE(out.find("received CONNACK (134)"), std::string::npos) << out;  // Bad User Name or Password
  Pub("m1-plc", rotated, "acme/north/hall/m1/temp", "4", &status);
  EXPECT_EQ(status, 0);

  ASSERT_EQ(Api("DELETE", "/api/v1/devices/m1-plc", admin_).status, 204);
  out = Pub("m1-plc", rotated, "acme/north/hall/m1/temp", "5", &status);
  EXPECT_NE(status, 0) << out;
  EXPECT_EQ(Latest("acme/north/hall/m1/temp"), core::Value(4.0));

  auto audit = Api("GET", "/api/v1/audit?action=device.", admin_);
  Json entries = Json::parse(audit.body)["entries"];
  std::vector<std::string> actions;
  for (const Json& e : entries) actions.push_back(e["action"].get<std::string>() + ":" + e["result"].get<std::string>());
  ASSERT_EQ(actions.size(), 6u);
  EXPECT_EQ(actions[0], "device.create:ok");
  EXPECT_EQ(actions[1].rfind("device.create:\"olga\" is a user's name", 0), 0u) << actions[1];  // refusals too
  EXPECT_EQ(std::vector<std::string>(actions.begin() + 2, actions.end()),
            (std::vector<std::string>{"device.update:ok", "device.update:ok", "device.rotate:ok", "device.delete:ok"}));
}

TEST(MqttDevicesCliTest, AdminDevicesAddListRotateRemove) {
  testing::TempDir dir;
  auto add = testing::Sh(fmt::format("$SF admin devices add --data {} --name press-1 --asset acme/north/hall/press-1 "
                                      "--may-provision 2>/dev/null", dir.path()));
  ASSERT_EQ(add.exit_code, 0) << add.output;
  EXPECT_EQ(add.output.rfind("sfd_", 0), 0u) << add.output;  // only the secret on stdout
  EXPECT_EQ(add.output.size(), 48u) << add.output;
  auto list = testing::Shopfloor(fmt::format("admin devices list --data {}", dir.path()));
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("press-1"), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("acme/north/hall/press-1"), std::string::npos);
  auto again = testing::Shopfloor(fmt::format("admin devices add --data {} --name press-1 --asset acme/x", dir.path()));
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.output.find("already exists"), std::string::npos) << again.output;
  auto rotate = testing::Sh(fmt::format("$SF admin devices rotate --data {} --name press-1 2>/dev/null", dir.path()));
  ASSERT_EQ(rotate.exit_code, 0);
  EXPECT_EQ(rotate.output.rfind("sfd_", 0), 0u) << rotate.output;
  EXPECT_NE(rotate.output, add.output);
  EXPECT_EQ(testing::Shopfloor(fmt::format("admin devices disable --data {} --name press-1", dir.path())).exit_code, 0);
  EXPECT_NE(testing::Shopfloor(fmt::format("admin devices list --data {}", dir.path())).output.find("disabled"),
            std::string::npos);
  EXPECT_EQ(testing::Shopfloor(fmt::format("admin devices remove --data {} --name press-1", dir.path())).exit_code, 0);
  auto gone = testing::Shopfloor(fmt::format("admin devices remove --data {} --name press-1", dir.path()));
  EXPECT_EQ(gone.exit_code, 2);
  EXPECT_NE(gone.output.find("no device \"press-1\""), std::string::npos) << gone.output;
}

}  // namespace
}  // namespace shopfloor::app
