// AssetStore: schema, loading, the effective-tag rules and the read API.
#include "model/asset_store.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include <fmt/format.h>

#include "model/asset_store_internal.h"

namespace shopfloor::model {

using core::Result;
using core::Status;
using internal::State;

namespace {

const std::vector<std::string> kMigrations = {
    R"sql(
CREATE TABLE model_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE asset_types(name TEXT PRIMARY KEY, description TEXT NOT NULL, tags TEXT NOT NULL);
CREATE TABLE assets(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  parent_id INTEGER REFERENCES assets(id),
  level INTEGER NOT NULL,
  name TEXT NOT NULL,
  type TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  attributes TEXT NOT NULL DEFAULT '{}');
CREATE TABLE tags(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  asset_id INTEGER NOT NULL REFERENCES assets(id),
  name TEXT NOT NULL,
  from_type INTEGER NOT NULL,
  type TEXT, unit TEXT, range_min REAL, range_max REAL, description TEXT, deadband REAL,
  writable INTEGER, binding_source TEXT, binding_address TEXT, critical INTEGER,
  series_key TEXT NOT NULL UNIQUE,
  UNIQUE(asset_id, name));
CREATE TABLE changes(
  version INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  actor TEXT NOT NULL,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  before TEXT NOT NULL,
  after TEXT NOT NULL);
)sql",
};

template <typename T>
void Overlay(std::optional<T>* base, const std::optional<T>& over) {
  if (over) *base = over;
}

}  // namespace

namespace internal {

const TagDef* FindTypeTag(const AssetType& type, std::string_view name) {
  for (const TagDef& tag : type.tags) {
    if (tag.name == name) return &tag;
  }
  return nullptr;
}

Tag ResolveTag(const TagDef* type_tag, const TagDef& over) {
  TagDef def = over;
  if (type_tag != nullptr) {
    def = *type_tag;
    Overlay(&def.type, over.type);
    Overlay(&def.unit, over.unit);
    Overlay(&def.range, over.range);
    Overlay(&def.description, over.description);
    Overlay(&def.deadband, over.deadband);
    Overlay(&def.writable, over.writable);
    Overlay(&def.binding, over.binding);
    Overlay(&def.critical, over.critical);
  }
  Tag tag;
  tag.name = over.name;
  tag.type = def.type.value_or(core::ValueType::kDouble);
  tag.unit = def.unit.value_or("");
  tag.range = def.range;
  tag.description = def.description.value_or("");
  tag.deadband = def.deadband.value_or(0.0);
  tag.writable = def.writable.value_or(false);
  tag.binding = def.binding;
  tag.critical = def.critical.value_or(false);
  return tag;
}

TagDef DefOf(const Tag& tag) {
  TagDef def;
  def.name = tag.name;
  def.type = tag.type;
  def.unit = tag.unit;
  def.range = tag.range;
  def.description = tag.description;
  def.deadband = tag.deadband;
  def.writable = tag.writable;
  def.binding = tag.binding;
  def.critical = tag.critical;
  return def;
}

namespace {
bool SameRange(const std::optional<TagRange>& a, const std::optional<TagRange>& b) {
  return a.has_value() == b.has_value() && (!a || (a->min == b->min && a->max == b->max));
}
bool SameBinding(const std::optional<TagBinding>& a, const std::optional<TagBinding>& b) {
  return a.has_value() == b.has_value() && (!a || (a->source == b->source && a->address == b->address));
}
}  // namespace

TagDef DiffTag(const TagDef& type_tag, const Tag& effective) {
  Tag base = ResolveTag(nullptr, type_tag);
  TagDef diff;
  diff.name = effective.name;
  if (base.type != effective.type) diff.type = effective.type;
  if (base.unit != effective.unit) diff.unit = effective.unit;
  if (!SameRange(base.range, effective.range)) diff.range = effective.range;
  if (base.description != effective.description) diff.description = effective.description;
  if (base.deadband != effective.deadband) diff.deadband = effective.deadband;
  if (base.writable != effective.writable) diff.writable = effective.writable;
  if (!SameBinding(base.binding, effective.binding)) diff.binding = effective.binding;
  if (base.critical != effective.critical) diff.critical = effective.critical;
  return diff;
}

Tag EffectiveTag(const State& state, const State::TagRow& row) {
  const TagDef* type_tag = nullptr;
  if (row.from_type) {
    const State::AssetRow& asset = state.assets.at(row.asset_id);
    auto type = state.types.find(asset.type);
    if (type != state.types.end()) type_tag = FindTypeTag(type->second, row.def.name);
  }
  Tag tag = ResolveTag(type_tag, row.def);
  tag.id = row.id;
  tag.asset_id = row.asset_id;
  tag.series_key = row.series_key;
  tag.from_type = row.from_type;
  return tag;
}

std::vector<const State::TagRow*> OrderedTags(const State& state, const State::AssetRow& row) {
  std::vector<const State::TagRow*> ordered;
  ordered.reserve(row.tag_ids.size());
  auto type = state.types.find(row.type);
  if (type != state.types.end()) {
    for (const TagDef& type_tag : type->second.tags) {
      for (int64_t id : row.tag_ids) {
        const State::TagRow& tag = state.tags.at(id);
        if (tag.from_type && tag.def.name == type_tag.name) ordered.push_back(&tag);
      }
    }
  }
  for (int64_t id : row.tag_ids) {
    const State::TagRow& tag = state.tags.at(id);
    if (!tag.from_type) ordered.push_back(&tag);
  }
  return ordered;
}

Asset MakeAsset(const State& state, const State::AssetRow& row) {
  Asset asset;
  asset.id = row.id;
  asset.parent_id = row.parent_id;
  asset.level = row.level;
  asset.name = row.name;
  asset.path = row.path;
  asset.type = row.type;
  asset.description = row.description;
  asset.attributes = row.attributes;
  for (const State::TagRow* tag : OrderedTags(state, row)) asset.tags.push_back(EffectiveTag(state, *tag));
  return asset;
}

Status ValidateTag(const Tag& tag, bool /*is_template*/) {
  std::string what = fmt::format("tag \"{}\"", tag.name);
  if (!IsValidName(tag.name)) {
    return Status::InvalidArgument(fmt::format(
        "{}: \"name\" must be 1..128 characters from [A-Za-z0-9_.-], not \".\" or \"..\"", what));
  }
  bool numeric = tag.type == core::ValueType::kDouble || tag.type == core::ValueType::kInt64;
  if (tag.range) {
    if (!numeric) {
      return Status::InvalidArgument(fmt::format("{}: \"range\" applies only to double and int64 tags (this tag is {})",
                                                 what, core::ValueTypeName(tag.type)));
    }
    if (!std::isfinite(tag.range->min) || !std::isfinite(tag.range->max) || tag.range->min > tag.range->max) {
      return Status::InvalidArgument(
          fmt::format("{}: \"range\" must be finite [min, max] with min <= max (got [{}, {}])", what,
                      tag.range->min, tag.range->max));
    }
  }
  if (tag.deadband != 0.0) {
    if (!numeric) {
      return Status::InvalidArgument(fmt::format(
          "{}: \"deadband\" applies only to double and int64 tags (this tag is {})", what, core::ValueTypeName(tag.type)));
    }
  }
  if (!std::isfinite(tag.deadband) || tag.deadband < 0) {
    return Status::InvalidArgument(fmt::format("{}: \"deadband\" must be a finite number >= 0 (got {})", what, tag.deadband));
  }
  if (tag.binding && !tag.binding->source.empty() && !IsValidName(tag.binding->source)) {
    return Status::InvalidArgument(fmt::format("{}: \"binding.source\" is not a valid source name", what));
  }
  // A writable tag without a binding is written through an MQTT command to the device that
  // publishes it (app/mqtt_commands.h).
  return Status::OK();
}

bool LevelMayHold(AssetLevel parent, AssetLevel child) {
  switch (parent) {
    case AssetLevel::kEnterprise: return child == AssetLevel::kSite;
    case AssetLevel::kSite: return child == AssetLevel::kArea;
    case AssetLevel::kArea: return child == AssetLevel::kLine || child == AssetLevel::kMachine;
    case AssetLevel::kLine: return child == AssetLevel::kCell || child == AssetLevel::kMachine;
    case AssetLevel::kCell: return child == AssetLevel::kMachine;
    case AssetLevel::kMachine: return false;
  }
  return false;
}

std::string LevelList(AssetLevel parent) {
  switch (parent) {
    case AssetLevel::kEnterprise: return "site";
    case AssetLevel::kSite: return "area";
    case AssetLevel::kArea: return "line or machine";
    case AssetLevel::kLine: return "cell or machine";
    case AssetLevel::kCell: return "machine";
    case AssetLevel::kMachine: return "nothing (machines have no children)";
  }
  return "nothing";
}

void ReindexSubtree(State* state, int64_t id) {
  State::AssetRow& row = state->assets.at(id);
  // Drop the old keys of this asset (its old path may differ from the new one).
  if (!row.path.empty()) {
    auto it = state->by_path.find(row.path);
    if (it != state->by_path.end() && it->second == id) state->by_path.erase(it);
    for (int64_t tag_id : row.tag_ids) {
      auto key = state->by_current_key.find(row.path + "/" + state->tags.at(tag_id).def.name);
      if (key != state->by_current_key.end() && key->second == tag_id) state->by_current_key.erase(key);
    }
  }
  row.path = row.parent_id == 0 ? row.name : state->assets.at(row.parent_id).path + "/" + row.name;
  state->by_path[row.path] = id;
  for (int64_t tag_id : row.tag_ids) state->by_current_key[row.path + "/" + state->tags.at(tag_id).def.name] = tag_id;
  for (int64_t child : row.children) ReindexSubtree(state, child);
}

Status LoadState(meta::Db* db, State* state) {
  *state = State();
  {
    SF_ASSIGN_OR_RETURN(meta::Statement q, db->Prepare("SELECT name, description, tags FROM asset_types"));
    while (true) {
      SF_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      AssetType type;
      type.name = q.Text(0);
      type.description = q.Text(1);
      nlohmann::json tags = nlohmann::json::parse(q.Text(2), nullptr, /*allow_exceptions=*/false);
      if (!tags.is_array()) {
        return Status::Corruption(fmt::format("asset type \"{}\": tags are not a JSON array", type.name), db->path(), 0);
      }
      for (const auto& tag : tags) {
        auto def = TagDefFromJson(tag, fmt::format("asset type \"{}\"", type.name));
        if (!def.ok()) return Status::Corruption(def.status().message(), db->path(), 0);
        type.tags.push_back(std::move(def).value());
      }
      state->types.emplace(type.name, std::move(type));
    }
  }
  {
    SF_ASSIGN_OR_RETURN(meta::Statement q, db->Prepare(
        "SELECT id, parent_id, level, name, type, description, attributes FROM assets ORDER BY id"));
    while (true) {
      SF_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      State::AssetRow asset;
      asset.id = q.Int(0);
      asset.parent_id = q.IsNull(1) ? 0 : q.Int(1);
      asset.level = static_cast<AssetLevel>(std::clamp<int64_t>(q.Int(2), 0, 5));
      asset.name = q.Text(3);
      asset.type = q.Text(4);
      asset.description = q.Text(5);
      nlohmann::json attributes = nlohmann::json::parse(q.Text(6), nullptr, false);
      if (attributes.is_object()) {
        for (auto it = attributes.begin(); it != attributes.end(); ++it) {
          if (it.value().is_string()) asset.attributes[it.key()] = it.value().get<std::string>();
        }
      }
      if (asset.parent_id == 0) state->root = asset.id;
      state->assets.emplace(asset.id, std::move(asset));
    }
  }
  for (auto& [id, asset] : state->assets) {
    if (asset.parent_id != 0) {
      auto parent = state->assets.find(asset.parent_id);
      if (parent == state->assets.end()) {
        return Status::Corruption(fmt::format("asset {} has missing parent {}", id, asset.parent_id), db->path(), 0);
      }
      parent->second.children.push_back(id);
    }
  }
  {
    SF_ASSIGN_OR_RETURN(meta::Statement q, db->Prepare(
        "SELECT id, asset_id, name, from_type, type, unit, range_min, range_max, description, deadband, "
        "writable, binding_source, binding_address, critical, series_key FROM tags ORDER BY id"));
    while (true) {
      SF_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      State::TagRow tag;
      tag.id = q.Int(0);
      tag.asset_id = q.Int(1);
      tag.def.name = q.Text(2);
      tag.from_type = q.Int(3) != 0;
      if (!q.IsNull(4)) {
        auto type = internal::ParseValueType(q.Text(4));
        if (!type.ok()) return Status::Corruption(fmt::format("tag {}: {}", tag.id, type.status().message()), db->path(), 0);
        tag.def.type = *type;
      }
      if (!q.IsNull(5)) tag.def.unit = q.Text(5);
      if (!q.IsNull(6) && !q.IsNull(7)) tag.def.range = TagRange{q.Double(6), q.Double(7)};
      if (!q.IsNull(8)) tag.def.description = q.Text(8);
      if (!q.IsNull(9)) tag.def.deadband = q.Double(9);
      if (!q.IsNull(10)) tag.def.writable = q.Int(10) != 0;
      if (!q.IsNull(11) || !q.IsNull(12)) tag.def.binding = TagBinding{q.Text(11), q.Text(12)};
      if (!q.IsNull(13)) tag.def.critical = q.Int(13) != 0;
      tag.series_key = q.Text(14);
      auto asset = state->assets.find(tag.asset_id);
      if (asset == state->assets.end()) {
        return Status::Corruption(fmt::format("tag {} belongs to missing asset {}", tag.id, tag.asset_id), db->path(), 0);
      }
      asset->second.tag_ids.push_back(tag.id);
      state->by_series_key[tag.series_key] = tag.id;
      state->tags.emplace(tag.id, std::move(tag));
    }
  }
  if (state->root != 0) ReindexSubtree(state, state->root);
  {
    SF_ASSIGN_OR_RETURN(meta::Statement q, db->Prepare("SELECT COALESCE(MAX(version), 0) FROM changes"));
    SF_ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) state->version = static_cast<uint64_t>(q.Int(0));
  }
  return Status::OK();
}

}  // namespace internal

AssetStore::AssetStore(meta::Db* db, core::Clock* clock) : db_(db), clock_(clock), state_(std::make_unique<State>()) {}
AssetStore::~AssetStore() = default;

Result<std::unique_ptr<AssetStore>> AssetStore::Open(meta::Db* db, core::Clock* clock) {
  SF_RETURN_IF_ERROR(db->Migrate("model", kMigrations));
  std::unique_ptr<AssetStore> store(new AssetStore(db, clock));
  SF_RETURN_IF_ERROR(internal::LoadState(db, store->state_.get()));
  return store;
}

Result<Asset> AssetStore::GetAsset(int64_t id) const {
  std::shared_lock lock(mu_);
  auto it = state_->assets.find(id);
  if (it == state_->assets.end()) return Status::NotFound(fmt::format("asset {} not found", id));
  return internal::MakeAsset(*state_, it->second);
}

Result<Asset> AssetStore::FindAsset(std::string_view path) const {
  std::shared_lock lock(mu_);
  auto it = state_->by_path.find(path);
  if (it == state_->by_path.end()) return Status::NotFound(fmt::format("asset \"{}\" not found", path));
  return internal::MakeAsset(*state_, state_->assets.at(it->second));
}

Result<std::vector<Asset>> AssetStore::Children(int64_t id) const {
  std::shared_lock lock(mu_);
  auto it = state_->assets.find(id);
  if (it == state_->assets.end()) return Status::NotFound(fmt::format("asset {} not found", id));
  std::vector<Asset> children;
  for (int64_t child : it->second.children) children.push_back(internal::MakeAsset(*state_, state_->assets.at(child)));
  return children;
}

namespace {
void CollectPreOrder(const State& state, int64_t id, std::vector<Asset>* out) {
  const State::AssetRow& row = state.assets.at(id);
  out->push_back(internal::MakeAsset(state, row));
  for (int64_t child : row.children) CollectPreOrder(state, child, out);
}
}  // namespace

Result<std::vector<Asset>> AssetStore::Subtree(std::string_view path) const {
  std::shared_lock lock(mu_);
  auto it = state_->by_path.find(path);
  if (it == state_->by_path.end()) return Status::NotFound(fmt::format("asset \"{}\" not found", path));
  std::vector<Asset> out;
  CollectPreOrder(*state_, it->second, &out);
  return out;
}

std::vector<Asset> AssetStore::AllAssets() const {
  std::shared_lock lock(mu_);
  std::vector<Asset> out;
  if (state_->root != 0) CollectPreOrder(*state_, state_->root, &out);
  return out;
}

std::vector<AssetType> AssetStore::ListTypes() const {
  std::shared_lock lock(mu_);
  std::vector<AssetType> out;
  for (const auto& [name, type] : state_->types) out.push_back(type);
  return out;
}

Result<AssetType> AssetStore::GetType(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = state_->types.find(name);
  if (it == state_->types.end()) return Status::NotFound(fmt::format("asset type \"{}\" not found", name));
  return it->second;
}

Result<Tag> AssetStore::FindTag(std::string_view asset_path, std::string_view tag_name) const {
  std::shared_lock lock(mu_);
  auto it = state_->by_current_key.find(fmt::format("{}/{}", asset_path, tag_name));
  if (it == state_->by_current_key.end()) {
    if (state_->by_path.find(asset_path) == state_->by_path.end()) {
      return Status::NotFound(fmt::format("asset \"{}\" not found", asset_path));
    }
    return Status::NotFound(fmt::format("asset \"{}\" has no tag \"{}\"", asset_path, tag_name));
  }
  return internal::EffectiveTag(*state_, state_->tags.at(it->second));
}

Result<Tag> AssetStore::FindTagBySeriesKey(std::string_view series_key) const {
  std::shared_lock lock(mu_);
  auto it = state_->by_series_key.find(series_key);
  if (it == state_->by_series_key.end()) return Status::NotFound(fmt::format("no tag has series key \"{}\"", series_key));
  return internal::EffectiveTag(*state_, state_->tags.at(it->second));
}

Result<std::string> AssetStore::CurrentKeyToSeriesKey(std::string_view current_key) const {
  std::shared_lock lock(mu_);
  auto it = state_->by_current_key.find(current_key);
  if (it == state_->by_current_key.end()) return Status::NotFound(fmt::format("no tag has key \"{}\"", current_key));
  return state_->tags.at(it->second).series_key;
}

Result<std::string> AssetStore::SiteOf(std::string_view path) const {
  std::shared_lock lock(mu_);
  auto it = state_->by_path.find(path);
  if (it == state_->by_path.end()) return Status::NotFound(fmt::format("asset \"{}\" not found", path));
  const State::AssetRow* row = &state_->assets.at(it->second);
  while (row->level != AssetLevel::kSite) {
    if (row->parent_id == 0) return std::string();
    row = &state_->assets.at(row->parent_id);
  }
  return row->name;
}

core::Result<std::vector<ModelChange>> AssetStore::Changes(uint64_t after_version, size_t limit,
                                                           std::string_view target_prefix) const {
  SF_ASSIGN_OR_RETURN(meta::Statement st,
                      db_->Prepare("SELECT version, ts, actor, kind, target, before, after FROM changes "
                                   "WHERE version > ?1 AND substr(target, 1, length(?2)) = ?2 "
                                   "ORDER BY version LIMIT ?3"));
  st.Bind(1, static_cast<int64_t>(after_version)).Bind(2, target_prefix).Bind(3, static_cast<int64_t>(limit));
  std::vector<ModelChange> out;
  while (true) {
    SF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ModelChange{static_cast<uint64_t>(st.Int(0)), st.Int(1), st.Text(2), st.Text(3), st.Text(4),
                              st.Text(5), st.Text(6)});
  }
  return out;
}

uint64_t AssetStore::version() const {
  std::shared_lock lock(mu_);
  return state_->version;
}

int AssetStore::AddListener(Listener listener) {
  std::lock_guard lock(listeners_mu_);
  int handle = next_listener_++;
  listeners_.emplace(handle, std::move(listener));
  return handle;
}

void AssetStore::RemoveListener(int handle) {
  std::lock_guard lock(listeners_mu_);
  listeners_.erase(handle);
}

}  // namespace shopfloor::model
