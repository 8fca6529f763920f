#include "server/series_cache.h"

#include <mutex>

namespace shopfloor::server {

SeriesCache::SeriesCache(size_t capacity) : per_shard_capacity_(capacity / kShards + 1) {}

std::optional<SeriesCache::Entry> SeriesCache::Find(std::string_view key) const {
  Shard& shard = ShardFor(Hash{}(key));
  std::shared_lock lock(shard.mu);
  auto it = shard.map.find(key);
  if (it == shard.map.end()) return std::nullopt;
  return it->second;
}

void SeriesCache::Insert(std::string_view key, Entry entry) {
  Shard& shard = ShardFor(Hash{}(key));
  std::unique_lock lock(shard.mu);
  if (shard.map.size() >= per_shard_capacity_) shard.map.clear();
  shard.map.insert_or_assign(std::string(key), entry);
}

void SeriesCache::Clear() {
  for (Shard& shard : shards_) {
    std::unique_lock lock(shard.mu);
    shard.map.clear();
  }
}

size_t SeriesCache::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::shared_lock lock(shard.mu);
    n += shard.map.size();
  }
  return n;
}

}  // namespace shopfloor::server
