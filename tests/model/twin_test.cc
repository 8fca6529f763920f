// TwinStore: reported from batches, desired validation and persistence, delta, staleness
// and versions that stay monotonic across reopen and crash.
#include "model/twin.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "meta/db.h"
#include "model/asset_store.h"

namespace shopfloor::model {
namespace {

using core::StatusCode;

TagDef Def(std::string name, core::ValueType type) {
  TagDef def;
  def.name = std::move(name);
  def.type = type;
  return def;
}

class TwinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "twin_test_" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    OpenAll();
    NewAsset enterprise{"", AssetLevel::kEnterprise, "acme"};
    ASSERT_TRUE(assets_->CreateAsset("t", enterprise).ok());
    ASSERT_TRUE(assets_->CreateAsset("t", NewAsset{"acme", AssetLevel::kSite, "s"}).ok());
    ASSERT_TRUE(assets_->CreateAsset("t", NewAsset{"acme/s", AssetLevel::kArea, "a"}).ok());
    TagDef setpoint = Def("setpoint", core::ValueType::kDouble);
    setpoint.range = TagRange{50, 350};
    setpoint.writable = true;
    setpoint.binding = TagBinding{"plc", "hr:1:float32"};
    TagDef mode = Def("mode", core::ValueType::kString);
    mode.writable = true;
    mode.binding = TagBinding{"plc", "hr:2:string8"};
    TagDef count = Def("count", core::ValueType::kInt64);
    count.writable = true;
    count.binding = TagBinding{"plc", "hr:3:uint32"};
    NewAsset machine{"acme/s/a", AssetLevel::kMachine, "m1", "", "", {},
                     {Def("current", core::ValueType::kDouble), setpoint, mode, count}};
    auto created = assets_->CreateAsset("t", machine);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    machine_ = created->id;
    ASSERT_TRUE(twins_->Rebuild().ok());
  }

  void OpenAll() {
    db_ = std::move(meta::Db::OpenInDataDir(dir_)).value();
    assets_ = std::move(AssetStore::Open(db_.get(), &clock_)).value();
    auto twins = TwinStore::Open(db_.get(), assets_.get(), &clock_,
                                 [this](std::string_view key) -> std::optional<core::SeriesId> {
                                   auto it = series_.find(std::string(key));
                                   if (it == series_.end()) return std::nullopt;
                                   return it->second;
                                 },
                                 TwinOptions{4});
    ASSERT_TRUE(twins.ok()) << twins.status().ToString();
    twins_ = std::move(twins).value();
  }

  void CloseAll() {
    twins_.reset();
    assets_.reset();
    db_.reset();
  }

  TwinSnapshot Get() {
    auto snap = twins_->Get(machine_);
    EXPECT_TRUE(snap.ok()) << snap.status().ToString();
    return snap.ok() ? *snap : TwinSnapshot{};
  }

  core::SimClock clock_;
  std::string dir_;
  std::map<std::string, core::SeriesId> series_ = {
      {"acme/s/a/m1/current", core::SeriesId{11}},
      {"acme/s/a/m1/setpoint", core::SeriesId{12}},
  };
  std::unique_ptr<meta::Db> db_;
  std::unique_ptr<AssetStore> assets_;
  std::unique_ptr<TwinStore> twins_;
  int64_t machine_ = 0;
};

TEST_F(TwinTest, ReportedFromBatches) {
  uint64_t v0 = Get().version;
  core::SampleBatch batch;
  batch.Add(core::SeriesId{11}, 100, 12.5);
  batch.Add(core::SeriesId{99}, 100, 1.0);  // no tag
  batch.Add(core::SeriesId{11}, 50, 1.0);   // older than what is held: ignored
  twins_->OnSamples(batch);
  TwinSnapshot snap = Get();
  ASSERT_EQ(snap.reported.count("current"), 1u);
  EXPECT_EQ(snap.reported["current"].value.as_double(), 12.5);
  EXPECT_EQ(snap.reported["current"].ts, 100);
  EXPECT_GT(snap.version, v0);
  EXPECT_EQ(twins_->unmatched_samples(), 1u);

  // A series created after the twin was built is found on first sight.
  series_["acme/s/a/m1/count"] = core::SeriesId{13};
  core::SampleBatch later;
  later.Add(core::SeriesId{13}, 200, int64_t{7});
  twins_->OnSamples(later);
  EXPECT_EQ(Get().reported["count"].value.as_int(), 7);

  EXPECT_TRUE(twins_->SeedReported("acme/s/a/m1/mode", core::Sample{300, core::Value("auto"), core::Quality::Good()}));
  EXPECT_FALSE(twins_->SeedReported("acme/s/a/m1/none", core::Sample{}));
  EXPECT_EQ(Get().reported["mode"].value.as_string(), "auto");

  ASSERT_TRUE(twins_->MarkStale(machine_, {}, core::Quality::BadNoCommunication()).ok());
  snap = Get();
  EXPECT_EQ(snap.reported["current"].quality, core::Quality::BadNoCommunication());
  EXPECT_EQ(snap.reported["current"].value.as_double(), 12.5);
  EXPECT_EQ(twins_->MarkStale(machine_, {"nope"}, core::Quality::Bad()).code(), StatusCode::kNotFound);
  EXPECT_EQ(twins_->MarkStale(4242, {}, core::Quality::Bad()).code(), StatusCode::kNotFound);
}

TEST_F(TwinTest, DesiredValidation) {
  auto expect = [&](std::map<std::string, core::Value> values, StatusCode code, std::string_view fragment) {
    auto result = twins_->SetDesired("alice", machine_, values);
    EXPECT_EQ(result.status().code(), code) << result.status().ToString();
    EXPECT_NE(result.status().message().find(fragment), std::string::npos) << result.status().message();
  };
  expect({{"nope", 1.0}}, StatusCode::kNotFound, "tag \"nope\"");
  expect({{"current", 1.0}}, StatusCode::kInvalidArgument, "tag \"current\": not writable");
  expect({{"setpoint", "high"}}, StatusCode::kInvalidArgument, "tag \"setpoint\": value must be double");
  expect({{"setpoint", 400.0}}, StatusCode::kInvalidArgument, "outside the range [50, 350]");
  expect({{"setpoint", std::nan("")}}, StatusCode::kInvalidArgument, "finite");
  expect({{"count", 1.5}}, StatusCode::kInvalidArgument, "value must be int64");
  expect({{"mode", true}}, StatusCode::kInvalidArgument, "value must be string");
  expect({}, StatusCode::kInvalidArgument, "no tag values");
  // One bad value rejects the whole set.
  expect({{"setpoint", 100.0}, {"mode", 3.0}}, StatusCode::kInvalidArgument, "mode");
  EXPECT_TRUE(Get().desired.empty());
  EXPECT_EQ(twins_->SetDesired("alice", 4242, {{"setpoint", 100.0}}).status().code(), StatusCode::kNotFound);
}

TEST_F(TwinTest, DesiredDeltaEventsAndPersistence) {
  std::vector<ModelEvent> events;
  twins_->SetListener([&](const ModelEvent& e) { events.push_back(e); });
  auto set = twins_->SetDesired("alice", machine_, {{"setpoint", int64_t{120}}, {"mode", "auto"}});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_TRUE(set->desired["setpoint"].value.is_double());  // int64 accepted for a double tag
  EXPECT_EQ(set->desired["setpoint"].by, "alice");
  EXPECT_EQ(set->delta, (std::vector<std::string>{"mode", "setpoint"}));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "twin.desired");
  EXPECT_EQ(events[0].asset_path, "acme/s/a/m1");
  EXPECT_NE(events[0].data_json.find("\"after\""), std::string::npos);

  // The PLC reports the setpoint back through a float32 register: no longer a delta.
  core::SampleBatch batch;
  batch.Add(core::SeriesId{12}, 10, static_cast<double>(static_cast<float>(120.0)));
  twins_->OnSamples(batch);
  EXPECT_EQ(Get().delta, (std::vector<std::string>{"mode"}));
  batch.Clear();
  batch.Add(core::SeriesId{12}, 20, 119.0);
  twins_->OnSamples(batch);
  EXPECT_EQ(Get().delta, (std::vector<std::string>{"mode", "setpoint"}));

  // Desired survives a restart.
  CloseAll();
  OpenAll();
  TwinSnapshot after = Get();
  ASSERT_EQ(after.desired.size(), 2u);
  EXPECT_EQ(after.desired["setpoint"].value.as_double(), 120.0);
  EXPECT_EQ(after.desired["mode"].value.as_string(), "auto");

  events.clear();
  twins_->SetListener([&](const ModelEvent& e) { events.push_back(e); });
  auto cleared = twins_->ClearDesired("bob", machine_, {"mode"});
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(cleared->desired.size(), 1u);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "twin.desired_cleared");
  EXPECT_EQ(twins_->ClearDesired("bob", machine_, {"nope"}).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(twins_->ClearDesired("bob", machine_, {}).ok());
  CloseAll();
  OpenAll();
  EXPECT_TRUE(Get().desired.empty());
}

TEST_F(TwinTest, VersionsMonotonicAcrossReopenAndCrash) {
  uint64_t last = Get().version;
  core::SampleBatch batch;
  for (int i = 0; i < 10; ++i) {  // crosses several blocks of 4
    batch.Clear();
    batch.Add(core::SeriesId{11}, 100 + i, static_cast<double>(i));
    twins_->OnSamples(batch);
    uint64_t now = Get().version;
    EXPECT_GT(now, last);
    last = now;
  }
  // Clean reopen.
  CloseAll();
  OpenAll();
  EXPECT_GT(Get().version, last);
  last = Get().version;
  batch.Clear();
  batch.Add(core::SeriesId{11}, 500, 1.0);
  twins_->OnSamples(batch);
  last = Get().version;
  // Crash: a second process opens the same files while the first never closed. It must
  // never hand out a version the first one already used.
  auto crashed_db = std::move(db_);
  auto crashed_assets = std::move(assets_);
  auto crashed_twins = std::move(twins_);
  OpenAll();
  EXPECT_GT(Get().version, last);
  crashed_twins.reset();
  crashed_assets.reset();
  crashed_db.reset();
}

TEST_F(TwinTest, RebuildFollowsModelChanges) {
  core::SampleBatch batch;
  batch.Add(core::SeriesId{11}, 100, 1.5);
  twins_->OnSamples(batch);
  AssetPatch rename;
  rename.name = "m2";
  ASSERT_TRUE(assets_->UpdateAsset("t", machine_, rename).ok());
  ASSERT_TRUE(twins_->Rebuild().ok());
  TwinSnapshot snap = Get();
  EXPECT_EQ(snap.path, "acme/s/a/m2");
  EXPECT_EQ(snap.reported["current"].value.as_double(), 1.5);  // carried over
  batch.Clear();
  batch.Add(core::SeriesId{11}, 200, 2.5);  // same series after the rename
  twins_->OnSamples(batch);
  EXPECT_EQ(Get().reported["current"].value.as_double(), 2.5);
  ASSERT_TRUE(assets_->DeleteAsset("t", machine_, false).ok());
  ASSERT_TRUE(twins_->Rebuild().ok());
  EXPECT_EQ(twins_->Get(machine_).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace shopfloor::model
