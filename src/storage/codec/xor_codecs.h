// XOR float codecs: Chimp (the fallback for doubles ALP cannot compress, chosen per chunk)
// and Gorilla (kept as the reference point that benchmarks compare against).
//
// Both store the first value's 64 bits, then for each value the XOR with its predecessor,
// describing only the bits between its leading and trailing zeros.
//  - Gorilla: Pelkonen et al., "Gorilla: A Fast, Scalable, In-Memory Time Series Database",
//    VLDB 2015, section 4.1.2.
//  - Chimp: Liakos, Papakonstantinopoulou, Kotidis, "Chimp: Efficient Lossless Floating
//    Point Compression for Time Series Databases", VLDB 2022 (the non-128 variant).
// Bit streams are LSB-first (bit_stream.h); exact layouts are in docs/format/chunk.md.
// Also here: Gorilla's delta-of-delta timestamp encoding, for the same comparisons.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shopfloor::storage {

void EncodeChimp(std::span<const double> values, std::string* out);
// Decodes exactly n doubles; `in` must be exactly the column's bytes.
core::Status DecodeChimp(std::string_view in, size_t n, double* out);

void EncodeGorilla(std::span<const double> values, std::string* out);
core::Status DecodeGorilla(std::string_view in, size_t n, double* out);

// Gorilla timestamps: first timestamp and first delta raw (64 bits each), then each
// delta-of-delta in the paper's buckets ('0'; '10'+7 bits; '110'+9; '1110'+12; '1111'+64,
// fields two's complement).
void EncodeGorillaTimestamps(std::span<const int64_t> ts, std::string* out);
core::Status DecodeGorillaTimestamps(std::string_view in, size_t n, int64_t* out);

}  // namespace shopfloor::storage
