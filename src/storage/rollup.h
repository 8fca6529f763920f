// Rollups: per-minute and per-hour Partials (aggregate.h) of numeric series, stored in
// ordinary block files (rollup/1m, rollup/1h): one entry per series and partition whose
// bytes are a rollup blob (below), under the series' own id. A rollup block carries the
// sequence number of the raw block it was computed from; it is used only while that raw
// block is the partition's only raw data (see AggIterator::TryRollup).
//
//   blob    := version:u8 (=1) n:varint64 first_start:zigzag-varint64
//              column{11} where column := codec:u8 len:varint64 bytes[len]
//   columns : window starts (delta-of-delta, the first is first_start), count (ints),
//             sum, m2, min, max, first, last, integral (doubles: ALP, or Chimp when
//             smaller), first_ts and last_ts as offsets from the window start (ints)
#pragma once

#include <string>
#include <vector>

#include "storage/aggregate.h"
#include "storage/block/block_reader.h"
#include "storage/block/block_writer.h"

namespace shopfloor::storage {

// A rollup is worth storing only where a window summarises many samples; elsewhere the
// raw data is about as small and as fast to aggregate.
inline constexpr size_t kMinSamplesPerRollupWindow = 16;
inline bool RollupPays(size_t samples, size_t windows) {
  return windows > 0 && samples >= kMinSamplesPerRollupWindow * windows;
}

void EncodeRollupWindows(const std::vector<WindowPartial>& windows, std::string* out);
// Appends the decoded windows to *out; Corruption on malformed input.
core::Status DecodeRollupWindows(std::string_view in, std::vector<WindowPartial>* out);

// Adds the rollup entry of one series (windows in ascending order, at least one).
core::Status AddRollup(BlockWriter* writer, uint64_t series_id, const std::vector<WindowPartial>& windows);

// Reads the rollup windows of one series with from <= start < to. NotFound when the block
// has no rollup for the series.
core::Status ReadRollupWindows(const BlockReader& block, uint64_t series_id, core::Timestamp from, core::Timestamp to,
                               std::vector<WindowPartial>* out);

}  // namespace shopfloor::storage
