// Run-length codecs for the columns that rarely change: bools and quality codes (OPC UA
// status codes, nearly always 0 = Good). Bools fall back to a 1-bit bitmap when they flap
// so often that runs cost more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shopfloor::storage {

enum class BoolCodec : uint8_t { kRunLength = 1, kBitmap = 2 };

// Appends the smaller encoding of values (each 0 or 1; nonzero counts as 1) and says which.
BoolCodec EncodeBools(std::span<const uint8_t> values, std::string* out);
// Decodes exactly n bools (0/1); `in` must be exactly the column's bytes.
core::Status DecodeBools(BoolCodec codec, std::string_view in, size_t n, uint8_t* out);

// Quality codes as (code, run length) varint pairs.
void EncodeQualityRuns(std::span<const uint32_t> codes, std::string* out);
core::Status DecodeQualityRuns(std::string_view in, size_t n, uint32_t* out);

}  // namespace shopfloor::storage
