// The head: a series' recent samples, in memory, in arrival order.
//
// Appends are O(1). Samples may arrive in any timestamp order; the buffer remembers whether
// it is still sorted so the common in-order case never sorts. Sorting is stable and
// deduplicates equal timestamps keeping the LAST write (last write wins).
#pragma once

#include <cstddef>

#include "core/core.h"
#include "storage/codec/chunk.h"

namespace shopfloor::storage {

class HeadBuffer {
 public:
  explicit HeadBuffer(core::ValueType type = core::ValueType::kDouble) { cols_.type = type; }

  // The value's type must be the buffer's type (checked by the engine before the WAL).
  void Append(core::Timestamp ts, const core::Value& value, core::Quality quality);

  size_t size() const { return cols_.ts.size(); }
  bool empty() const { return cols_.ts.empty(); }
  bool sorted() const { return sorted_; }
  core::Timestamp min_ts() const { return min_ts_; }
  core::Timestamp max_ts() const { return max_ts_; }
  // Approximate heap bytes, for the head memory limit.
  size_t ApproxBytes() const { return bytes_; }
  const ChunkColumns& columns() const { return cols_; }

  // Sorts by timestamp (stable) and drops all but the last of equal timestamps.
  void SortAndDedupe();
  void Clear();

 private:
  ChunkColumns cols_;
  bool sorted_ = true;
  core::Timestamp min_ts_ = INT64_MAX;
  core::Timestamp max_ts_ = INT64_MIN;
  size_t bytes_ = 0;
};

// Column helpers shared by the head, queries and compaction. All take ChunkColumns whose
// timestamps are sorted and unique unless stated.

// Appends row i of src to dst (same type). dst.quality is kept either empty (all good) or
// the same length as dst.ts.
void AppendRow(const ChunkColumns& src, size_t i, ChunkColumns* dst);
// Returns row i as a Sample.
core::Sample RowToSample(const ChunkColumns& cols, size_t i);
// Copies the rows with from <= ts < to.
void SliceColumns(const ChunkColumns& src, core::Timestamp from, core::Timestamp to, ChunkColumns* dst);
void ClearColumns(ChunkColumns* cols);

// Merges sorted, deduplicated runs; on equal timestamps the run with the higher priority
// wins. Runs are given in any order.
struct PrioritizedRun {
  const ChunkColumns* cols;
  uint64_t priority;
};
void MergeRuns(const std::vector<PrioritizedRun>& runs, ChunkColumns* out);

}  // namespace shopfloor::storage
