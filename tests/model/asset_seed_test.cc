// AssetStore::SeedFromConfig and ExportYaml with the shipped demo plant.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/env.h"
#include "meta/db.h"
#include "model/asset_store.h"
#include "model/plant_config.h"

namespace shopfloor::model {
namespace {

const std::string kDemoPath = std::string(SHOPFLOOR_SOURCE_DIR) + "/config/demo-works.yaml";

std::string ReadDemo() {
  auto text = core::Env::Posix()->ReadFileToString(kDemoPath);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return text.ok() ? *text : std::string();
}

PlantConfig Parse(const std::string& text) {
  std::vector<core::Status> problems;
  auto config = ParsePlantConfig(text, "demo-works.yaml", &problems);
  for (const auto& problem : problems) ADD_FAILURE() << problem.ToString();
  EXPECT_TRUE(config.ok());
  return config.ok() ? std::move(config).value() : PlantConfig{};
}

class AssetSeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(meta::Db::Open(":memory:")).value();
    store_ = std::move(AssetStore::Open(db_.get(), &clock_)).value();
    text_ = ReadDemo();
    config_ = Parse(text_);
  }

  core::SimClock clock_;
  std::unique_ptr<meta::Db> db_;
  std::unique_ptr<AssetStore> store_;
  std::string text_;
  PlantConfig config_;
};

TEST_F(AssetSeedTest, FirstSeedImportsEverythingAndSecondIsANoOp) {
  auto first = store_->SeedFromConfig(config_, "demo-works.yaml", "hash-1");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->applied);
  for (const SeriesTag& series : ListSeries(config_)) {
    auto tag = store_->FindTagBySeriesKey(series.series_key);
    ASSERT_TRUE(tag.ok()) << series.series_key;
    EXPECT_EQ(tag->type, series.tag->type) << series.series_key;
    EXPECT_EQ(tag->unit, series.tag->unit);
    EXPECT_EQ(tag->writable, series.tag->writable);
  }
  uint64_t version = store_->version();
  auto actor_query = db_->Prepare("SELECT DISTINCT actor FROM changes");
  ASSERT_TRUE(actor_query.ok());
  ASSERT_TRUE(*actor_query->Step());
  EXPECT_EQ(actor_query->Text(0), "config:demo-works.yaml");

  // An API edit, then a boot with the same file: the edit stands, nothing is recorded.
  auto press = store_->FindAsset("demo-works/stuttgart/body-shop/body-line/press-1");
  ASSERT_TRUE(press.ok());
  AssetPatch patch;
  patch.description = "edited through the API";
  ASSERT_TRUE(store_->UpdateAsset("alice", press->id, patch).ok());
  auto second = store_->SeedFromConfig(config_, "demo-works.yaml", "hash-1");
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->applied);
  EXPECT_TRUE(second->changes.empty());
  EXPECT_EQ(store_->version(), version + 1);
  EXPECT_EQ(store_->GetAsset(press->id)->description, "edited through the API");
}

TEST_F(AssetSeedTest, ChangedFileAppliesAndKeepsApiCreatedAssets) {
  ASSERT_TRUE(store_->SeedFromConfig(config_, "demo-works.yaml", "hash-1").ok());
  NewAsset extra;
  extra.parent_path = "demo-works/stuttgart/utilities";
  extra.level = AssetLevel::kMachine;
  extra.name = "chiller-1";
  TagDef flow;
  flow.name = "flow";
  flow.type = core::ValueType::kDouble;
  extra.tags = {flow};
  ASSERT_TRUE(store_->CreateAsset("alice", extra).ok());

  // Edit the YAML: a new unit on a press tag and a changed description.
  std::string changed = text_;
  auto replace = [&](const std::string& from, const std::string& to) {
    size_t at = changed.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    changed.replace(at, from.size(), to);
  };
  replace("description: 800 t hydraulic transfer press", "description: 1000 t press");
  replace("unit: bar\n                      range: [0, 350]", "unit: MPa\n                      range: [0, 35]");
  PlantConfig edited = Parse(changed);
  auto report = store_->SeedFromConfig(edited, "demo-works.yaml", "hash-2");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->applied);
  EXPECT_EQ(report->changes.size(), 2u);
  for (const std::string& line : report->changes) SCOPED_TRACE(line);
  auto press = store_->FindAsset("demo-works/stuttgart/body-shop/body-line/press-1");
  ASSERT_TRUE(press.ok());
  EXPECT_EQ(press->description, "1000 t press");
  auto pressure = store_->FindTag(press->path, "hydraulic_pressure");
  ASSERT_TRUE(pressure.ok());
  EXPECT_EQ(pressure->unit, "MPa");
  EXPECT_EQ(pressure->range->max, 35);
  EXPECT_TRUE(store_->FindAsset("demo-works/stuttgart/utilities/chiller-1").ok());
}

TEST_F(AssetSeedTest, ExportRoundTripsTheDemoPlant) {
  ASSERT_TRUE(store_->SeedFromConfig(config_, "demo-works.yaml", "hash-1").ok());
  auto yaml = store_->ExportYaml(config_);
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  std::vector<core::Status> problems;
  auto reparsed = ParsePlantConfig(*yaml, "export.yaml", &problems);
  for (const auto& problem : problems) ADD_FAILURE() << problem.ToString() << "\n" << *yaml;
  ASSERT_TRUE(reparsed.ok());
  std::vector<SeriesTag> want = ListSeries(config_);
  std::vector<SeriesTag> got = ListSeries(*reparsed);
  ASSERT_EQ(got.size(), want.size());
  auto by_key = [](const SeriesTag& a, const SeriesTag& b) { return a.series_key < b.series_key; };
  std::sort(want.begin(), want.end(), by_key);
  std::sort(got.begin(), got.end(), by_key);
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(want[i].series_key);
    ASSERT_EQ(got[i].series_key, want[i].series_key);
    const TagConfig& a = *want[i].tag;
    const TagConfig& b = *got[i].tag;
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.unit, b.unit);
    EXPECT_EQ(a.description, b.description);
    EXPECT_EQ(a.deadband, b.deadband);
    EXPECT_EQ(a.writable, b.writable);
    EXPECT_EQ(a.asset_type, b.asset_type);
    ASSERT_EQ(a.range.has_value(), b.range.has_value());
    if (a.range) {
      EXPECT_EQ(a.range->min, b.range->min);
      EXPECT_EQ(a.range->max, b.range->max);
    }
    ASSERT_EQ(a.binding.has_value(), b.binding.has_value());
    if (a.binding) {
      EXPECT_EQ(a.binding->source, b.binding->source);
      EXPECT_EQ(a.binding->address, b.binding->address);
    }
    EXPECT_EQ(want[i].asset->description, got[i].asset->description);
    EXPECT_EQ(want[i].asset->level, got[i].asset->level);
  }
  EXPECT_EQ(reparsed->sources.size(), config_.sources.size());
  EXPECT_EQ(reparsed->timezone, config_.timezone);
  EXPECT_EQ(reparsed->storage.retention.size(), config_.storage.retention.size());
  EXPECT_EQ(reparsed->storage.durability_interval, config_.storage.durability_interval);
  EXPECT_EQ(reparsed->server.http_port, config_.server.http_port);
  // Seeding the export into a fresh store gives the same model again.
  auto db2 = std::move(meta::Db::Open(":memory:")).value();
  auto store2 = std::move(AssetStore::Open(db2.get(), &clock_)).value();
  ASSERT_TRUE(store2->SeedFromConfig(*reparsed, "export.yaml", "h").ok());
  EXPECT_EQ(*store2->ExportYaml(config_), *yaml);
}

}  // namespace
}  // namespace shopfloor::model
