// Int64 column codec: the first value as a zigzag varint, then the n - 1 deltas with their
// sign bit flipped (delta XOR 2^63, an order-preserving map to unsigned) packed in FOR
// blocks (int_blocks.h). Arithmetic wraps modulo 2^64, so INT64_MIN
// next to INT64_MAX round-trips (its delta is simply a wide exception).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shopfloor::storage {

void EncodeInts(std::span<const int64_t> values, std::string* out);
// Decodes exactly n values; `in` must be exactly the column's bytes.
core::Status DecodeInts(std::string_view in, size_t n, int64_t* out);

}  // namespace shopfloor::storage
