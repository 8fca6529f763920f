// The shipped demo plant (config/demo-works.yaml) must load cleanly and hold the machines
// the demo, the simulator and the docs rely on.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/env.h"
#include "model/plant_config.h"

namespace shopfloor::model {
namespace {

const std::string kDemoPath = std::string(SHOPFLOOR_SOURCE_DIR) + "/config/demo-works.yaml";

class DemoConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = LoadPlantConfigFile(core::Env::Posix(), kDemoPath, &problems_);
    for (const auto& problem : problems_) ADD_FAILURE() << problem.ToString();
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    config_ = std::move(loaded).value();
  }

  const AssetConfig& Asset(const std::string& path) {
    const AssetConfig* asset = config_.FindAsset(path);
    EXPECT_NE(asset, nullptr) << path;
    static const AssetConfig kNone;
    return asset ? *asset : kNone;
  }

  const TagConfig* Tag(const AssetConfig& asset, const std::string& name) {
    for (const TagConfig& tag : asset.tags) {
      if (tag.name == name) return &tag;
    }
    return nullptr;
  }

  std::vector<core::Status> problems_;
  PlantConfig config_;
};

TEST_F(DemoConfigTest, LoadsWithoutProblems) {
  EXPECT_TRUE(problems_.empty());
  EXPECT_EQ(config_.file_name, kDemoPath);
  EXPECT_EQ(config_.timezone, "Europe/Berlin");
  EXPECT_EQ(config_.enterprise.name, "demo-works");
  ASSERT_EQ(config_.enterprise.children.size(), 1u);
  EXPECT_EQ(config_.enterprise.children[0].level, AssetLevel::kSite);
}

TEST_F(DemoConfigTest, HasTheExpectedMachines) {
  const std::string site = "demo-works/stuttgart";
  struct Expected {
    std::string path;
    AssetLevel level;
  };
  std::vector<Expected> expected = {
      {site + "/body-shop/body-line", AssetLevel::kLine},
      {site + "/body-shop/body-line/press-1", AssetLevel::kMachine},
      {site + "/body-shop/body-line/conveyor-1", AssetLevel::kMachine},
      {site + "/body-shop/body-line/weld-cell", AssetLevel::kCell},
      {site + "/body-shop/body-line/weld-cell/robot-1", AssetLevel::kMachine},
      {site + "/body-shop/body-line/weld-cell/robot-2", AssetLevel::kMachine},
      {site + "/body-shop/body-line/vision-cell/vision-station", AssetLevel::kMachine},
      {site + "/bottling/bottling-line/filler", AssetLevel::kMachine},
      {site + "/bottling/bottling-line/capper", AssetLevel::kMachine},
      {site + "/bottling/bottling-line/labeler", AssetLevel::kMachine},
      {site + "/bottling/bottling-line/pasteuriser", AssetLevel::kMachine},
      {site + "/bottling/bottling-line/cold-room", AssetLevel::kMachine},
      {site + "/utilities/compressor-1", AssetLevel::kMachine},
      {site + "/utilities/main-meter", AssetLevel::kMachine},
  };
  for (const Expected& e : expected) {
    const AssetConfig& asset = Asset(e.path);
    EXPECT_EQ(asset.path, e.path);
    EXPECT_EQ(asset.level, e.level) << e.path;
  }
}

TEST_F(DemoConfigTest, WeldingRobotsInheritTheirType) {
  const AssetTypeConfig* type = config_.FindAssetType("welding-robot");
  ASSERT_NE(type, nullptr);
  const std::string cell = "demo-works/stuttgart/body-shop/body-line/weld-cell/";
  for (const std::string name : {"robot-1", "robot-2"}) {
    const AssetConfig& robot = Asset(cell + name);
    EXPECT_EQ(robot.type, "welding-robot");
    ASSERT_EQ(robot.tags.size(), type->tags.size()) << name;
    const TagConfig* current = Tag(robot, "weld_current");
    ASSERT_NE(current, nullptr);
    EXPECT_EQ(current->unit, "A");
    EXPECT_EQ(current->asset_type, "welding-robot");
    ASSERT_TRUE(current->binding.has_value());
    EXPECT_EQ(current->binding->source, name + "-ctrl");  // the machine's default source
    EXPECT_EQ(current->binding->address, "ir:100:float32");
  }
  // robot-2 overrides one field of one inherited tag and keeps the rest.
  const TagConfig* torch = Tag(Asset(cell + "robot-2"), "torch_temperature");
  ASSERT_NE(torch, nullptr);
  ASSERT_TRUE(torch->range.has_value());
  EXPECT_EQ(torch->range->max, 180);
  EXPECT_EQ(torch->unit, "degC");
  EXPECT_EQ(torch->deadband, 0.5);
  EXPECT_EQ(Tag(Asset(cell + "robot-1"), "torch_temperature")->range->max, 150);
}

TEST_F(DemoConfigTest, SetpointsAreWritableAndBound) {
  const std::string site = "demo-works/stuttgart/";
  for (const auto& [path, tag_name] : std::vector<std::pair<std::string, std::string>>{
           {site + "utilities/compressor-1", "pressure_setpoint"},
           {site + "bottling/bottling-line/pasteuriser", "temperature_setpoint"},
           {site + "bottling/bottling-line/cold-room", "temperature_setpoint"}}) {
    const TagConfig* tag = Tag(Asset(path), tag_name);
    ASSERT_NE(tag, nullptr) << path;
    EXPECT_TRUE(tag->writable);
    ASSERT_TRUE(tag->binding.has_value());
    EXPECT_NE(config_.FindSource(tag->binding->source), nullptr);
  }
}

TEST_F(DemoConfigTest, SeriesKeysAreUniqueAndEveryTagIsBound) {
  std::vector<SeriesTag> series = ListSeries(config_);
  EXPECT_GT(series.size(), 100u);
  std::set<std::string> keys;
  for (const SeriesTag& s : series) {
    EXPECT_TRUE(keys.insert(s.series_key).second) << s.series_key;
    EXPECT_EQ(s.series_key, s.asset->path + "/" + s.tag->name);
    ASSERT_TRUE(s.tag->binding.has_value()) << s.series_key;
    EXPECT_NE(config_.FindSource(s.tag->binding->source), nullptr) << s.series_key;
  }
  EXPECT_EQ(keys.count("demo-works/stuttgart/body-shop/body-line/press-1/hydraulic_pressure"), 1u);
  EXPECT_EQ(keys.count("demo-works/stuttgart/utilities/main-meter/energy_import"), 1u);
}

TEST_F(DemoConfigTest, SourcesStorageAndServer) {
  const SourceConfig* sparkplug = config_.FindSource("bottling-sparkplug");
  ASSERT_NE(sparkplug, nullptr);
  EXPECT_EQ(sparkplug->protocol, Protocol::kSparkplug);
  EXPECT_EQ(sparkplug->options.group_id, "demo-works");
  EXPECT_EQ(sparkplug->poll_interval, 0);
  const SourceConfig* plc = config_.FindSource("body-shop-plc");
  ASSERT_NE(plc, nullptr);
  EXPECT_EQ(plc->protocol, Protocol::kModbus);
  EXPECT_EQ(plc->poll_interval, 500 * core::kMillisecond);
  EXPECT_EQ(plc->options.timeout, 2 * core::kSecond);
  EXPECT_EQ(config_.storage.durability, DurabilityMode::kInterval);
  EXPECT_EQ(config_.storage.durability_interval, 100 * core::kMillisecond);
  EXPECT_EQ(config_.storage.head_memory, 256ull << 20);
  EXPECT_EQ(config_.storage.disk_quota, 20ull << 30);
  const RetentionRule* energy = config_.RetentionFor("demo-works/stuttgart/utilities/main-meter/energy_import");
  ASSERT_NE(energy, nullptr);
  EXPECT_EQ(energy->max_age, 730 * core::kDay);
  const RetentionRule* raw = config_.RetentionFor("demo-works/stuttgart/utilities/main-meter/frequency");
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ(raw->max_age, 30 * core::kDay);
  EXPECT_EQ(config_.server.http_host, "127.0.0.1");
  EXPECT_EQ(config_.server.http_port, 8080);
}

}  // namespace
}  // namespace shopfloor::model
