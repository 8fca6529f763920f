// AssetStore writes: the rules of each operation (levels, names, types, tags) and the
// public entry points that wrap them in AssetStoreWriter::Run.
#include <algorithm>

#include <fmt/format.h>

#include "model/asset_store_writer.h"

namespace shopfloor::model {

using core::Result;
using core::Status;
using internal::State;
using nlohmann::json;

namespace {

Status BadName(std::string_view field, std::string_view name) {
  return Status::InvalidArgument(fmt::format(
      "{}: \"{}\" is not a valid name (1..128 characters from [A-Za-z0-9_.-], not \".\" or \"..\")", field, name));
}

Status CheckAttributes(const std::map<std::string, std::string>& attributes) {
  for (const auto& [key, value] : attributes) {
    if (key.empty() || key.size() > 128) {
      return Status::InvalidArgument(fmt::format("attributes: key \"{}\" must be 1..128 characters", key));
    }
    if (value.size() > 4096) {
      return Status::InvalidArgument(fmt::format("attributes: value of \"{}\" is longer than 4096 bytes", key));
    }
  }
  return Status::OK();
}

Status AssetNotFound(int64_t id) { return Status::NotFound(fmt::format("asset {} not found", id)); }

json AssetJson(const State& state, int64_t id) { return internal::AssetToJson(internal::MakeAsset(state, state.assets.at(id))); }

}  // namespace

Result<int64_t> AssetStoreWriter::CreateAsset(std::string_view actor, const NewAsset& spec) {
  if (!IsValidName(spec.name)) return BadName("name", spec.name);
  int64_t parent_id = 0;
  if (spec.parent_path.empty()) {
    if (spec.level != AssetLevel::kEnterprise) {
      return Status::InvalidArgument(fmt::format("parent: a {} needs a parent (only the enterprise has none)",
                                                 AssetLevelName(spec.level)));
    }
    if (state_.root != 0) {
      return Status::AlreadyExists(
          fmt::format("level: the model already has an enterprise (\"{}\")", state_.assets.at(state_.root).name));
    }
  } else {
    auto parent = state_.by_path.find(spec.parent_path);
    if (parent == state_.by_path.end()) {
      return Status::NotFound(fmt::format("parent: asset \"{}\" not found", spec.parent_path));
    }
    parent_id = parent->second;
    AssetLevel parent_level = state_.assets.at(parent_id).level;
    if (!internal::LevelMayHold(parent_level, spec.level)) {
      return Status::InvalidArgument(fmt::format("level: a {} may hold only a {}, not a {}", AssetLevelName(parent_level),
                                                 internal::LevelList(parent_level), AssetLevelName(spec.level)));
    }
    SF_RETURN_IF_ERROR(CheckSiblingName(parent_id, spec.name, 0));
  }
  SF_RETURN_IF_ERROR(CheckType(spec.level, spec.type));
  SF_RETURN_IF_ERROR(CheckAttributes(spec.attributes));
  const AssetType* type = spec.type.empty() ? nullptr : &state_.types.find(spec.type)->second;
  for (size_t i = 0; i < spec.tags.size(); ++i) {
    const TagDef& def = spec.tags[i];
    std::string where = fmt::format("tag \"{}\"", def.name);
    if (!IsValidName(def.name)) return BadName("tag name", def.name);
    for (size_t j = 0; j < i; ++j) {
      if (spec.tags[j].name == def.name) return Status::InvalidArgument(where + ": defined twice");
    }
    const TagDef* base = type != nullptr ? internal::FindTypeTag(*type, def.name) : nullptr;
    if (base == nullptr && !def.type) return Status::InvalidArgument(where + ": \"type\" is required");
    SF_RETURN_IF_ERROR(internal::ValidateTag(internal::ResolveTag(base, def), /*is_template=*/false));
  }

  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare(
      "INSERT INTO assets(parent_id, level, name, type, description, attributes) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"));
  q.Bind(1, parent_id == 0 ? std::optional<int64_t>() : parent_id);
  q.Bind(2, int64_t{static_cast<int>(spec.level)}).Bind(3, spec.name).Bind(4, spec.type).Bind(5, spec.description);
  q.Bind(6, internal::Dump(json(spec.attributes)));
  SF_RETURN_IF_ERROR(q.Run());
  int64_t id = db_->LastInsertRowId();
  State::AssetRow row;
  row.id = id;
  row.parent_id = parent_id;
  row.level = spec.level;
  row.name = spec.name;
  row.type = spec.type;
  row.description = spec.description;
  row.attributes = spec.attributes;
  state_.assets.emplace(id, std::move(row));
  if (parent_id == 0) {
    state_.root = id;
  } else {
    state_.assets.at(parent_id).children.push_back(id);
  }
  internal::ReindexSubtree(&state_, id);
  if (type != nullptr) {
    for (const TagDef& type_tag : type->tags) {
      TagDef overrides;
      overrides.name = type_tag.name;
      for (const TagDef& def : spec.tags) {
        if (def.name == type_tag.name) overrides = def;
      }
      SF_RETURN_IF_ERROR(InsertTagRow(id, /*from_type=*/true, overrides).status());
    }
  }
  for (const TagDef& def : spec.tags) {
    if (type != nullptr && internal::FindTypeTag(*type, def.name) != nullptr) continue;
    SF_RETURN_IF_ERROR(InsertTagRow(id, /*from_type=*/false, def).status());
  }
  const std::string path = state_.assets.at(id).path;
  SF_RETURN_IF_ERROR(Record(actor, "asset.created", path, path, nullptr, AssetJson(state_, id)));
  return id;
}

Status AssetStoreWriter::UpdateAsset(std::string_view actor, int64_t id, const AssetPatch& patch) {
  auto it = state_.assets.find(id);
  if (it == state_.assets.end()) return AssetNotFound(id);
  State::AssetRow& row = it->second;
  json before = AssetJson(state_, id);
  int64_t new_parent = patch.parent_id.value_or(row.parent_id);
  std::string new_name = patch.name.value_or(row.name);
  if (patch.name && !IsValidName(new_name)) return BadName("name", new_name);
  if (patch.parent_id && new_parent != row.parent_id) {
    if (row.parent_id == 0) return Status::InvalidArgument("parent: the enterprise cannot be moved");
    auto parent = state_.assets.find(new_parent);
    if (parent == state_.assets.end()) return Status::NotFound(fmt::format("parent: asset {} not found", new_parent));
    for (int64_t up = new_parent; up != 0; up = state_.assets.at(up).parent_id) {
      if (up == id) {
        return Status::InvalidArgument(
            fmt::format("parent: cannot move \"{}\" under itself or one of its descendants", row.path));
      }
    }
    if (!internal::LevelMayHold(parent->second.level, row.level)) {
      return Status::InvalidArgument(fmt::format("parent: a {} may hold only a {}, not a {}",
                                                 AssetLevelName(parent->second.level),
                                                 internal::LevelList(parent->second.level), AssetLevelName(row.level)));
    }
  }
  SF_RETURN_IF_ERROR(CheckSiblingName(new_parent, new_name, id));
  if (patch.type) SF_RETURN_IF_ERROR(CheckType(row.level, *patch.type));
  if (patch.attributes) SF_RETURN_IF_ERROR(CheckAttributes(*patch.attributes));

  if (new_parent != row.parent_id) {
    std::erase(state_.assets.at(row.parent_id).children, id);
    auto& siblings = state_.assets.at(new_parent).children;
    siblings.insert(std::upper_bound(siblings.begin(), siblings.end(), id), id);
    row.parent_id = new_parent;
  }
  row.name = new_name;
  if (patch.description) row.description = *patch.description;
  if (patch.attributes) row.attributes = *patch.attributes;
  internal::ReindexSubtree(&state_, id);
  if (patch.type && *patch.type != row.type) {
    std::optional<AssetType> old_type;
    if (auto t = state_.types.find(row.type); t != state_.types.end()) old_type = t->second;
    row.type = *patch.type;
    SF_RETURN_IF_ERROR(SyncTypeTags(id, old_type ? &*old_type : nullptr, /*keep_dropped=*/true));
  }
  SF_RETURN_IF_ERROR(SaveAssetRow(row));
  return Record(actor, "asset.updated", row.path, row.path, before, AssetJson(state_, id));
}

Status AssetStoreWriter::DeleteAssetRow(int64_t id) {
  State::AssetRow& row = state_.assets.at(id);
  for (int64_t child : std::vector<int64_t>(row.children)) SF_RETURN_IF_ERROR(DeleteAssetRow(child));
  for (int64_t tag : std::vector<int64_t>(row.tag_ids)) SF_RETURN_IF_ERROR(DeleteTagRow(tag));
  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare("DELETE FROM assets WHERE id=?1"));
  q.Bind(1, id);
  SF_RETURN_IF_ERROR(q.Run());
  state_.by_path.erase(row.path);
  if (row.parent_id == 0) {
    state_.root = 0;
  } else {
    std::erase(state_.assets.at(row.parent_id).children, id);
  }
  state_.assets.erase(id);
  return Status::OK();
}

Status AssetStoreWriter::DeleteAsset(std::string_view actor, int64_t id, bool recursive) {
  auto it = state_.assets.find(id);
  if (it == state_.assets.end()) return AssetNotFound(id);
  const State::AssetRow& row = it->second;
  if (!row.children.empty() && !recursive) {
    return Status::InvalidArgument(fmt::format(
        "asset \"{}\" has {} children; delete them first or delete recursively", row.path, row.children.size()));
  }
  json before = AssetJson(state_, id);
  json descendants = json::array();
  std::vector<int64_t> stack(row.children.begin(), row.children.end());
  while (!stack.empty()) {
    const State::AssetRow& child = state_.assets.at(stack.back());
    stack.pop_back();
    descendants.push_back(child.path);
    stack.insert(stack.end(), child.children.begin(), child.children.end());
  }
  before["deleted_descendants"] = std::move(descendants);
  const std::string path = row.path;
  SF_RETURN_IF_ERROR(DeleteAssetRow(id));
  return Record(actor, "asset.deleted", path, path, before, nullptr);
}

Status AssetStoreWriter::CreateType(std::string_view actor, const AssetType& type) {
  SF_RETURN_IF_ERROR(CheckTypeDef(type));
  if (state_.types.count(type.name) != 0) {
    return Status::AlreadyExists(fmt::format("name: asset type \"{}\" already exists", type.name));
  }
  SF_RETURN_IF_ERROR(SaveType(type, /*insert=*/true));
  state_.types.emplace(type.name, type);
  return Record(actor, "type.created", "type:" + type.name, "", nullptr, internal::TypeToJson(type));
}

Status AssetStoreWriter::UpdateType(std::string_view actor, const AssetType& type) {
  SF_RETURN_IF_ERROR(CheckTypeDef(type));
  auto it = state_.types.find(type.name);
  if (it == state_.types.end()) return Status::NotFound(fmt::format("asset type \"{}\" not found", type.name));
  AssetType old_type = it->second;
  SF_RETURN_IF_ERROR(SaveType(type, /*insert=*/false));
  it->second = type;
  for (auto& [id, asset] : state_.assets) {
    if (asset.type == type.name) SF_RETURN_IF_ERROR(SyncTypeTags(id, &old_type, /*keep_dropped=*/false));
  }
  return Record(actor, "type.updated", "type:" + type.name, "", internal::TypeToJson(old_type),
                internal::TypeToJson(type));
}

Status AssetStoreWriter::DeleteType(std::string_view actor, std::string_view name) {
  auto it = state_.types.find(name);
  if (it == state_.types.end()) return Status::NotFound(fmt::format("asset type \"{}\" not found", name));
  std::vector<std::string> users;
  for (const auto& [id, asset] : state_.assets) {
    if (asset.type == name) users.push_back(asset.path);
  }
  if (!users.empty()) {
    return Status::InvalidArgument(fmt::format("asset type \"{}\" is used by {} asset(s) (e.g. \"{}\"); change them first",
                                               name, users.size(), users.front()));
  }
  json before = internal::TypeToJson(it->second);
  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare("DELETE FROM asset_types WHERE name=?1"));
  q.Bind(1, name);
  SF_RETURN_IF_ERROR(q.Run());
  state_.types.erase(it);
  return Record(actor, "type.deleted", fmt::format("type:{}", name), "", before, nullptr);
}

Result<int64_t> AssetStoreWriter::UpsertTag(std::string_view actor, int64_t asset_id, const TagDef& def) {
  auto it = state_.assets.find(asset_id);
  if (it == state_.assets.end()) return AssetNotFound(asset_id);
  if (!IsValidName(def.name)) return BadName("tag name", def.name);
  const State::AssetRow& asset = it->second;
  std::string target = asset.path + "/" + def.name;
  auto existing = state_.by_current_key.find(target);
  if (existing != state_.by_current_key.end()) {
    State::TagRow& row = state_.tags.at(existing->second);
    if (!row.from_type && !def.type) return Status::InvalidArgument(fmt::format("tag \"{}\": \"type\" is required", def.name));
    json before = internal::TagToJson(internal::EffectiveTag(state_, row));
    row.def = def;
    SF_RETURN_IF_ERROR(internal::ValidateTag(internal::EffectiveTag(state_, row), /*is_template=*/false));
    SF_RETURN_IF_ERROR(SaveTagRow(row));
    SF_RETURN_IF_ERROR(Record(actor, "tag.updated", target, asset.path, before,
                              internal::TagToJson(internal::EffectiveTag(state_, row))));
    return row.id;
  }
  if (!def.type) return Status::InvalidArgument(fmt::format("tag \"{}\": \"type\" is required", def.name));
  SF_RETURN_IF_ERROR(internal::ValidateTag(internal::ResolveTag(nullptr, def), /*is_template=*/false));
  SF_ASSIGN_OR_RETURN(int64_t id, InsertTagRow(asset_id, /*from_type=*/false, def));
  SF_RETURN_IF_ERROR(Record(actor, "tag.created", target, asset.path, nullptr,
                            internal::TagToJson(internal::EffectiveTag(state_, state_.tags.at(id)))));
  return id;
}

Status AssetStoreWriter::DeleteTag(std::string_view actor, int64_t asset_id, std::string_view tag_name) {
  auto it = state_.assets.find(asset_id);
  if (it == state_.assets.end()) return AssetNotFound(asset_id);
  std::string target = fmt::format("{}/{}", it->second.path, tag_name);
  auto existing = state_.by_current_key.find(target);
  if (existing == state_.by_current_key.end()) {
    return Status::NotFound(fmt::format("asset \"{}\" has no tag \"{}\"", it->second.path, tag_name));
  }
  const State::TagRow& row = state_.tags.at(existing->second);
  if (row.from_type) {
    return Status::InvalidArgument(fmt::format("tag \"{}\" is inherited from asset type \"{}\"; change the type instead",
                                               tag_name, it->second.type));
  }
  json before = internal::TagToJson(internal::EffectiveTag(state_, row));
  SF_RETURN_IF_ERROR(DeleteTagRow(row.id));
  return Record(actor, "tag.deleted", target, it->second.path, before, nullptr);
}

// ---- public entry points ----

Result<Asset> AssetStore::CreateAsset(std::string_view actor, const NewAsset& asset) {
  int64_t id = 0;
  SF_RETURN_IF_ERROR(AssetStoreWriter::Run(this, [&](AssetStoreWriter& w) -> Status {
    SF_ASSIGN_OR_RETURN(id, w.CreateAsset(actor, asset));
    return Status::OK();
  }));
  return GetAsset(id);
}

Result<Asset> AssetStore::UpdateAsset(std::string_view actor, int64_t id, const AssetPatch& patch) {
  SF_RETURN_IF_ERROR(AssetStoreWriter::Run(this, [&](AssetStoreWriter& w) { return w.UpdateAsset(actor, id, patch); }));
  return GetAsset(id);
}

Status AssetStore::DeleteAsset(std::string_view actor, int64_t id, bool recursive) {
  return AssetStoreWriter::Run(this, [&](AssetStoreWriter& w) { return w.DeleteAsset(actor, id, recursive); });
}

Result<AssetType> AssetStore::CreateType(std::string_view actor, const AssetType& type) {
  SF_RETURN_IF_ERROR(AssetStoreWriter::Run(this, [&](AssetStoreWriter& w) { return w.CreateType(actor, type); }));
  return GetType(type.name);
}

Result<AssetType> AssetStore::UpdateType(std::string_view actor, const AssetType& type) {
  SF_RETURN_IF_ERROR(AssetStoreWriter::Run(this, [&](AssetStoreWriter& w) { return w.UpdateType(actor, type); }));
  return GetType(type.name);
}

Status AssetStore::DeleteType(std::string_view actor, std::string_view name) {
  return AssetStoreWriter::Run(this, [&](AssetStoreWriter& w) { return w.DeleteType(actor, name); });
}

Result<Tag> AssetStore::UpsertTag(std::string_view actor, int64_t asset_id, const TagDef& tag) {
  int64_t id = 0;
  SF_RETURN_IF_ERROR(AssetStoreWriter::Run(this, [&](AssetStoreWriter& w) -> Status {
    SF_ASSIGN_OR_RETURN(id, w.UpsertTag(actor, asset_id, tag));
    return Status::OK();
  }));
  std::shared_lock lock(mu_);
  auto it = state_->tags.find(id);
  if (it == state_->tags.end()) return Status::NotFound(fmt::format("tag \"{}\" was deleted meanwhile", tag.name));
  return internal::EffectiveTag(*state_, it->second);
}

Status AssetStore::DeleteTag(std::string_view actor, int64_t asset_id, std::string_view tag_name) {
  return AssetStoreWriter::Run(this, [&](AssetStoreWriter& w) { return w.DeleteTag(actor, asset_id, tag_name); });
}

}  // namespace shopfloor::model
