// Rollups: per-minute and per-hour Partials (aggregate.h) of each numeric series, stored in
// ordinary block files (rollup/1m, rollup/1h) under pseudo series ids
// `(series_id << 4) | field`, one chunk per field, the chunk's timestamp column holding the
// window starts. Fields: 0 count (int64), 1 sum, 2 m2, 3 min, 4 max, 5 first, 6 last
// (doubles), 7 first_ts, 8 last_ts (int64), 9 integral (double).
// A rollup block carries the sequence number of the raw block it was computed from; it is
// valid only while that raw block is the whole partition (see Engine::Aggregate).
#pragma once

#include <vector>

#include "storage/aggregate.h"
#include "storage/block/block_reader.h"
#include "storage/block/block_writer.h"

namespace shopfloor::storage {

inline constexpr int kRollupFields = 10;
inline constexpr uint64_t RollupSeriesId(uint64_t series_id, int field) {
  return (series_id << 4) | static_cast<uint64_t>(field);
}

// Adds the rollup chunks of one series (windows in ascending order, at least one).
core::Status AddRollupChunks(BlockWriter* writer, uint64_t series_id, const std::vector<WindowPartial>& windows);

// Reads the rollup windows of one series with from <= start < to.
core::Status ReadRollupWindows(const BlockReader& block, uint64_t series_id, core::Timestamp from, core::Timestamp to,
                               std::vector<WindowPartial>* out);

}  // namespace shopfloor::storage
