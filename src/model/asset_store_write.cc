// AssetStore writes: validation, the SQL mirror of each change, the change record and the
// listener notification. Every public write runs through AssetStoreWriter::Run.
#include <algorithm>
#include <mutex>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "model/asset_store_internal.h"
#include "model/asset_store_writer.h"

namespace shopfloor::model {

using core::Result;
using core::Status;
using internal::State;
using nlohmann::json;

namespace {

void BindOptional(meta::Statement& q, int index, const std::optional<std::string>& value) {
  if (value) q.Bind(index, *value); else q.BindNull(index);
}
void BindOptional(meta::Statement& q, int index, const std::optional<double>& value) {
  if (value) q.Bind(index, *value); else q.BindNull(index);
}
void BindOptional(meta::Statement& q, int index, const std::optional<bool>& value) {
  if (value) q.Bind(index, int64_t{*value ? 1 : 0}); else q.BindNull(index);
}

// Binds the definition columns (type .. critical) starting at `first`.
void BindDef(meta::Statement& q, int first, const TagDef& def) {
  if (def.type) q.Bind(first, core::ValueTypeName(*def.type)); else q.BindNull(first);
  BindOptional(q, first + 1, def.unit);
  if (def.range) q.Bind(first + 2, def.range->min).Bind(first + 3, def.range->max);
  else q.BindNull(first + 2).BindNull(first + 3);
  BindOptional(q, first + 4, def.description);
  BindOptional(q, first + 5, def.deadband);
  BindOptional(q, first + 6, def.writable);
  if (def.binding) q.Bind(first + 7, def.binding->source).Bind(first + 8, def.binding->address);
  else q.BindNull(first + 7).BindNull(first + 8);
  BindOptional(q, first + 9, def.critical);
}

std::string AttributesJson(const std::map<std::string, std::string>& attributes) {
  return internal::Dump(json(attributes));
}

}  // namespace

AssetStoreWriter::AssetStoreWriter(AssetStore* store) : store_(store), state_(*store->state_), db_(store->db_) {}

Status AssetStoreWriter::Run(AssetStore* store, const std::function<Status(AssetStoreWriter&)>& body) {
  std::vector<ModelEvent> events;
  {
    std::unique_lock lock(store->mu_);
    AssetStoreWriter writer(store);
    Status status;
    {
      auto txn = meta::Transaction::Begin(store->db_);
      if (!txn.ok()) return txn.status();
      status = body(writer);
      if (status.ok()) status = txn->Commit();
    }
    if (!status.ok()) {
      // The transaction rolled back: bring the in-memory model back to the database's.
      Status reload = internal::LoadState(store->db_, store->state_.get());
      if (!reload.ok()) spdlog::error("model.reload_failed error=\"{}\"", reload.ToString());
      return status;
    }
    events = std::move(writer.events_);
  }
  std::vector<AssetStore::Listener> listeners;
  {
    std::lock_guard lock(store->listeners_mu_);
    for (const auto& [handle, listener] : store->listeners_) listeners.push_back(listener);
  }
  for (const ModelEvent& event : events) {
    for (const auto& listener : listeners) listener(event);
  }
  return Status::OK();
}

Result<std::string> AssetStoreWriter::GetMeta(std::string_view key) {
  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare("SELECT value FROM model_meta WHERE key=?1"));
  q.Bind(1, key);
  SF_ASSIGN_OR_RETURN(bool row, q.Step());
  return row ? q.Text(0) : std::string();
}

Status AssetStoreWriter::SetMeta(std::string_view key, std::string_view value) {
  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare(
      "INSERT INTO model_meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value=excluded.value"));
  q.Bind(1, key).Bind(2, value);
  return q.Run();
}

Status AssetStoreWriter::Record(std::string_view actor, std::string_view kind, std::string_view target,
                                std::string_view asset_path, const json& before, const json& after) {
  uint64_t version = state_.version + 1;
  core::Timestamp now = store_->clock_->Now();
  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare(
      "INSERT INTO changes(version, ts, actor, kind, target, before, after) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  q.Bind(1, static_cast<int64_t>(version)).Bind(2, now).Bind(3, actor).Bind(4, kind).Bind(5, target);
  q.Bind(6, internal::Dump(before)).Bind(7, internal::Dump(after));
  SF_RETURN_IF_ERROR(q.Run());
  state_.version = version;
  spdlog::info("model.changed version={} kind={} target={} actor={}", version, kind, target, actor);
  ModelEvent event;
  event.ts = now;
  event.kind = "model.changed";
  event.asset_path = std::string(asset_path);
  event.actor = std::string(actor);
  event.message = fmt::format("{} {}", kind, target);
  event.data_json = internal::Dump(json{{"version", version}, {"change", kind}, {"target", target}});
  events_.push_back(std::move(event));
  return Status::OK();
}

// ---- row-level operations: SQL and State together ----

Status AssetStoreWriter::SaveAssetRow(const State::AssetRow& row) {
  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare(
      "UPDATE assets SET parent_id=?2, level=?3, name=?4, type=?5, description=?6, attributes=?7 WHERE id=?1"));
  q.Bind(1, row.id).Bind(2, row.parent_id == 0 ? std::optional<int64_t>() : row.parent_id);
  q.Bind(3, int64_t{static_cast<int>(row.level)}).Bind(4, row.name).Bind(5, row.type).Bind(6, row.description);
  q.Bind(7, AttributesJson(row.attributes));
  return q.Run();
}

Result<int64_t> AssetStoreWriter::InsertTagRow(int64_t asset_id, bool from_type, const TagDef& def) {
  State::AssetRow& asset = state_.assets.at(asset_id);
  std::string key = asset.path + "/" + def.name;
  bool taken = state_.by_series_key.count(key) != 0;
  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare(
      "INSERT INTO tags(asset_id, name, from_type, type, unit, range_min, range_max, description, deadband, "
      "writable, binding_source, binding_address, critical, series_key) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"));
  q.Bind(1, asset_id).Bind(2, def.name).Bind(3, int64_t{from_type ? 1 : 0});
  BindDef(q, 4, def);
  q.Bind(14, taken ? key + "~new" : key);
  SF_RETURN_IF_ERROR(q.Run());
  int64_t id = db_->LastInsertRowId();
  if (taken) {
    // The natural key belongs to a live tag (see the header): give this one its own series.
    key = fmt::format("{}~{}", key, id);
    SF_ASSIGN_OR_RETURN(meta::Statement up, db_->Prepare("UPDATE tags SET series_key=?2 WHERE id=?1"));
    up.Bind(1, id).Bind(2, key);
    SF_RETURN_IF_ERROR(up.Run());
  }
  State::TagRow row;
  row.id = id;
  row.asset_id = asset_id;
  row.from_type = from_type;
  row.def = def;
  row.series_key = key;
  state_.tags.emplace(id, std::move(row));
  asset.tag_ids.push_back(id);
  state_.by_series_key[key] = id;
  state_.by_current_key[asset.path + "/" + def.name] = id;
  return id;
}

Status AssetStoreWriter::SaveTagRow(const State::TagRow& row) {
  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare(
      "UPDATE tags SET from_type=?2, type=?3, unit=?4, range_min=?5, range_max=?6, description=?7, deadband=?8, "
      "writable=?9, binding_source=?10, binding_address=?11, critical=?12 WHERE id=?1"));
  q.Bind(1, row.id).Bind(2, int64_t{row.from_type ? 1 : 0});
  BindDef(q, 3, row.def);
  return q.Run();
}

Status AssetStoreWriter::DeleteTagRow(int64_t tag_id) {
  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare("DELETE FROM tags WHERE id=?1"));
  q.Bind(1, tag_id);
  SF_RETURN_IF_ERROR(q.Run());
  State::TagRow& row = state_.tags.at(tag_id);
  State::AssetRow& asset = state_.assets.at(row.asset_id);
  state_.by_series_key.erase(row.series_key);
  state_.by_current_key.erase(asset.path + "/" + row.def.name);
  std::erase(asset.tag_ids, tag_id);
  state_.tags.erase(tag_id);
  return Status::OK();
}

Status AssetStoreWriter::SaveType(const AssetType& type, bool insert) {
  json tags = json::array();
  for (const TagDef& tag : type.tags) tags.push_back(internal::TagDefToJson(tag));
  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare(
      insert ? "INSERT INTO asset_types(name, description, tags) VALUES(?1, ?2, ?3)"
             : "UPDATE asset_types SET description=?2, tags=?3 WHERE name=?1"));
  q.Bind(1, type.name).Bind(2, type.description).Bind(3, internal::Dump(tags));
  return q.Run();
}

Status AssetStoreWriter::ValidateAssetTags(int64_t asset_id) {
  const State::AssetRow& asset = state_.assets.at(asset_id);
  for (int64_t id : asset.tag_ids) {
    Status s = internal::ValidateTag(internal::EffectiveTag(state_, state_.tags.at(id)), /*is_template=*/false);
    if (!s.ok()) return Status::InvalidArgument(fmt::format("asset \"{}\": {}", asset.path, s.message()));
  }
  return Status::OK();
}

Status AssetStoreWriter::SyncTypeTags(int64_t asset_id, const AssetType* old_type, bool keep_dropped) {
  State::AssetRow& asset = state_.assets.at(asset_id);
  auto type_it = state_.types.find(asset.type);
  const AssetType* new_type = type_it == state_.types.end() ? nullptr : &type_it->second;
  std::vector<int64_t> ids = asset.tag_ids;
  for (int64_t id : ids) {
    State::TagRow& row = state_.tags.at(id);
    const TagDef* new_base = new_type != nullptr ? internal::FindTypeTag(*new_type, row.def.name) : nullptr;
    const TagDef* old_base = (row.from_type && old_type != nullptr) ? internal::FindTypeTag(*old_type, row.def.name)
                                                                     : nullptr;
    Tag effective = internal::ResolveTag(row.from_type ? old_base : nullptr, row.def);
    if (new_base != nullptr) {
      if (row.from_type && old_base == nullptr) continue;  // already follows the current type
      if (row.from_type && old_type != nullptr && old_type->name == asset.type) continue;  // type edit: keep overrides
      row.from_type = true;
      row.def = internal::DiffTag(*new_base, effective);
      SF_RETURN_IF_ERROR(SaveTagRow(row));
    } else if (row.from_type) {
      if (!keep_dropped) {
        SF_RETURN_IF_ERROR(DeleteTagRow(id));
        continue;
      }
      row.from_type = false;
      row.def = internal::DefOf(effective);
      SF_RETURN_IF_ERROR(SaveTagRow(row));
    }
  }
  if (new_type != nullptr) {
    for (const TagDef& type_tag : new_type->tags) {
      bool present = std::any_of(asset.tag_ids.begin(), asset.tag_ids.end(),
                                 [&](int64_t id) { return state_.tags.at(id).def.name == type_tag.name; });
      if (!present) {
        TagDef overrides;
        overrides.name = type_tag.name;
        SF_RETURN_IF_ERROR(InsertTagRow(asset_id, /*from_type=*/true, overrides).status());
      }
    }
  }
  return ValidateAssetTags(asset_id);
}

Status AssetStoreWriter::CheckSiblingName(int64_t parent_id, std::string_view name, int64_t self) const {
  if (parent_id == 0) return Status::OK();
  const State::AssetRow& parent = state_.assets.at(parent_id);
  for (int64_t child : parent.children) {
    if (child != self && state_.assets.at(child).name == name) {
      return Status::AlreadyExists(fmt::format("name: \"{}\" already exists under \"{}\"", name, parent.path));
    }
  }
  return Status::OK();
}

Status AssetStoreWriter::CheckType(AssetLevel level, std::string_view type) const {
  if (type.empty()) return Status::OK();
  if (level != AssetLevel::kMachine) {
    return Status::InvalidArgument(fmt::format("type: only machines have an asset type (this asset is a {})",
                                               AssetLevelName(level)));
  }
  if (state_.types.find(type) == state_.types.end()) {
    return Status::NotFound(fmt::format("type: asset type \"{}\" not found", type));
  }
  return Status::OK();
}

Status AssetStoreWriter::CheckTypeDef(const AssetType& type) const {
  if (!IsValidName(type.name)) {
    return Status::InvalidArgument(fmt::format(
        "name: \"{}\" is not a valid name (1..128 characters from [A-Za-z0-9_.-], not \".\" or \"..\")", type.name));
  }
  std::vector<std::string> seen;
  for (const TagDef& def : type.tags) {
    std::string where = fmt::format("asset type \"{}\": tag \"{}\"", type.name, def.name);
    if (!def.type) return Status::InvalidArgument(where + ": \"type\" is required");
    if (std::find(seen.begin(), seen.end(), def.name) != seen.end()) {
      return Status::InvalidArgument(where + ": defined twice");
    }
    seen.push_back(def.name);
    Status s = internal::ValidateTag(internal::ResolveTag(nullptr, def), /*is_template=*/true);
    if (!s.ok()) return Status::InvalidArgument(fmt::format("asset type \"{}\": {}", type.name, s.message()));
  }
  return Status::OK();
}

}  // namespace shopfloor::model
