// `serve --mqtt-tls`: the Runtime's broker with a TLS listener beside the plain one, the same
// users, ACLs and telemetry. Without certificate files a self-signed certificate is made under
// <data>/pki/mqtt/ (key mode 0600) and kept across restarts; mosquitto_pub --cafile with it
// publishes QoS 1 telemetry that is stored before the PUBACK and routed to a plain
// subscriber; the metrics count TLS connections and failed handshakes. The CLI refuses
// inconsistent TLS flags.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "../connect/mqtt_test_client.h"
#include "app/runtime.h"
#include "app_test_util.h"

namespace shopfloor::app {
namespace {

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
)";

std::string Shell(const std::string& command, int* status) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int rc = ::pclose(pipe);
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

bool MosquittoInstalled() {
  return std::system("(command -v mosquitto_pub && command -v mosquitto_sub) >/dev/null 2>&1") == 0;
}

class MqttTlsServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    dir_ = std::filesystem::temp_directory_path() / fmt::format("sf-mqtt-tls-serve-{}", ::getpid());
    std::filesystem::remove_all(dir_);
    Open();
    auto* users = rt_->users();
    ASSERT_TRUE(users->CreateUser("test", "olga", "operator-pass", auth::Role::kOperator, {"north"}).ok());
    ASSERT_TRUE(users->CreateUser("test", "vic", "viewer-pass", auth::Role::kViewer, {}).ok());
    auto token = users->CreateToken("test", "olga", "line-gateway");
    ASSERT_TRUE(token.ok());
    olga_token_ = token->secret;
  }
  void Open() {
    std::vector<core::Status> problems;
    auto config = model::ParsePlantConfig(kPlant, "plant.yaml", &problems);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    RuntimeOptions ro;
    ro.config = std::move(config).value();
    ro.config_text = kPlant;
    ro.data_dir = (dir_ / "data").string();
    ro.durability = "always";
    ro.auth.fast_hash_for_tests = true;
    ro.mqtt = std::make_pair(std::string("127.0.0.1"), uint16_t{0});
    ro.mqtt_tls = std::make_pair(std::string("127.0.0.1"), uint16_t{0});
    auto rt = Runtime::Open(std::move(ro), core::Clock::System());
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    rt_ = std::move(rt).value();
    ASSERT_TRUE(rt_->StartMqtt().ok());
    ASSERT_NE(rt_->mqtt_port(), 0);
    ASSERT_NE(rt_->mqtt_tls_port(), 0);
  }
  void TearDown() override {
    rt_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string Tls(const std::string& user, const std::string& secret) const {
    return fmt::format("-h localhost -p {} --cafile {} -u {} -P '{}'", rt_->mqtt_tls_port(), rt_->mqtt_tls_cert_file(),
                       user, secret);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Runtime> rt_;
  std::string olga_token_;
};

TEST_F(MqttTlsServeTest, ASelfSignedCertificateIsMadeUnderTheDataDirectoryAndKept) {
  const std::filesystem::path pki = dir_ / "data" / "pki" / "mqtt";
  EXPECT_EQ(rt_->mqtt_tls_cert_file(), (pki / "server.crt").string());
  struct stat st {};
  ASSERT_EQ(::stat((pki / "server.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string fingerprint = rt_->mqtt_tls_fingerprint();
  EXPECT_EQ(fingerprint.size(), 95u) << fingerprint;
  int status = 0;
  const std::string out = Shell("openssl x509 -noout -fingerprint -sha256 -in " + rt_->mqtt_tls_cert_file(), &status);
  if (status == 0) {
    EXPECT_NE(out.find(fingerprint), std::string::npos) << out;
  }
  rt_.reset();
  Open();  // a restart keeps the certificate clients trust
  EXPECT_EQ(rt_->mqtt_tls_fingerprint(), fingerprint);
}

TEST_F(MqttTlsServeTest, MosquittoPublishesStoredTelemetryOverTls) {
  if (!MosquittoInstalled()) GTEST_SKIP() << "mosquitto-clients is not installed (scripts/setup installs it)";
  // A plain-listener viewer watches while the gateway publishes over TLS.
  const std::string sub = fmt::format(
      "timeout 15 mosquitto_sub -h 127.0.0.1 -p {} -u vic -P viewer-pass -V mqttv5 -q 1 -t 'acme/#' -C 1 -W 10 -v",
      rt_->mqtt_port());
  FILE* watcher = ::popen(sub.c_str(), "r");
  ASSERT_NE(watcher, nullptr);
  ASSERT_TRUE(testing::WaitUntil([&] { return rt_->services().metrics->RenderPrometheus().find(
                                                  "shopfloor_mqtt_connections 1") != std::string::npos; }));
  ::usleep(200'000);  // its SUBSCRIBE follows the CONNECT
  int status = 0;
  std::string out = Shell("timeout 10 mosquitto_pub " + Tls("olga", olga_token_) +
                              " -V mqttv5 -q 1 -t acme/north/hall/m1/temp -m 21.5 2>&1",
                          &status);
  ASSERT_EQ(status, 0) << out;
  // The PUBACK came after the write: the value is in storage now.
  auto info = rt_->storage()->FindSeries("acme/north/hall/m1/temp");
  ASSERT_TRUE(info.ok());
  auto latest = rt_->storage()->Latest(std::span<const core::SeriesId>(&info->id, 1)).at(0);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->value, core::Value(21.5));
  std::string seen;
  char line[512];
  while (std::fgets(line, sizeof line, watcher) != nullptr) seen += line;
  ::pclose(watcher);
  EXPECT_EQ(seen, "acme/north/hall/m1/temp 21.5\n");

  // The same users and ACLs: a wrong password and a viewer's publish are refused over TLS too.
  out = Shell("timeout 10 mosquitto_pub " + Tls("olga", "wrong-pass") + " -q 1 -t acme/north/hall/m1/temp -m 1 2>&1",
              &status);
  EXPECT_NE(status, 0) << out;
  // A client trusting only other CAs aborts the handshake: counted.
  const std::string other_ca = (dir_ / "other-ca.pem").string();
  out = Shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -out " +
                  other_ca + " -days 2 -subj /CN=other-ca 2>&1",
              &status);
  ASSERT_EQ(status, 0) << out;
  out = Shell(fmt::format("timeout 10 mosquitto_pub -h localhost -p {} --cafile {} -q 1 -t x -m 1 2>&1",
                          rt_->mqtt_tls_port(), other_ca),
              &status);
  EXPECT_NE(status, 0) << out;
  ASSERT_TRUE(testing::WaitUntil([&] {
    return rt_->services().metrics->RenderPrometheus().find("shopfloor_mqtt_tls_handshake_failures_total 1") !=
           std::string::npos;
  })) << rt_->services().metrics->RenderPrometheus();
  const std::string metrics = rt_->services().metrics->RenderPrometheus();
  EXPECT_NE(metrics.find("shopfloor_mqtt_tls_connections_accepted_total 3"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("shopfloor_mqtt_auth_failures_total 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("shopfloor_mqtt_telemetry_samples_total 1"), std::string::npos) << metrics;
}

TEST(MqttTlsServeCli, InconsistentTlsFlagsAreRefused) {
  const std::string data = std::filesystem::temp_directory_path() / fmt::format("sf-mqtt-tls-cli-{}", ::getpid());
  auto run = testing::Shopfloor("serve --data " + data + " --mqtt-tls-key /etc/hostname");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("need --mqtt-tls"), std::string::npos) << run.output;
  run = testing::Shopfloor("serve --data " + data + " --mqtt-tls 127.0.0.1:0 --mqtt-tls-cert /etc/hostname");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--mqtt-tls-cert and --mqtt-tls-key go together"), std::string::npos) << run.output;
  run = testing::Shopfloor("serve --data " + data + " --mqtt-tls nohost");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--mqtt-tls"), std::string::npos) << run.output;
  std::filesystem::remove_all(data);
}

}  // namespace
}  // namespace shopfloor::app
