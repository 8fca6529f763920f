// AssetStore: CRUD with its validation errors, level rules, type inheritance and
// propagation, rename/move keeping series keys, and the versioned change records.
#include "model/asset_store.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "meta/db.h"

namespace shopfloor::model {
namespace {

using core::StatusCode;

TagDef Def(std::string name, core::ValueType type) {
  TagDef def;
  def.name = std::move(name);
  def.type = type;
  return def;
}

class AssetStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = meta::Db::Open(":memory:");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto store = AssetStore::Open(db_.get(), &clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    Create("", AssetLevel::kEnterprise, "acme");
    Create("acme", AssetLevel::kSite, "berlin");
    Create("acme/berlin", AssetLevel::kArea, "press-shop");
    Create("acme/berlin/press-shop", AssetLevel::kLine, "line-1");
  }

  Asset Create(std::string parent, AssetLevel level, std::string name, std::string type = "",
               std::vector<TagDef> tags = {}) {
    NewAsset spec;
    spec.parent_path = std::move(parent);
    spec.level = level;
    spec.name = std::move(name);
    spec.type = std::move(type);
    spec.tags = std::move(tags);
    auto asset = store_->CreateAsset("alice", spec);
    EXPECT_TRUE(asset.ok()) << asset.status().ToString();
    return asset.ok() ? *asset : Asset{};
  }

  core::Status TryCreate(std::string parent, AssetLevel level, std::string name, std::string type = "",
                         std::vector<TagDef> tags = {}) {
    NewAsset spec{std::move(parent), level, std::move(name), std::move(type), "", {}, std::move(tags)};
    return store_->CreateAsset("alice", spec).status();
  }

  AssetType RobotType() {
    AssetType type;
    type.name = "robot";
    type.description = "welding robot";
    TagDef current = Def("current", core::ValueType::kDouble);
    current.unit = "A";
    current.range = TagRange{0, 400};
    TagDef setpoint = Def("setpoint", core::ValueType::kDouble);
    setpoint.range = TagRange{50, 350};
    setpoint.writable = true;
    setpoint.binding = TagBinding{"", "hr:200:float32"};
    type.tags = {current, setpoint};
    return type;
  }

  core::SimClock clock_;
  std::unique_ptr<meta::Db> db_;
  std::unique_ptr<AssetStore> store_;
};

const Tag* FindIn(const Asset& asset, std::string_view name) {
  for (const Tag& tag : asset.tags) {
    if (tag.name == name) return &tag;
  }
  return nullptr;
}

TEST_F(AssetStoreTest, CreateAndRead) {
  Asset press = Create("acme/berlin/press-shop/line-1", AssetLevel::kMachine, "press-1", "",
                       {Def("pressure", core::ValueType::kDouble), Def("die", core::ValueType::kString)});
  EXPECT_EQ(press.path, "acme/berlin/press-shop/line-1/press-1");
  ASSERT_EQ(press.tags.size(), 2u);
  EXPECT_EQ(press.tags[0].series_key, "acme/berlin/press-shop/line-1/press-1/pressure");
  EXPECT_FALSE(press.tags[0].from_type);

  auto found = store_->FindAsset("acme/berlin/press-shop/line-1/press-1");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, press.id);
  auto by_id = store_->GetAsset(press.id);
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->name, "press-1");
  auto line = store_->FindAsset("acme/berlin/press-shop/line-1");
  ASSERT_TRUE(line.ok());
  auto children = store_->Children(line->id);
  ASSERT_TRUE(children.ok());
  ASSERT_EQ(children->size(), 1u);
  auto subtree = store_->Subtree("acme/berlin");
  ASSERT_TRUE(subtree.ok());
  EXPECT_EQ(subtree->size(), 4u);  // site, area, line, machine
  EXPECT_EQ(store_->AllAssets().size(), 5u);
  EXPECT_EQ(*store_->SiteOf("acme/berlin/press-shop/line-1/press-1"), "berlin");
  EXPECT_EQ(*store_->SiteOf("acme"), "");
  EXPECT_EQ(store_->SiteOf("nope").status().code(), StatusCode::kNotFound);
  auto tag = store_->FindTag("acme/berlin/press-shop/line-1/press-1", "die");
  ASSERT_TRUE(tag.ok());
  EXPECT_EQ(tag->type, core::ValueType::kString);
  EXPECT_EQ(store_->FindTag("acme/berlin/press-shop/line-1/press-1", "nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetAsset(9999).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->FindAsset("acme/x").status().code(), StatusCode::kNotFound);
}

TEST_F(AssetStoreTest, CreateValidationErrors) {
  auto expect = [](const core::Status& s, StatusCode code, std::string_view fragment) {
    EXPECT_EQ(s.code(), code) << s.ToString();
    EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
  };
  const std::string line = "acme/berlin/press-shop/line-1";
  expect(TryCreate(line, AssetLevel::kMachine, "bad name"), StatusCode::kInvalidArgument, "name:");
  expect(TryCreate(line, AssetLevel::kMachine, ".."), StatusCode::kInvalidArgument, "name:");
  expect(TryCreate("", AssetLevel::kEnterprise, "other"), StatusCode::kAlreadyExists, "already has an enterprise");
  expect(TryCreate("", AssetLevel::kSite, "s"), StatusCode::kInvalidArgument, "parent:");
  expect(TryCreate("acme/none", AssetLevel::kArea, "a"), StatusCode::kNotFound, "parent:");
  expect(TryCreate("acme", AssetLevel::kArea, "a"), StatusCode::kInvalidArgument, "level: a enterprise may hold only a site");
  expect(TryCreate("acme/berlin", AssetLevel::kMachine, "m"), StatusCode::kInvalidArgument, "level:");
  expect(TryCreate(line, AssetLevel::kArea, "x"), StatusCode::kInvalidArgument, "level:");
  expect(TryCreate("acme/berlin/press-shop", AssetLevel::kLine, "line-1"), StatusCode::kAlreadyExists, "name:");
  expect(TryCreate(line, AssetLevel::kCell, "c", "robot"), StatusCode::kInvalidArgument, "type: only machines");
  expect(TryCreate(line, AssetLevel::kMachine, "m", "robot"), StatusCode::kNotFound, "type:");
  TagDef untyped;
  untyped.name = "t";
  expect(TryCreate(line, AssetLevel::kMachine, "m", "", {untyped}), StatusCode::kInvalidArgument, "\"type\" is required");
  TagDef range = Def("flag", core::ValueType::kBool);
  range.range = TagRange{0, 1};
  expect(TryCreate(line, AssetLevel::kMachine, "m", "", {range}), StatusCode::kInvalidArgument, "\"range\" applies only");
  TagDef inverted = Def("p", core::ValueType::kDouble);
  inverted.range = TagRange{5, 1};
  expect(TryCreate(line, AssetLevel::kMachine, "m", "", {inverted}), StatusCode::kInvalidArgument, "min <= max");
  TagDef negative = Def("p", core::ValueType::kDouble);
  negative.deadband = -1;
  expect(TryCreate(line, AssetLevel::kMachine, "m", "", {negative}), StatusCode::kInvalidArgument, "deadband");
  expect(TryCreate(line, AssetLevel::kMachine, "m", "",
                   {Def("p", core::ValueType::kDouble), Def("p", core::ValueType::kInt64)}),
         StatusCode::kInvalidArgument, "defined twice");
  // Nothing of the failed attempts stayed.
  EXPECT_EQ(store_->AllAssets().size(), 4u);
  EXPECT_EQ(store_->FindAsset(line + "/m").status().code(), StatusCode::kNotFound);
}

TEST_F(AssetStoreTest, TypeInheritanceAndPropagation) {
  ASSERT_TRUE(store_->CreateType("alice", RobotType()).ok());
  EXPECT_EQ(store_->CreateType("alice", RobotType()).status().code(), StatusCode::kAlreadyExists);
  TagDef override_range;
  override_range.name = "current";
  override_range.range = TagRange{0, 500};
  TagDef binding;
  binding.name = "setpoint";
  binding.binding = TagBinding{"robot-1-ctrl", "hr:200:float32"};
  Asset robot = Create("acme/berlin/press-shop/line-1", AssetLevel::kMachine, "robot-1", "robot",
                       {override_range, binding, Def("extra", core::ValueType::kInt64)});
  ASSERT_EQ(robot.tags.size(), 3u);
  EXPECT_EQ(robot.tags[0].name, "current");
  EXPECT_TRUE(robot.tags[0].from_type);
  EXPECT_EQ(robot.tags[0].unit, "A");  // inherited
  EXPECT_EQ(robot.tags[0].range->max, 500);  // overridden
  EXPECT_EQ(robot.tags[1].binding->source, "robot-1-ctrl");
  EXPECT_EQ(robot.tags[2].name, "extra");
  EXPECT_FALSE(robot.tags[2].from_type);

  // A type edit reaches instances where they do not override; new tags appear, removed go.
  AssetType edited = RobotType();
  edited.tags[0].unit = "kA";
  edited.tags[0].range = TagRange{0, 1};
  edited.tags.erase(edited.tags.begin() + 1);  // setpoint gone
  edited.tags.push_back(Def("torch_temperature", core::ValueType::kDouble));
  ASSERT_TRUE(store_->UpdateType("bob", edited).ok());
  auto after = store_->GetAsset(robot.id);
  ASSERT_TRUE(after.ok());
  ASSERT_NE(FindIn(*after, "current"), nullptr);
  EXPECT_EQ(FindIn(*after, "current")->unit, "kA");
  EXPECT_EQ(FindIn(*after, "current")->range->max, 500);  // still the override
  EXPECT_EQ(FindIn(*after, "setpoint"), nullptr);
  ASSERT_NE(FindIn(*after, "torch_temperature"), nullptr);
  EXPECT_TRUE(FindIn(*after, "torch_temperature")->from_type);
  EXPECT_NE(FindIn(*after, "extra"), nullptr);

  // Inherited tags cannot be deleted one by one; types in use cannot be deleted.
  EXPECT_EQ(store_->DeleteTag("bob", robot.id, "current").code(), StatusCode::kInvalidArgument);
  auto del = store_->DeleteType("bob", "robot");
  EXPECT_EQ(del.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(del.message().find("robot-1"), std::string::npos);
  EXPECT_EQ(store_->DeleteType("bob", "nope").code(), StatusCode::kNotFound);

  // Clearing the type keeps the inherited tags as own tags with their series.
  std::string key = FindIn(*after, "current")->series_key;
  AssetPatch patch;
  patch.type = "";
  auto untyped = store_->UpdateAsset("bob", robot.id, patch);
  ASSERT_TRUE(untyped.ok()) << untyped.status().ToString();
  ASSERT_NE(FindIn(*untyped, "current"), nullptr);
  EXPECT_FALSE(FindIn(*untyped, "current")->from_type);
  EXPECT_EQ(FindIn(*untyped, "current")->unit, "kA");
  EXPECT_EQ(FindIn(*untyped, "current")->series_key, key);
  EXPECT_TRUE(store_->DeleteType("bob", "robot").ok());
  EXPECT_EQ(store_->GetType("robot").status().code(), StatusCode::kNotFound);
}

TEST_F(AssetStoreTest, RenameAndMoveKeepSeriesKeys) {
  Create("acme/berlin/press-shop", AssetLevel::kLine, "line-2");
  Asset press = Create("acme/berlin/press-shop/line-1", AssetLevel::kMachine, "press-1", "",
                       {Def("pressure", core::ValueType::kDouble)});
  const std::string old_key = "acme/berlin/press-shop/line-1/press-1/pressure";
  ASSERT_EQ(press.tags[0].series_key, old_key);

  AssetPatch rename;
  rename.name = "press-9";
  ASSERT_TRUE(store_->UpdateAsset("alice", press.id, rename).ok());
  auto line2 = store_->FindAsset("acme/berlin/press-shop/line-2");
  ASSERT_TRUE(line2.ok());
  AssetPatch move;
  move.parent_id = line2->id;
  auto moved = store_->UpdateAsset("alice", press.id, move);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(moved->path, "acme/berlin/press-shop/line-2/press-9");
  EXPECT_EQ(moved->tags[0].series_key, old_key);
  EXPECT_EQ(*store_->CurrentKeyToSeriesKey("acme/berlin/press-shop/line-2/press-9/pressure"), old_key);
  EXPECT_EQ(store_->CurrentKeyToSeriesKey(old_key).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->FindTagBySeriesKey(old_key)->asset_id, press.id);
  EXPECT_EQ(store_->FindAsset("acme/berlin/press-shop/line-1/press-1").status().code(), StatusCode::kNotFound);

  // Moving a line moves its subtree's paths, not their series.
  auto area = store_->FindAsset("acme/berlin/press-shop");
  AssetPatch rename_area;
  rename_area.name = "body-shop";
  ASSERT_TRUE(store_->UpdateAsset("alice", area->id, rename_area).ok());
  EXPECT_EQ(*store_->CurrentKeyToSeriesKey("acme/berlin/body-shop/line-2/press-9/pressure"), old_key);

  // A new asset taking the old name gets its own series, never the renamed one's.
  Create("acme/berlin", AssetLevel::kArea, "press-shop");
  Create("acme/berlin/press-shop", AssetLevel::kLine, "line-1");
  Asset newcomer = Create("acme/berlin/press-shop/line-1", AssetLevel::kMachine, "press-1", "",
                          {Def("pressure", core::ValueType::kDouble)});
  EXPECT_NE(newcomer.tags[0].series_key, old_key);
  EXPECT_EQ(newcomer.tags[0].series_key, old_key + "~" + std::to_string(newcomer.tags[0].id));
  EXPECT_EQ(*store_->CurrentKeyToSeriesKey(old_key), newcomer.tags[0].series_key);

  // Move and rename errors.
  auto line1 = store_->FindAsset("acme/berlin/body-shop/line-1");
  AssetPatch clash;
  clash.name = "line-1";
  EXPECT_EQ(store_->UpdateAsset("alice", line2->id, clash).status().code(), StatusCode::kAlreadyExists);
  AssetPatch into_self;
  into_self.parent_id = line2->id;
  auto area2 = store_->FindAsset("acme/berlin/body-shop");
  EXPECT_EQ(store_->UpdateAsset("alice", area2->id, into_self).status().code(), StatusCode::kInvalidArgument);
  AssetPatch bad_level;
  bad_level.parent_id = press.id;
  EXPECT_EQ(store_->UpdateAsset("alice", line1->id, bad_level).status().code(), StatusCode::kInvalidArgument);
  AssetPatch bad_name;
  bad_name.name = "a/b";
  EXPECT_EQ(store_->UpdateAsset("alice", press.id, bad_name).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->UpdateAsset("alice", 4242, bad_name).status().code(), StatusCode::kNotFound);
}

TEST_F(AssetStoreTest, TagsUpsertAndDelete) {
  Asset m = Create("acme/berlin/press-shop/line-1", AssetLevel::kMachine, "m");
  TagDef speed = Def("speed", core::ValueType::kDouble);
  speed.unit = "m/min";
  auto created = store_->UpsertTag("alice", m.id, speed);
  ASSERT_TRUE(created.ok());
  speed.unit = "m/s";
  speed.critical = true;
  auto updated = store_->UpsertTag("alice", m.id, speed);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->id, created->id);
  EXPECT_EQ(updated->unit, "m/s");
  EXPECT_TRUE(updated->critical);
  TagDef untyped;
  untyped.name = "speed";
  EXPECT_EQ(store_->UpsertTag("alice", m.id, untyped).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->UpsertTag("alice", 777, speed).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->DeleteTag("alice", m.id, "nope").code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->DeleteTag("alice", m.id, "speed").ok());
  EXPECT_EQ(store_->FindTag(m.path, "speed").status().code(), StatusCode::kNotFound);
}

TEST_F(AssetStoreTest, DeleteRefusesChildrenUnlessRecursive) {
  Create("acme/berlin/press-shop/line-1", AssetLevel::kMachine, "m", "", {Def("t", core::ValueType::kBool)});
  auto area = store_->FindAsset("acme/berlin/press-shop");
  auto refused = store_->DeleteAsset("alice", area->id, false);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("children"), std::string::npos);
  ASSERT_TRUE(store_->DeleteAsset("alice", area->id, true).ok());
  EXPECT_EQ(store_->AllAssets().size(), 2u);
  EXPECT_EQ(store_->FindTagBySeriesKey("acme/berlin/press-shop/line-1/m/t").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->DeleteAsset("alice", area->id, true).code(), StatusCode::kNotFound);
}

TEST_F(AssetStoreTest, ChangesAreVersionedWithBeforeAndAfter) {
  uint64_t start = store_->version();
  EXPECT_EQ(start, 4u);  // the four assets of SetUp
  std::vector<ModelEvent> events;
  int handle = store_->AddListener([&](const ModelEvent& e) { events.push_back(e); });
  Asset m = Create("acme/berlin/press-shop/line-1", AssetLevel::kMachine, "m");
  AssetPatch patch;
  patch.description = "new text";
  ASSERT_TRUE(store_->UpdateAsset("bob", m.id, patch).ok());
  EXPECT_EQ(store_->version(), start + 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].kind, "model.changed");
  EXPECT_EQ(events[1].actor, "bob");
  EXPECT_EQ(events[1].asset_path, m.path);
  store_->RemoveListener(handle);
  // A failed write records nothing.
  EXPECT_FALSE(store_->UpdateAsset("bob", m.id, AssetPatch{std::string("bad name")}).ok());
  EXPECT_EQ(store_->version(), start + 2);

  auto q = db_->Prepare("SELECT version, actor, kind, target, before, after FROM changes ORDER BY version DESC LIMIT 1");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*q->Step());
  EXPECT_EQ(q->Int(0), static_cast<int64_t>(start + 2));
  EXPECT_EQ(q->Text(1), "bob");
  EXPECT_EQ(q->Text(2), "asset.updated");
  EXPECT_EQ(q->Text(3), m.path);
  auto before = nlohmann::json::parse(q->Text(4));
  auto after = nlohmann::json::parse(q->Text(5));
  EXPECT_EQ(before["description"], "");
  EXPECT_EQ(after["description"], "new text");

  // The same history through the read API, paged and filtered by target.
  auto changes = store_->Changes(start, 10);
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  ASSERT_EQ(changes->size(), 2u);
  EXPECT_EQ((*changes)[0].version, start + 1);
  EXPECT_EQ((*changes)[1].actor, "bob");
  EXPECT_EQ((*changes)[1].kind, "asset.updated");
  EXPECT_EQ(nlohmann::json::parse((*changes)[1].after)["description"], "new text");
  auto filtered = store_->Changes(0, 100, m.path);
  ASSERT_TRUE(filtered.ok());
  EXPECT_EQ(filtered->size(), 2u);
  auto none = store_->Changes(0, 100, "no/such/path");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto first = store_->Changes(0, 1);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].version, 1u);
}

TEST_F(AssetStoreTest, ReopenLoadsTheSameModel) {
  ASSERT_TRUE(store_->CreateType("alice", RobotType()).ok());
  Asset robot = Create("acme/berlin/press-shop/line-1", AssetLevel::kMachine, "robot-1", "robot");
  store_.reset();
  auto reopened = AssetStore::Open(db_.get(), &clock_);
  ASSERT_TRUE(reopened.ok());
  auto again = (*reopened)->GetAsset(robot.id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->path, robot.path);
  ASSERT_EQ(again->tags.size(), robot.tags.size());
  for (size_t i = 0; i < robot.tags.size(); ++i) {
    EXPECT_EQ(again->tags[i].series_key, robot.tags[i].series_key);
    EXPECT_EQ(again->tags[i].from_type, robot.tags[i].from_type);
  }
  EXPECT_EQ((*reopened)->version(), 6u);
}

}  // namespace
}  // namespace shopfloor::model
