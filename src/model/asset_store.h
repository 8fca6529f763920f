// AssetStore: the live, editable asset model (ISA-95 tree, asset types, tags) kept in the
// metadata database (meta.db, component "model"), beside the YAML plant config that seeds it.
//
// Identity. Assets and tags have integer ids that never change and are never reused.
// An asset's path is derived from its ancestors' names ("demo-works/stuttgart/utilities/
// compressor-1", the same rule as plant_config.h), so renaming or moving an asset changes
// the paths of it and its whole subtree.
//
// Series keys and history. A tag's `series_key` (the key of its series in the storage
// engine) is fixed when the tag is created: it is the tag's current key then,
// "<asset path>/<tag name>". Renaming or moving an asset therefore changes the tag's
// current key but not the series it reads and writes, so history stays attached. Callers
// that address data by current key translate it with CurrentKeyToSeriesKey(). If the
// natural key is already held by another live tag (an asset was renamed away and a new
// one took its old name), the new tag gets "<key>~<tag id>" so the two never share a
// series. A deleted tag frees its key: a tag created later under the same key continues
// that series.
//
// Types. A machine naming an asset type inherits the type's tags; each instance tag is its
// own row (own id and series_key) holding only the fields it overrides, so editing the
// type changes every instance that does not override the field. Adding a tag to a type
// adds it to every instance; removing it removes it from every instance. Changing or
// clearing an asset's type keeps the tags the new type shares by name; tags of the old
// type that the new one lacks become the asset's own tags with their effective values
// (their series stay). Only machines have types. A type in use cannot be deleted.
//
// Changes. Every write takes an `actor`, runs in one SQLite transaction, records one row
// in `changes` (version, ts, actor, kind, target, before JSON, after JSON) and increases
// version() by one. Listeners (AddListener) are called after the write committed, on the
// writer's thread, without the store's lock held, with an event of kind "model.changed"
// (bus-shaped, see ModelEvent); the server republishes it and drops its caches. The bus
// itself stays out of sf_model so that ingest may depend on model later without a cycle.
//
// Errors: InvalidArgument (a field is malformed or breaks a rule; the message names the
// field), NotFound (asset, type or tag), AlreadyExists (duplicate name among siblings,
// duplicate type, a second enterprise), and database failures as the Db reports them.
//
// Thread safety: all methods are thread-safe. Reads take a shared lock on the in-memory
// copy of the model; writes are serialized.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "core/types.h"
#include "meta/db.h"
#include "model/plant_config.h"

namespace shopfloor::model {

namespace internal {
struct ModelState;
}  // namespace internal

// A notification shaped like ingest::Event, so the server forwards it field by field.
struct ModelEvent {
  core::Timestamp ts = 0;
  std::string kind;        // "model.changed", "twin.desired", "twin.desired_cleared", ...
  std::string asset_path;  // "" for plant-wide changes (asset types)
  std::string actor;
  std::string message;     // one human line
  std::string data_json;   // JSON object text
};

// An effective tag of an asset (for an inherited tag: the type's fields overlaid by the
// instance's overrides).
struct Tag {
  int64_t id = 0;        // 0 for the tags of an AssetType (templates have no rows)
  int64_t asset_id = 0;
  std::string name;
  core::ValueType type = core::ValueType::kDouble;
  std::string unit;
  std::optional<TagRange> range;
  std::string description;
  double deadband = 0.0;
  bool writable = false;
  std::optional<TagBinding> binding;
  bool critical = false;   // writes need an approval (control/)
  std::string series_key;  // fixed at creation; "" for type tags
  bool from_type = false;  // inherited from the asset's type
};

// A tag definition as written by a user. Unset fields: for an asset's own tag or a type's
// tag they take the default (type is required); for an instance's inherited tag they
// inherit the type's value (the definition is the complete set of overrides).
struct TagDef {
  std::string name;
  std::optional<core::ValueType> type;
  std::optional<std::string> unit;
  std::optional<TagRange> range;
  std::optional<std::string> description;
  std::optional<double> deadband;
  std::optional<bool> writable;
  std::optional<TagBinding> binding;
  std::optional<bool> critical;
};

struct AssetType {
  std::string name;
  std::string description;
  std::vector<TagDef> tags;  // in order; every `type` is set
};

struct Asset {
  int64_t id = 0;
  int64_t parent_id = 0;  // 0 for the enterprise
  AssetLevel level = AssetLevel::kEnterprise;
  std::string name;
  std::string path;
  std::string type;  // machines only; "" when none
  std::string description;
  std::map<std::string, std::string> attributes;
  std::vector<Tag> tags;  // effective: the type's tags (type order), then own tags (by id)
};

struct NewAsset {
  std::string parent_path;  // "" for the enterprise
  AssetLevel level = AssetLevel::kMachine;
  std::string name;
  std::string type;
  std::string description;
  std::map<std::string, std::string> attributes;
  std::vector<TagDef> tags;  // own tags, or overrides of the type's tags by name
};

// Unset fields stay as they are.
struct AssetPatch {
  std::optional<std::string> name;       // rename
  std::optional<int64_t> parent_id;      // move
  std::optional<std::string> description;
  std::optional<std::string> type;       // "" clears
  std::optional<std::map<std::string, std::string>> attributes;  // replaces all
};

// One recorded change of the model (the versioned history of every edit).
struct ModelChange {
  uint64_t version = 0;
  core::Timestamp ts = 0;
  std::string actor;
  std::string kind;    // e.g. "asset.create", "tag.upsert", "type.update"
  std::string target;  // asset path or type name
  std::string before;  // JSON text ("null" when created)
  std::string after;   // JSON text ("null" when deleted)
};

struct SeedReport {
  bool applied = false;          // false: the file hash was already applied
  std::vector<std::string> changes;  // one line per change made ("created asset ...")
};

class AssetStore {
 public:
  using Listener = std::function<void(const ModelEvent&)>;

  // Migrates the "model" tables and loads the model. db and clock must outlive the store.
  static core::Result<std::unique_ptr<AssetStore>> Open(meta::Db* db, core::Clock* clock);
  ~AssetStore();

  // ---- reads (copies; NotFound when absent) ----
  core::Result<Asset> GetAsset(int64_t id) const;
  core::Result<Asset> FindAsset(std::string_view path) const;
  core::Result<std::vector<Asset>> Children(int64_t id) const;  // in id order
  core::Result<std::vector<Asset>> Subtree(std::string_view path) const;  // pre-order
  std::vector<Asset> AllAssets() const;  // pre-order from the enterprise (empty model: none)
  std::vector<AssetType> ListTypes() const;  // by name
  core::Result<AssetType> GetType(std::string_view name) const;
  core::Result<Tag> FindTag(std::string_view asset_path, std::string_view tag_name) const;
  core::Result<Tag> FindTagBySeriesKey(std::string_view series_key) const;
  // The series key of the tag whose CURRENT key is "<asset path>/<tag>"; NotFound if none.
  core::Result<std::string> CurrentKeyToSeriesKey(std::string_view current_key) const;
  // The site segment of an asset path ("demo-works/stuttgart/x" -> "stuttgart"); "" for
  // the enterprise path. NotFound when the path names no asset.
  core::Result<std::string> SiteOf(std::string_view path) const;
  uint64_t version() const;  // number of changes ever recorded
  // Recorded changes with version > after_version, oldest first, at most `limit`; only
  // those whose target starts with `target_prefix` when it is not empty.
  core::Result<std::vector<ModelChange>> Changes(uint64_t after_version, size_t limit,
                                                 std::string_view target_prefix = {}) const;

  // ---- writes: each returns the new object and records one change ----
  core::Result<Asset> CreateAsset(std::string_view actor, const NewAsset& asset);
  core::Result<Asset> UpdateAsset(std::string_view actor, int64_t id, const AssetPatch& patch);
  // Refuses (InvalidArgument) an asset with children unless `recursive`.
  core::Status DeleteAsset(std::string_view actor, int64_t id, bool recursive);
  core::Result<AssetType> CreateType(std::string_view actor, const AssetType& type);
  // Replaces description and tags of the named type; propagates to all instances.
  core::Result<AssetType> UpdateType(std::string_view actor, const AssetType& type);
  core::Status DeleteType(std::string_view actor, std::string_view name);
  // Creates or replaces one tag of an asset (replace: see TagDef).
  core::Result<Tag> UpsertTag(std::string_view actor, int64_t asset_id, const TagDef& tag);
  // Deletes an own tag; an inherited tag cannot be deleted (change the type instead).
  core::Status DeleteTag(std::string_view actor, int64_t asset_id, std::string_view tag_name);

  // Imports a plant config (actor "config:<file_name>"). First boot: everything. Later:
  // nothing when file_hash equals the last applied hash (API edits stand); otherwise the
  // YAML's types, assets and tags are created or updated where they differ, and items the
  // YAML does not mention are kept. Each change is logged and recorded.
  core::Result<SeedReport> SeedFromConfig(const PlantConfig& config, std::string_view file_name,
                                          std::string_view file_hash);

  // The whole model as plant config YAML that ParsePlantConfig accepts. Sources, storage,
  // server and timezone come from `sections` (the store does not own them). Bindings are
  // written with their source. Attributes and the critical flag have no YAML form yet and
  // are not exported.
  core::Result<std::string> ExportYaml(const PlantConfig& sections) const;

  int AddListener(Listener listener);
  void RemoveListener(int handle);

 private:
  AssetStore(meta::Db* db, core::Clock* clock);
  friend class AssetStoreWriter;

  meta::Db* db_;
  core::Clock* clock_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<internal::ModelState> state_;  // GUARDED_BY(mu_)
  std::mutex listeners_mu_;
  std::map<int, Listener> listeners_;  // GUARDED_BY(listeners_mu_)
  int next_listener_ = 1;
};

}  // namespace shopfloor::model
