// SeriesCache: a concurrent map from series key to (SeriesId, type), so repeated writes of
// the same key skip the storage engine's lookup. Sharded, each shard behind a shared_mutex;
// lookups take a string_view and do not allocate.
//
// Bounded: when a shard exceeds its share of `capacity` it is emptied (entries are only a
// cache of what storage already holds, so dropping them costs a lookup, never data).
#pragma once

#include <array>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/core.h"

namespace shopfloor::server {

class SeriesCache {
 public:
  struct Entry {
    core::SeriesId id{};
    core::ValueType type = core::ValueType::kDouble;
  };

  explicit SeriesCache(size_t capacity);

  std::optional<Entry> Find(std::string_view key) const;
  void Insert(std::string_view key, Entry entry);
  size_t size() const;
  void Clear();

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::shared_mutex mu;
    std::unordered_map<std::string, Entry, Hash, std::equal_to<>> map;  // GUARDED_BY(mu)
  };
  static constexpr size_t kShards = 16;

  Shard& ShardFor(size_t hash) const { return shards_[(hash >> 7) % kShards]; }

  mutable std::array<Shard, kShards> shards_;
  const size_t per_shard_capacity_;
};

}  // namespace shopfloor::server
