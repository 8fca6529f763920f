// `serve` with a Basic256Sha256 SignAndEncrypt OPC UA source and a username whose password
// comes from the environment, against node-opcua --secure: the source stays in error saying
// the server certificate is not trusted (nothing collected), the certificate waits in
// <data>/pki/opcua/rejected, and once trusted the source connects and samples arrive.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "../connect/opcua_peer.h"
#include "app/opcua_sources.h"
#include "app/runtime.h"
#include "app_test_util.h"
#include "connect/opcua/pki.h"

namespace shopfloor::app {
namespace {

constexpr int kWaitMs = 15000;  // secure connects take longer

using connect::opcua::OpcUaPeer;

std::string PlantYaml(int port) {
  return fmt::format(R"(version: 1
sources:
  - name: secure
    protocol: opcua
    endpoint: 127.0.0.1:{}
    poll_interval: 100ms
    options:
      security_policy: Basic256Sha256
      security_mode: SignAndEncrypt
      username: operator
      password_env: SF_TEST_OPCUA_SECURE_PASSWORD
      timeout: 2s
enterprise:
  name: acme
  sites:
    - name: plant
      areas:
        - name: hall
          machines:
            - name: m1
              source: secure
              tags:
                - {{name: v0, type: double, binding: {{address: "ns=1;s=Changing.V0"}}}}
)",
                     port);
}


TEST(OpcUaServeSecureTest, AnUntrustedServerIsReportedThenCollectedOnceTrusted) {
  if (std::string why = OpcUaPeer::MissingReason(); !why.empty()) GTEST_SKIP() << why;
  spdlog::set_level(spdlog::level::warn);
  OpcUaPeer peer;
  std::string error;
  ASSERT_TRUE(peer.Start(&error, 0, {"--secure", "--changing=1", "--change-ms=100"})) << error;
  ::setenv("SF_TEST_OPCUA_SECURE_PASSWORD", "secret", 1);
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("sf-opcua-serve-secure-{}", ::getpid());
  std::filesystem::remove_all(dir);
  std::vector<core::Status> problems;
  auto config = model::ParsePlantConfig(PlantYaml(peer.port()), "plant.yaml", &problems);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  RuntimeOptions ro;
  ro.config = std::move(config).value();
  ro.config_text = PlantYaml(peer.port());
  ro.data_dir = (dir / "data").string();
  ro.durability = "none";
  ro.auth.fast_hash_for_tests = true;
  auto rt = Runtime::Open(std::move(ro), core::Clock::System());
  ASSERT_TRUE(rt.ok()) << rt.status().ToString();
  (*rt)->StartSources();
  auto status = [&] { return (*rt)->opcua_sources()->Status().at(0); };
  auto samples = [&] {
    auto info = (*rt)->storage()->FindSeries("acme/plant/hall/m1/v0");
    return info.ok() ? (*rt)->storage()->Latest(std::span<const core::SeriesId>(&info->id, 1)).at(0).has_value() : false;
  };

  ASSERT_TRUE(testing::WaitUntil([&] { return status().last_error.find("not trusted") != std::string::npos; }, kWaitMs))
      << status().last_error;
  EXPECT_EQ(status().connects, 0u);
  EXPECT_FALSE(samples());
  const std::string pki = (dir / "data" / "pki" / "opcua").string();
  auto rejected = connect::opcua::Pki::List(pki);
  ASSERT_TRUE(rejected.ok() && rejected->size() == 1) << pki;
  ASSERT_TRUE(connect::opcua::Pki::Trust(pki, (*rejected)[0].thumbprint).ok());

  ASSERT_TRUE(testing::WaitUntil([&] { return status().state == "connected" && samples(); }, kWaitMs)) << status().last_error;
  EXPECT_EQ(status().connects, 1u);
  rt->reset();
  std::filesystem::remove_all(dir);
  ::unsetenv("SF_TEST_OPCUA_SECURE_PASSWORD");
}

}  // namespace
}  // namespace shopfloor::app
