// Internal to sf_model: the in-memory copy of the asset model behind AssetStore, the
// SQL that mirrors it, and the JSON forms used in change records and twin state.
//
// Invariant: between public calls, State equals what the "model" tables hold. A write
// mutates SQL and State together inside one transaction; if anything fails after the
// transaction began, the transaction rolls back and State is reloaded from the database.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/asset_store.h"

namespace shopfloor::model::internal {

struct ModelState {
  struct AssetRow {
    int64_t id = 0;
    int64_t parent_id = 0;
    AssetLevel level = AssetLevel::kEnterprise;
    std::string name;
    std::string type;
    std::string description;
    std::map<std::string, std::string> attributes;
    std::string path;               // derived
    std::vector<int64_t> children;  // ascending ids
    std::vector<int64_t> tag_ids;   // ascending ids
  };
  struct TagRow {
    int64_t id = 0;
    int64_t asset_id = 0;
    bool from_type = false;
    TagDef def;  // own tag: the definition; inherited: the overrides
    std::string series_key;
  };

  std::map<int64_t, AssetRow> assets;
  std::map<int64_t, TagRow> tags;
  std::map<std::string, AssetType, std::less<>> types;
  std::map<std::string, int64_t, std::less<>> by_path;         // asset path -> id
  std::map<std::string, int64_t, std::less<>> by_series_key;   // series key -> tag id
  std::map<std::string, int64_t, std::less<>> by_current_key;  // "<path>/<tag>" -> tag id
  int64_t root = 0;  // the enterprise, 0 when the model is empty
  uint64_t version = 0;
};

using State = ModelState;

// ---- pure helpers (asset_store.cc) ----
const TagDef* FindTypeTag(const AssetType& type, std::string_view name);
// The tag `def` describes: over `type_tag` (fields of def override) when given, else alone
// with defaults for unset fields. id, asset_id, series_key and from_type stay unset.
Tag ResolveTag(const TagDef* type_tag, const TagDef& def);
// The overrides that turn `type_tag` into `effective` (only the differing fields set).
TagDef DiffTag(const TagDef& type_tag, const Tag& effective);
// All fields of `tag` as a definition.
TagDef DefOf(const Tag& tag);
// The effective tag of a row (type overlaid by overrides, or own definition with defaults).
Tag EffectiveTag(const State& state, const State::TagRow& row);
Asset MakeAsset(const State& state, const State::AssetRow& row);
// The tags of `row` in effective order: the type's order, then own tags by id.
std::vector<const State::TagRow*> OrderedTags(const State& state, const State::AssetRow& row);
// Checks an effective tag; `what` prefixes messages (e.g. `tag "speed"`).
core::Status ValidateTag(const Tag& tag, bool is_template);
// Which levels may hold which: true when `child` may sit under `parent`.
bool LevelMayHold(AssetLevel parent, AssetLevel child);
std::string LevelList(AssetLevel parent);  // "area" / "line or machine" for messages

// ---- loading (asset_store.cc) ----
core::Status LoadState(meta::Db* db, State* state);
// Recomputes paths and key indexes of `id` and its subtree (after a rename or move).
void ReindexSubtree(State* state, int64_t id);

// ---- JSON (model_json.cc) ----
nlohmann::json TagToJson(const Tag& tag);
nlohmann::json TagDefToJson(const TagDef& def);
core::Result<TagDef> TagDefFromJson(const nlohmann::json& json, std::string_view where);
nlohmann::json AssetToJson(const Asset& asset);
nlohmann::json TypeToJson(const AssetType& type);
nlohmann::json ValueToJson(const core::Value& value);
core::Result<core::Value> ValueFromJson(const nlohmann::json& json, std::string_view where);
core::Result<core::ValueType> ParseValueType(std::string_view name);
// A JSON text that never throws on odd strings (invalid UTF-8 is replaced).
std::string Dump(const nlohmann::json& json);

}  // namespace shopfloor::model::internal
