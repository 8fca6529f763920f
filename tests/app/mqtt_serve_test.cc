// `serve --mqtt`: the Runtime's broker with users and ACLs, and telemetry into series and
// twins. A client needs a user name and the user's password or API token; an operator
// publishes on its own site only, a viewer not at all; unknown tags need an engineer; an
// acknowledged value is in storage and in the twin.
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "../connect/mqtt_test_client.h"
#include "app/runtime.h"

namespace shopfloor::app {
namespace {

using connect::mqtt::Connack;
using connect::mqtt::Connect;
using connect::mqtt::PubResponse;
using connect::mqtt::Reason;
using connect::mqtt::testing::TestClient;

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
    - name: south
      areas:
        - name: hall
          machines:
            - name: m9
              tags:
                - {name: temp, type: double}
)";

class MqttServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    dir_ = std::filesystem::temp_directory_path() / fmt::format("sf-mqtt-serve-{}", ::getpid());
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
    ro.mqtt = std::make_pair(std::string("127.0.0.1"), uint16_t{0});
    auto rt = Runtime::Open(std::move(ro), core::Clock::System());
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    rt_ = std::move(rt).value();
    auto* users = rt_->users();
    ASSERT_TRUE(users->CreateUser("test", "olga", "operator-pass", auth::Role::kOperator, {"north"}).ok());
    ASSERT_TRUE(users->CreateUser("test", "vic", "viewer-pass", auth::Role::kViewer, {}).ok());
    ASSERT_TRUE(users->CreateUser("test", "erin", "engineer-pass", auth::Role::kEngineer, {}).ok());
    auto token = users->CreateToken("test", "olga", "line-gateway");
    ASSERT_TRUE(token.ok());
    olga_token_ = token->secret;
    ASSERT_TRUE(rt_->StartMqtt().ok());
    ASSERT_NE(rt_->mqtt_port(), 0);
  }

  void TearDown() override {
    rt_.reset();
    std::filesystem::remove_all(dir_);
  }

  Connack Login(TestClient& c, const std::string& id, std::optional<std::string> user, std::optional<std::string> pass) {
    Connect connect;
    connect.protocol_level = connect::mqtt::kMqtt5;
    connect.client_id = id;
    connect.keep_alive = 60;
    connect.username = std::move(user);
    connect.password = std::move(pass);
    c.Send(connect);
    return c.Expect<Connack>();
  }

  Reason Publish(TestClient& c, const std::string& topic, const std::string& payload, uint16_t id) {
    c.Send(connect::mqtt::Publish{false, 1, false, topic, id, {}, payload});
    return c.Expect<PubResponse>().reason;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Runtime> rt_;
  std::string olga_token_;
};

TEST_F(MqttServeTest, ClientsLogInWithAPasswordOrAnApiToken) {
  TestClient anonymous(rt_->mqtt_port());
  EXPECT_EQ(Login(anonymous, "anon", std::nullopt, std::nullopt).reason, Reason::kBadUserNameOrPassword);
  TestClient wrong(rt_->mqtt_port());
  EXPECT_EQ(Login(wrong, "w", "olga", "nope-nope").reason, Reason::kBadUserNameOrPassword);
  TestClient other_users_token(rt_->mqtt_port());
  EXPECT_EQ(Login(other_users_token, "x", "vic", olga_token_).reason, Reason::kBadUserNameOrPassword);
  TestClient password(rt_->mqtt_port());
  EXPECT_EQ(Login(password, "p", "olga", "operator-pass").reason, Reason::kSuccess);
  TestClient token(rt_->mqtt_port());
  EXPECT_EQ(Login(token, "t", "olga", olga_token_).reason, Reason::kSuccess);
  const std::string metrics = rt_->services().metrics->RenderPrometheus();
  EXPECT_NE(metrics.find("shopfloor_mqtt_auth_failures_total 3"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("shopfloor_mqtt_connections 2"), std::string::npos);
}

TEST_F(MqttServeTest, TelemetryReachesStorageAndTwinsWithinTheAcls) {
  TestClient gateway(rt_->mqtt_port());
  ASSERT_EQ(Login(gateway, "north-gw", "olga", olga_token_).reason, Reason::kSuccess);
  ASSERT_EQ(Publish(gateway, "acme/north/hall/m1/temp", "21.5", 1), Reason::kSuccess);
  auto info = rt_->storage()->FindSeries("acme/north/hall/m1/temp");
  ASSERT_TRUE(info.ok());
  auto latest = rt_->storage()->Latest(std::span<const core::SeriesId>(&info->id, 1)).at(0);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->value, core::Value(21.5));
  auto m1 = rt_->assets()->FindAsset("acme/north/hall/m1");
  ASSERT_TRUE(m1.ok());
  auto twin = rt_->twins()->Get(m1->id);
  ASSERT_TRUE(twin.ok());
  ASSERT_TRUE(twin->reported.count("temp"));
  EXPECT_EQ(twin->reported.at("temp").value, core::Value(21.5));

  // Another site, an unknown tag (operators cannot provision), a viewer: refused.
  EXPECT_EQ(Publish(gateway, "acme/south/hall/m9/temp", "1", 2), Reason::kNotAuthorized);
  EXPECT_EQ(Publish(gateway, "acme/north/hall/m1/pressure", "1", 3), Reason::kNotAuthorized);
  TestClient viewer(rt_->mqtt_port());
  ASSERT_EQ(Login(viewer, "v", "vic", "viewer-pass").reason, Reason::kSuccess);
  EXPECT_EQ(Publish(viewer, "acme/north/hall/m1/temp", "2", 1), Reason::kNotAuthorized);
  // A viewer may watch the whole plant; the operator only its site.
  viewer.SubscribeTo("acme/#", 1);
  gateway.Send(connect::mqtt::Subscribe{9, {}, {{"acme/#", {1}}}});
  auto suback = gateway.Expect<connect::mqtt::SubResponse>();
  ASSERT_EQ(suback.reasons.size(), 1u);
  EXPECT_EQ(suback.reasons[0], Reason::kNotAuthorized);

  // An engineer may add a tag by publishing it.
  TestClient engineer(rt_->mqtt_port());
  ASSERT_EQ(Login(engineer, "e", "erin", "engineer-pass").reason, Reason::kSuccess);
  ASSERT_EQ(Publish(engineer, "acme/north/hall/m1/pressure", "6.5", 1), Reason::kSuccess);
  EXPECT_TRUE(rt_->assets()->FindTag("acme/north/hall/m1", "pressure").ok());
  EXPECT_EQ(viewer.Expect<connect::mqtt::Publish>().payload, "6.5");  // routed once stored
  // Now the tag exists, the operator may publish it.
  EXPECT_EQ(Publish(gateway, "acme/north/hall/m1/pressure", "6.6", 4), Reason::kSuccess);
  const std::string metrics = rt_->services().metrics->RenderPrometheus();
  EXPECT_NE(metrics.find("shopfloor_mqtt_telemetry_samples_total 3"), std::string::npos) << metrics;
}

}  // namespace
}  // namespace shopfloor::app
