// Timestamp column codec: delta-of-delta, zigzag, FOR blocks with exceptions.
//
// The first timestamp is not stored here (the chunk header holds it as min_ts). The column
// holds the first delta as a zigzag varint, then the n - 2 delta-of-deltas, zigzagged and
// packed in FOR blocks (int_blocks.h). A regular series (every delta equal) costs two
// bytes per 128 timestamps; one gap costs two exceptions in its block.
// Arithmetic wraps modulo 2^64, so any int64 sequence round-trips.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shopfloor::storage {

// Appends the column for ts (ts[0] itself is not written).
void EncodeTimestamps(std::span<const int64_t> ts, std::string* out);

// Decodes n timestamps whose first is `first` into out[0..n). `in` must be exactly the
// column's bytes.
core::Status DecodeTimestamps(std::string_view in, size_t n, int64_t first, int64_t* out);

}  // namespace shopfloor::storage
