// AssetStore::SeedFromConfig: the YAML plant config applied over the live model.
//
// Rules: a file hash equal to the last applied one changes nothing (API edits stand).
// Otherwise, in one transaction: types the YAML defines are created or replaced where they
// differ; assets are created where missing and updated (description, type) where they
// differ; tags the YAML defines are created or replaced where a YAML field differs (the
// critical flag, which YAML does not define, is kept). Nothing the YAML does not mention is
// removed. Each change is recorded under actor "config:<file>" and logged.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "model/asset_store_writer.h"

namespace shopfloor::model {

using core::Result;
using core::Status;
using internal::State;

namespace {

constexpr std::string_view kSeedHashKey = "seed_hash";
constexpr std::string_view kSeedFileKey = "seed_file";

TagDef FullDef(const TagConfig& tag) {
  TagDef def;
  def.name = tag.name;
  def.type = tag.type;
  def.unit = tag.unit;
  def.range = tag.range;
  def.description = tag.description;
  def.deadband = tag.deadband;
  def.writable = tag.writable;
  def.binding = tag.binding;
  return def;
}

AssetType TypeFromConfig(const AssetTypeConfig& config, const AssetType* existing) {
  AssetType type;
  type.name = config.name;
  type.description = config.description;
  for (const TagConfig& tag : config.tags) {
    TagDef def = FullDef(tag);
    const TagDef* old = existing != nullptr ? internal::FindTypeTag(*existing, tag.name) : nullptr;
    if (old != nullptr) def.critical = old->critical;
    type.tags.push_back(std::move(def));
  }
  return type;
}

// Equal in every field the YAML defines.
bool SameYamlFields(const Tag& a, const Tag& b) {
  nlohmann::json ja = internal::TagToJson(a);
  nlohmann::json jb = internal::TagToJson(b);
  for (const char* key : {"id", "critical", "series_key", "from_type"}) {
    ja.erase(key);
    jb.erase(key);
  }
  return ja == jb;
}

class Seeder {
 public:
  Seeder(AssetStoreWriter& writer, std::string actor, SeedReport* report)
      : writer_(writer), actor_(std::move(actor)), report_(report) {}

  Status Types(const PlantConfig& config) {
    for (const AssetTypeConfig& type_config : config.asset_types) {
      auto it = writer_.state().types.find(type_config.name);
      const AssetType* existing = it == writer_.state().types.end() ? nullptr : &it->second;
      AssetType type = TypeFromConfig(type_config, existing);
      if (existing == nullptr) {
        SF_RETURN_IF_ERROR(writer_.CreateType(actor_, type));
        Note(fmt::format("created asset type {}", type.name));
      } else if (internal::TypeToJson(*existing) != internal::TypeToJson(type)) {
        SF_RETURN_IF_ERROR(writer_.UpdateType(actor_, type));
        Note(fmt::format("updated asset type {}", type.name));
      }
    }
    return Status::OK();
  }

  Status Asset(const AssetConfig& config, const std::string& parent_path) {
    const State& state = writer_.state();
    auto found = state.by_path.find(config.path);
    if (found == state.by_path.end()) {
      NewAsset spec;
      spec.parent_path = parent_path;
      spec.level = config.level;
      spec.name = config.name;
      spec.type = config.type;
      spec.description = config.description;
      for (const TagConfig& tag : config.tags) spec.tags.push_back(DefFor(config, tag));
      SF_RETURN_IF_ERROR(writer_.CreateAsset(actor_, spec).status());
      Note(fmt::format("created {} {}", AssetLevelName(config.level), config.path));
    } else {
      const State::AssetRow& row = state.assets.at(found->second);
      if (row.level != config.level) {
        spdlog::warn("model.seed_skipped asset={} reason=\"a {} in the model, a {} in the file\"", config.path,
                     AssetLevelName(row.level), AssetLevelName(config.level));
        Note(fmt::format("skipped {}: a {} in the model, a {} in the file", config.path, AssetLevelName(row.level),
                         AssetLevelName(config.level)));
        return Status::OK();
      }
      int64_t id = row.id;
      AssetPatch patch;
      if (row.description != config.description) patch.description = config.description;
      if (row.type != config.type) patch.type = config.type;
      if (patch.description || patch.type) {
        SF_RETURN_IF_ERROR(writer_.UpdateAsset(actor_, id, patch));
        Note(fmt::format("updated {} {}", AssetLevelName(config.level), config.path));
      }
      for (const TagConfig& tag : config.tags) SF_RETURN_IF_ERROR(TagOf(id, config, tag));
    }
    for (const AssetConfig& child : config.children) SF_RETURN_IF_ERROR(Asset(child, config.path));
    return Status::OK();
  }

 private:
  // The store's definition of a YAML effective tag: overrides for an inherited tag.
  TagDef DefFor(const AssetConfig& asset, const TagConfig& tag) const {
    if (!asset.type.empty() && tag.asset_type == asset.type) {
      auto type = writer_.state().types.find(asset.type);
      if (type != writer_.state().types.end()) {
        if (const TagDef* base = internal::FindTypeTag(type->second, tag.name)) {
          return internal::DiffTag(*base, internal::ResolveTag(nullptr, FullDef(tag)));
        }
      }
    }
    return FullDef(tag);
  }

  Status TagOf(int64_t asset_id, const AssetConfig& asset, const TagConfig& tag) {
    const State& state = writer_.state();
    Tag wanted = internal::ResolveTag(nullptr, FullDef(tag));
    TagDef def = DefFor(asset, tag);
    auto found = state.by_current_key.find(asset.path + "/" + tag.name);
    if (found != state.by_current_key.end()) {
      const State::TagRow& row = state.tags.at(found->second);
      Tag current = internal::EffectiveTag(state, row);
      if (SameYamlFields(current, wanted)) return Status::OK();
      if (current.critical) def.critical = true;
      if (row.from_type) {
        auto type = state.types.find(asset.type);
        const TagDef* base = type == state.types.end() ? nullptr : internal::FindTypeTag(type->second, tag.name);
        if (base != nullptr) def = internal::DiffTag(*base, [&] { Tag t = wanted; t.critical = current.critical; return t; }());
      }
    }
    SF_RETURN_IF_ERROR(writer_.UpsertTag(actor_, asset_id, def).status());
    Note(fmt::format("{} tag {}/{}", found == state.by_current_key.end() ? "created" : "updated", asset.path, tag.name));
    return Status::OK();
  }

  void Note(std::string line) {
    spdlog::info("model.seed {}", line);
    report_->changes.push_back(std::move(line));
  }

  AssetStoreWriter& writer_;
  std::string actor_;
  SeedReport* report_;
};

}  // namespace

Result<SeedReport> AssetStore::SeedFromConfig(const PlantConfig& config, std::string_view file_name,
                                              std::string_view file_hash) {
  SeedReport report;
  SF_RETURN_IF_ERROR(AssetStoreWriter::Run(this, [&](AssetStoreWriter& writer) -> Status {
    SF_ASSIGN_OR_RETURN(std::string last_hash, writer.GetMeta(kSeedHashKey));
    if (!last_hash.empty() && last_hash == file_hash) return Status::OK();
    report.applied = true;
    Seeder seeder(writer, fmt::format("config:{}", file_name), &report);
    SF_RETURN_IF_ERROR(seeder.Types(config));
    SF_RETURN_IF_ERROR(seeder.Asset(config.enterprise, ""));
    SF_RETURN_IF_ERROR(writer.SetMeta(kSeedHashKey, file_hash));
    return writer.SetMeta(kSeedFileKey, file_name);
  }));
  if (report.applied) {
    spdlog::info("model.seeded file={} hash={} changes={}", file_name, file_hash, report.changes.size());
  }
  return report;
}

}  // namespace shopfloor::model
