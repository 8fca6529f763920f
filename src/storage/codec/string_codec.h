// String column codecs. Dictionary: each distinct string once, then one bit-packed id per
// value; chosen when it is smaller. Plain: every string as (varint length, bytes), the
// fallback for high-cardinality columns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shopfloor::storage {

enum class StringCodec : uint8_t { kDictionary = 1, kPlain = 2 };

// A decoded dictionary column may not expand to more than this many bytes of strings
// (a guard against tiny inputs that claim huge outputs). The encoder uses kPlain above it.
inline constexpr uint64_t kMaxDictionaryOutputBytes = 64ull << 20;

StringCodec EncodeStrings(std::span<const std::string> values, std::string* out);
// Decodes exactly n strings into out[0..n); `in` must be exactly the column's bytes.
core::Status DecodeStrings(StringCodec codec, std::string_view in, size_t n, std::string* out);

}  // namespace shopfloor::storage
