// Internal to sf_model: the write side of AssetStore. One AssetStoreWriter lives for one
// write transaction, with the store's lock held; its operations change SQL and the
// in-memory State together and queue the events to deliver after commit.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "model/asset_store_internal.h"

namespace shopfloor::model {

class AssetStoreWriter {
 public:
  // Locks the store, opens a transaction, runs body, commits, and delivers the queued
  // events to the listeners after unlocking. On failure the model is reloaded.
  static core::Status Run(AssetStore* store, const std::function<core::Status(AssetStoreWriter&)>& body);

  // The operations behind the public API (asset_store_ops.cc); ids of created objects.
  core::Result<int64_t> CreateAsset(std::string_view actor, const NewAsset& asset);
  core::Status UpdateAsset(std::string_view actor, int64_t id, const AssetPatch& patch);
  core::Status DeleteAsset(std::string_view actor, int64_t id, bool recursive);
  core::Status CreateType(std::string_view actor, const AssetType& type);
  core::Status UpdateType(std::string_view actor, const AssetType& type);
  core::Status DeleteType(std::string_view actor, std::string_view name);
  core::Result<int64_t> UpsertTag(std::string_view actor, int64_t asset_id, const TagDef& def);
  core::Status DeleteTag(std::string_view actor, int64_t asset_id, std::string_view tag_name);

  const internal::State& state() const { return state_; }
  // model_meta key/value ("" when absent).
  core::Result<std::string> GetMeta(std::string_view key);
  core::Status SetMeta(std::string_view key, std::string_view value);

 private:
  explicit AssetStoreWriter(AssetStore* store);

  core::Status Record(std::string_view actor, std::string_view kind, std::string_view target,
                      std::string_view asset_path, const nlohmann::json& before, const nlohmann::json& after);
  core::Status SaveAssetRow(const internal::State::AssetRow& row);
  core::Result<int64_t> InsertTagRow(int64_t asset_id, bool from_type, const TagDef& def);
  core::Status SaveTagRow(const internal::State::TagRow& row);
  core::Status DeleteTagRow(int64_t tag_id);
  core::Status DeleteAssetRow(int64_t id);
  core::Status SaveType(const AssetType& type, bool insert);
  core::Status ValidateAssetTags(int64_t asset_id);
  // Aligns an asset's tag rows with its (possibly new) type; old_type is the definition the
  // rows were made against. Dropped inherited tags become own tags when keep_dropped.
  core::Status SyncTypeTags(int64_t asset_id, const AssetType* old_type, bool keep_dropped);
  core::Status CheckSiblingName(int64_t parent_id, std::string_view name, int64_t self) const;
  core::Status CheckType(AssetLevel level, std::string_view type) const;
  core::Status CheckTypeDef(const AssetType& type) const;

  AssetStore* store_;
  internal::State& state_;
  meta::Db* db_;
  std::vector<ModelEvent> events_;
};

}  // namespace shopfloor::model
