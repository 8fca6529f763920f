// Engine: the implementation of Storage (storage.h). Internal to the storage module.
//
// Layout of the data directory:
//   LOCK                 held while open (one process per directory)
//   series.catalog       all series (catalog.h), rewritten at each flush
//   wal/NNNN.wal         write-ahead log segments (docs/format/wal.md)
//   blocks/NNNN.blk      raw data blocks, one time partition each (docs/format/block.md)
//   rollup/1m/NNNN.blk   1-minute rollups of the raw block with the same number
//   rollup/1h/NNNN.blk   1-hour rollups
//
// Concurrency:
//   series_mu_   guards the key/id maps (shared for lookups, exclusive to insert).
//   SeriesState::mu guards one series' head, frozen head and latest sample.
//   gate_        writers hold it shared across WAL append + head insert; a flush holds it
//                exclusively to rotate the WAL and freeze the heads, so every sample is in
//                exactly one of (a WAL segment that survives this flush, a frozen head).
//   version_mu_  guards blocks_ and the clearing of frozen heads, so a query sees each
//                sample either in a frozen head or in a block, never neither.
//   flush_mu_    serialises flushes and compactions.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "storage/block/block_reader.h"
#include "storage/head.h"
#include "storage/storage.h"
#include "storage/wal/wal.h"

namespace shopfloor::storage {

struct SeriesState {
  SeriesInfo info;
  core::Duration max_age = 0;  // raw retention from the first matching rule; 0 = forever
  mutable std::mutex mu;
  HeadBuffer head;    // GUARDED_BY(mu)
  HeadBuffer frozen;  // GUARDED_BY(mu): being flushed, still visible to queries
  std::optional<core::Sample> latest;  // GUARDED_BY(mu)
  bool latest_resolved = false;        // GUARDED_BY(mu): blocks were consulted for `latest`
};

// An immutable snapshot of the block files. Sorted by (partition_start, sequence).
struct BlockSet {
  std::vector<std::shared_ptr<BlockReader>> raw;
  std::vector<std::shared_ptr<BlockReader>> rollup_1m;
  std::vector<std::shared_ptr<BlockReader>> rollup_1h;
};

// Sorts block readers by (partition_start, sequence), the order BlockSet keeps.
void SortBlocks(std::vector<std::shared_ptr<BlockReader>>* list);

class BlockWriter;
// Adds rows [begin, end) of `cols` (sorted, unique timestamps) to `writer` as evenly sized
// chunks of at most 4096 samples.
Status AddChunks(BlockWriter* writer, uint64_t series_id, const ChunkColumns& cols, size_t begin, size_t end);

// A consistent view of one series for a query: block snapshot plus a sorted, deduplicated
// copy of its in-memory data (frozen and active head merged).
struct SeriesSnapshot {
  SeriesInfo info;
  std::shared_ptr<const BlockSet> blocks;
  ChunkColumns memory;  // head data, sorted, unique timestamps
};

class Engine final : public Storage {
 public:
  static Result<std::unique_ptr<Storage>> Open(const Options& options);
  ~Engine() override;

  Result<SeriesId> GetOrCreateSeries(std::string_view key, ValueType type) override;
  Result<SeriesInfo> FindSeries(std::string_view key) const override;
  Result<SeriesInfo> GetSeries(SeriesId id) const override;
  std::vector<SeriesInfo> MatchSeries(std::string_view glob) const override;
  Status Write(const SampleBatch& batch) override;
  Result<std::unique_ptr<SampleIterator>> ReadRaw(SeriesId id, Timestamp from, Timestamp to) const override;
  Result<std::unique_ptr<AggregateIterator>> Aggregate(SeriesId id, const AggregateQuery& query) const override;
  std::vector<std::optional<Sample>> Latest(std::span<const SeriesId> ids) const override;
  Status Flush() override;
  Status Compact() override;
  StorageStats stats() const override;

  // For iterators: reads the chunks of `id` overlapping [from, to) in raw blocks of one
  // partition and merges them with `memory` (priority: memory over newer over older blocks).
  Status ReadPartition(const SeriesSnapshot& snap, core::Timestamp partition_start, core::Timestamp from,
                       core::Timestamp to, ChunkColumns* out) const;
  void RecordCorruption(const Status& s) const;
  core::Duration block_duration() const { return options_.block_duration; }

 private:
  explicit Engine(const Options& options);

  Status Recover();
  Status LoadCatalog();
  Status OpenBlocks();
  Status ReplayWal();
  void InsertSeriesLocked(const SeriesInfo& info);
  SeriesState* StateOf(SeriesId id) const;  // null if unknown; caller holds series_mu_
  core::Duration RetentionFor(std::string_view key) const;
  Status WriteCatalog();

  Result<SeriesSnapshot> Snapshot(SeriesId id) const;
  void ResolveLatestFromBlocks(SeriesState* state, const BlockSet& blocks) const;

  // Flush: freeze heads, write level-0 blocks, publish, trim the WAL.
  Status FlushLocked();
  // Compaction, retention, rollups, quota (engine_compact.cc).
  Status CompactLocked(bool force);
  // Merges `inputs` (blocks of one partition) into one block. A full compaction merges the
  // whole partition, applies retention and (re)computes its rollups; a partial one only
  // merges the given blocks (tiered merging of the open partition).
  Status CompactPartition(core::Timestamp partition_start, const std::vector<std::shared_ptr<BlockReader>>& inputs,
                          bool full);
  Status ApplyQuotaLocked();
  void Publish(std::shared_ptr<const BlockSet> next);
  std::shared_ptr<const BlockSet> CurrentBlocks() const;
  std::string BlockPath(const char* subdir, uint64_t seq) const;
  void MaintenanceLoop();

  const Options options_;
  core::Env* const env_;
  core::Clock* const clock_;
  std::unique_ptr<core::FileLock> lock_;
  std::unique_ptr<Wal> wal_;

  mutable std::shared_mutex series_mu_;
  std::map<std::string, SeriesId, std::less<>> by_key_;  // GUARDED_BY(series_mu_)
  std::vector<std::unique_ptr<SeriesState>> by_id_;      // GUARDED_BY(series_mu_); index = id - 1
  std::mutex create_mu_;                                 // serialises series creation

  std::shared_mutex gate_;
  mutable std::shared_mutex version_mu_;
  std::shared_ptr<const BlockSet> blocks_;  // GUARDED_BY(version_mu_)

  std::mutex flush_mu_;
  std::atomic<uint64_t> next_seq_{1};
  std::atomic<int64_t> head_bytes_{0};
  std::atomic<int64_t> head_samples_{0};
  core::Timestamp last_flush_ = 0;

  std::thread maintenance_;
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool stop_ = false;             // GUARDED_BY(bg_mu_)
  bool flush_requested_ = false;  // GUARDED_BY(bg_mu_)
  uint64_t flushes_done_ = 0;     // GUARDED_BY(bg_mu_)

  mutable std::atomic<uint64_t> samples_written_{0}, flushes_{0}, compactions_{0}, retention_evicted_{0},
      quota_evicted_{0}, corruptions_{0}, retention_evicted_samples_{0};
};

}  // namespace shopfloor::storage
