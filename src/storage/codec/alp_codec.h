// ALP: decimal-aware lossless compression of doubles, after Afroozeh, Kuffo and Boncz,
// "ALP: Adaptive Lossless Floating-Point Compression" (SIGMOD 2024).
//
// Sensor values are usually decimals printed with a few digits (21.37, 0.005). For such a
// vector there is an exponent e and a factor f (0 <= f <= e <= 18) such that
//   d = round(v * 10^e * 10^-f)   and   v == d / 10^(e - f)   (bit for bit, one rounding)
// for most values v. The integers d are stored with frame-of-reference bit packing; the
// values that do not round-trip (NaN, -0.0, inf, true binary fractions) are stored raw as
// exceptions. The column is split into vectors of kAlpVectorSize values, each with its own
// (e, f). Every bit pattern round-trips exactly.
//
// The byte layout is in docs/format/chunk.md ("ALP").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shopfloor::storage {

inline constexpr size_t kAlpVectorSize = 1024;
inline constexpr int kAlpMaxExponent = 18;

// Appends the ALP column for values and returns how many exceptions it stored.
size_t EncodeAlp(std::span<const double> values, std::string* out);

// Decodes exactly n doubles; `in` must be exactly the column's bytes.
core::Status DecodeAlp(std::string_view in, size_t n, double* out);

}  // namespace shopfloor::storage
