// The broker against real MQTT clients started on 127.0.0.1: mosquitto_pub / mosquitto_sub
// (Debian mosquitto-clients) in 3.1.1 and 5.0, and Eclipse paho for Python (Debian
// python3-paho-mqtt, run with /usr/bin/python3) for QoS, retained, will, persistent-session
// and keep-alive scenarios (tests/peers/mqtt/paho_scenarios.py). A test skips only when its
// client is not installed.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "connect/mqtt/broker.h"

namespace shopfloor::connect::mqtt {
namespace {

constexpr const char* kPython = "/usr/bin/python3";

bool Installed(const std::string& check) { return std::system(("(" + check + ") >/dev/null 2>&1").c_str()) == 0; }

// Runs a shell command; returns its stdout and sets `*status` to its exit status.
std::string Shell(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int rc = ::pclose(pipe);
  if (status != nullptr) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

class MqttClientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BrokerOptions options;
    options.port = 0;
    broker_ = std::make_unique<Broker>(options);
    ASSERT_TRUE(broker_->Start().ok());
  }
  std::string Addr() const { return "-h 127.0.0.1 -p " + std::to_string(broker_->port()); }

  // Starts mosquitto_sub for `count` messages, waits for its SUBACK, runs `publish`, and
  // returns what the subscriber printed.
  std::string SubscribeThenPublish(const std::string& sub_args, int count, const std::string& publish) {
    // Line-buffered, so the SUBACK line arrives while mosquitto_sub runs.
    const std::string command = "timeout 15 stdbuf -oL mosquitto_sub -d " + Addr() + " " + sub_args + " -C " + std::to_string(count) +
                                " -W 10";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return {};
    std::string output;
    char line[4096];
    bool published = false;
    while (std::fgets(line, sizeof line, pipe) != nullptr) {
      const std::string l(line);
      if (!published && l.find("SUBACK") != std::string::npos) {
        int status = 0;
        Shell(publish, &status);
        EXPECT_EQ(status, 0) << publish;
        published = true;
        continue;
      }
      // -d also prints protocol traces ("Client ... received/sending ..."); keep payloads.
      if (l.rfind("Client ", 0) == 0 || l.rfind("Subscribed", 0) == 0) continue;
      output += l;
    }
    ::pclose(pipe);
    EXPECT_TRUE(published) << "mosquitto_sub never got its SUBACK";
    return output;
  }

  void Paho(const std::string& scenario, const std::string& version) {
    int status = 0;
    const std::string out = Shell(std::string("timeout 60 ") + kPython + " " + SHOPFLOOR_SOURCE_DIR +
                                    "/tests/peers/mqtt/paho_scenarios.py " + std::to_string(broker_->port()) + " " +
                                    scenario + " " + version + " 2>&1",
                                &status);
    EXPECT_EQ(status, 0) << scenario << " v" << version << ": " << out;
    EXPECT_NE(out.find("OK"), std::string::npos) << out;
  }

  std::unique_ptr<Broker> broker_;
};

#define REQUIRE_MOSQUITTO()                                                           \
  if (!Installed("command -v mosquitto_sub && command -v mosquitto_pub"))             \
  GTEST_SKIP() << "mosquitto-clients is not installed (scripts/setup installs it)"
#define REQUIRE_PAHO()                                     \
  if (!Installed(std::string(kPython) + " -c 'import paho.mqtt.client'")) \
  GTEST_SKIP() << "python3-paho-mqtt is not installed for /usr/bin/python3 (scripts/setup installs it)"

TEST_F(MqttClientsTest, MosquittoQos012InBothVersions) {
  REQUIRE_MOSQUITTO();
  for (const std::string version : {"mqttv311", "mqttv5"}) {
    for (int qos = 0; qos <= 2; ++qos) {
      const std::string topic = "mosq/" + version + "/q" + std::to_string(qos);
      const std::string payload = "hello-" + version + "-" + std::to_string(qos);
      const std::string q = " -q " + std::to_string(qos);
      const std::string got = SubscribeThenPublish("-V " + version + " -t " + topic + q + " -v", 1,
                                                   "mosquitto_pub " + Addr() + " -V " + version + q + " -t " + topic +
                                                       " -m " + payload);
      EXPECT_EQ(got, topic + " " + payload + "\n") << version << " QoS " << qos;
    }
  }
  EXPECT_GE(broker_->stats().messages_delivered, 6u);
}

TEST_F(MqttClientsTest, MosquittoWildcardsAndRetained) {
  REQUIRE_MOSQUITTO();
  int status = 0;
  Shell("mosquitto_pub " + Addr() + " -V mqttv5 -q 1 -r -t plant/l1/temp -m 21.5", &status);
  ASSERT_EQ(status, 0);
  // A late subscriber gets the retained message.
  EXPECT_EQ(Shell("timeout 10 mosquitto_sub " + Addr() + " -V mqttv311 -t 'plant/+/temp' -C 1 -W 5 -v"),
            "plant/l1/temp 21.5\n");
  const std::string live = SubscribeThenPublish("-V mqttv5 -t 'plant/#' -t '$SYS/#' -v -R", 1,
                                                "mosquitto_pub " + Addr() + " -t plant/l2/a/b -m deep");
  EXPECT_EQ(live, "plant/l2/a/b deep\n");
  Shell("mosquitto_pub " + Addr() + " -q 1 -r -n -t plant/l1/temp", &status);  // an empty payload clears it
  ASSERT_EQ(status, 0);
  EXPECT_EQ(Shell("timeout 10 mosquitto_sub " + Addr() + " -t 'plant/#' -C 1 -W 1 -v 2>/dev/null", &status), "");
  EXPECT_NE(status, 0);  // timed out without a message
}

TEST_F(MqttClientsTest, PahoQos311) { REQUIRE_PAHO(); Paho("qos", "311"); }
TEST_F(MqttClientsTest, PahoQos5) { REQUIRE_PAHO(); Paho("qos", "5"); }
TEST_F(MqttClientsTest, PahoRetained311) { REQUIRE_PAHO(); Paho("retained", "311"); }
TEST_F(MqttClientsTest, PahoRetained5) { REQUIRE_PAHO(); Paho("retained", "5"); }
TEST_F(MqttClientsTest, PahoWill311) { REQUIRE_PAHO(); Paho("will", "311"); }
TEST_F(MqttClientsTest, PahoWill5) { REQUIRE_PAHO(); Paho("will", "5"); }
TEST_F(MqttClientsTest, PahoPersistentSession311) { REQUIRE_PAHO(); Paho("persistent", "311"); }
TEST_F(MqttClientsTest, PahoPersistentSession5) { REQUIRE_PAHO(); Paho("persistent", "5"); }

TEST_F(MqttClientsTest, PahoKeepAliveTimeoutPublishesTheWill) {
  REQUIRE_PAHO();
  Paho("keepalive", "311");
  Paho("keepalive", "5");
  EXPECT_EQ(broker_->stats().keep_alive_timeouts, 2u);
  EXPECT_GE(broker_->stats().wills_published, 2u);
}

}  // namespace
}  // namespace shopfloor::connect::mqtt
