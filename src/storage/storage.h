// The public header of Shopfloor's embedded time-series engine.
//
// Data model: a series is identified by a key (asset path + tag, e.g.
// "demo-works/body-shop/press-1/temperature") and has one value type. Writers resolve the
// key once with GetOrCreateSeries() and then append by SeriesId. Samples may arrive in any
// timestamp order; the same series and timestamp written twice keeps the last write.
//
// Durability: Write() returns only when the batch is durable under the configured policy
// (kAlways: fsynced, with group commit across concurrent writers; kInterval: written to the
// OS and fsynced within the interval; kNone: buffered).
//
// Thread safety: all methods are thread-safe. Iterators see a consistent snapshot taken
// when they were created and must not outlive the Storage.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace shopfloor::core {
class Histogram;  // core/metrics.h
}

namespace shopfloor::storage {

using core::Duration;
using core::Quality;
using core::Result;
using core::Sample;
using core::SampleBatch;
using core::SeriesId;
using core::Status;
using core::Timestamp;
using core::Value;
using core::ValueType;

struct DurabilityPolicy {
  enum class Mode : uint8_t { kAlways, kInterval, kNone };
  Mode mode = Mode::kInterval;
  Duration interval = 100 * core::kMillisecond;  // for kInterval

  // Parses "always", "none" or "interval=<ms>" (e.g. "interval=200").
  static Result<DurabilityPolicy> Parse(std::string_view text);
  std::string ToString() const;
};

// Deletes data older than max_age for series whose key matches the glob pattern.
// The first matching rule wins.
struct RetentionRule {
  std::string pattern;
  Duration max_age = 0;
};

struct Options {
  core::Env* env = nullptr;      // required
  core::Clock* clock = nullptr;  // required
  std::string dir;               // data directory (created if missing)
  DurabilityPolicy durability;
  // Memory for in-memory head data. Above it the head is flushed to blocks; writes are
  // never rejected for memory.
  uint64_t head_memory_limit = 256ull << 20;
  // Width of the time partitions that block files cover (whole hours; UTC-aligned).
  // A query holds at most one partition of one series in memory; retention works on
  // whole partitions.
  Duration block_duration = core::kDay;
  uint64_t wal_segment_bytes = 64ull << 20;
  // Raw-data retention (empty: keep forever). Rollups are kept rollup_retention_factor
  // times longer than the raw data of their series.
  std::vector<RetentionRule> retention;
  int rollup_retention_factor = 10;
  // Disk quota for the data directory; 0 means none. Above it the oldest blocks are evicted.
  uint64_t disk_quota_bytes = 0;
  // The head is also flushed when its oldest data is this old (by the Clock), so the WAL
  // stays short and restarts stay fast.
  Duration flush_interval = 10 * core::kMinute;
  // How often (Clock time) the background thread looks for compaction and retention work.
  Duration compaction_interval = core::kMinute;
  // Runs flushes, compaction and retention in a background thread. Off in unit tests that
  // drive maintenance by hand.
  bool background_maintenance = true;
  // When set, every WAL fsync's duration (Clock::Steady(), in seconds) is observed into it
  // (e.g. shopfloor_wal_fsync_seconds from a core::MetricsRegistry). Not owned; must
  // outlive the Storage. Null: not measured.
  core::Histogram* wal_fsync_seconds = nullptr;
};

struct SeriesInfo {
  SeriesId id{};
  std::string key;
  ValueType type = ValueType::kDouble;
};

// A streaming reader over samples in timestamp order.
class SampleIterator {
 public:
  virtual ~SampleIterator() = default;
  // Advances to the next sample; false at the end or on error (check status()).
  virtual bool Next(Sample* out) = 0;
  virtual Status status() const = 0;
};

// One window of a windowed aggregate. Windows with no samples are not returned.
struct AggregateRow {
  Timestamp start = 0;  // window start (inclusive); the window is [start, start + step)
  uint64_t count = 0;
  double min = 0, max = 0, sum = 0, first = 0, last = 0;
  double stddev = 0;  // population standard deviation
  double avg = 0;     // arithmetic mean
  double twa = 0;     // time-weighted average (step interpolation: a value holds until the next)
};

enum class Resolution : uint8_t { kRaw, kOneMinute, kOneHour };

class AggregateIterator {
 public:
  virtual ~AggregateIterator() = default;
  virtual bool Next(AggregateRow* out) = 0;
  virtual Status status() const = 0;
  // The resolution the rows were computed from.
  virtual Resolution resolution() const = 0;
};

struct AggregateQuery {
  Timestamp from = 0;  // inclusive
  Timestamp to = 0;    // exclusive
  Duration step = core::kMinute;
  // With max_points > 0 and step == 0 the engine picks the step from the budget.
  uint64_t max_points = 0;
  // Allow answering from rollups when their resolution divides the step.
  bool allow_rollups = true;
};

struct StorageStats {
  uint64_t series = 0;
  uint64_t samples_written = 0;
  uint64_t head_bytes = 0;
  uint64_t head_samples = 0;
  uint64_t blocks = 0;
  uint64_t block_bytes = 0;
  uint64_t wal_bytes = 0;
  uint64_t wal_syncs = 0;
  uint64_t flushes = 0;
  uint64_t compactions = 0;
  uint64_t retention_evicted_blocks = 0;
  uint64_t retention_evicted_samples = 0;
  uint64_t quota_evicted_blocks = 0;
  uint64_t corruptions = 0;  // damaged records, chunks or blocks found (each also logged)
};

class Storage {
 public:
  // Opens (creating if missing) the engine in options.dir, replaying the WAL.
  static Result<std::unique_ptr<Storage>> Open(const Options& options);
  virtual ~Storage() = default;

  // Returns the id for key, creating the series with `type` if new. An existing series
  // with a different type is an error (kInvalidArgument).
  virtual Result<SeriesId> GetOrCreateSeries(std::string_view key, ValueType type) = 0;
  virtual Result<SeriesInfo> FindSeries(std::string_view key) const = 0;
  virtual Result<SeriesInfo> GetSeries(SeriesId id) const = 0;
  // Series whose key matches a glob: '*' matches within one '/'-separated segment, '**'
  // across segments, '?' one character. "press-1/**" selects a subtree.
  virtual std::vector<SeriesInfo> MatchSeries(std::string_view glob) const = 0;

  // Appends a batch; all or nothing. Every entry's value must have its series' type.
  virtual Status Write(const SampleBatch& batch) = 0;

  // Samples of one series with from <= ts < to, in timestamp order.
  virtual Result<std::unique_ptr<SampleIterator>> ReadRaw(SeriesId id, Timestamp from, Timestamp to) const = 0;
  // Windowed aggregates of a numeric series (bool counts as 0/1).
  virtual Result<std::unique_ptr<AggregateIterator>> Aggregate(SeriesId id, const AggregateQuery& query) const = 0;
  // The newest sample of each series (nullopt where a series has none).
  virtual std::vector<std::optional<Sample>> Latest(std::span<const SeriesId> ids) const = 0;

  // Seals all head data into block files and trims the WAL.
  virtual Status Flush() = 0;
  // Merges small and overlapping blocks; applies retention and the disk quota.
  virtual Status Compact() = 0;
  virtual StorageStats stats() const = 0;
};

}  // namespace shopfloor::storage
