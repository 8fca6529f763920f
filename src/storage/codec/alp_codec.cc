#include "storage/codec/alp_codec.h"

#include <algorithm>
#include <bit>
#include <limits>

#include <fmt/format.h>

#include "storage/codec/bit_stream.h"

namespace shopfloor::storage {
namespace {

constexpr std::string_view kCodec = "alp column";

// 10^k is exact in a double for k <= 22; 10^-k are the nearest doubles.
constexpr double kPow10[kAlpMaxExponent + 1] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                                1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};
constexpr double kInvPow10[kAlpMaxExponent + 1] = {1e-0,  1e-1,  1e-2,  1e-3,  1e-4,  1e-5,  1e-6,
                                                   1e-7,  1e-8,  1e-9,  1e-10, 1e-11, 1e-12, 1e-13,
                                                   1e-14, 1e-15, 1e-16, 1e-17, 1e-18};  // encode only

// Doubles in (-2^51, 2^51) round to the nearest integer (ties to even) by adding and
// subtracting 1.5 * 2^52: the sum lands where the ulp is exactly 1.
constexpr double kRoundMagic = 6755399441055744.0;
constexpr double kMaxEncodable = 2251799813685248.0;  // 2^51
constexpr int64_t kMaxDigits = int64_t{1} << 51;
constexpr double kTwo52 = 4503599627370496.0;
constexpr uint64_t kTwo52Bits = 0x4330000000000000ull;  // bit pattern of 2^52

// The one decode formula; the encoder accepts a value only if this reproduces it exactly.
// One division by the exact 10^(e - f) (instead of the paper's multiplications by 10^f and
// the inexact 10^-e) yields the correctly rounded double of digits * 10^(f - e): the value
// strtod produced from the sensor's text, so decimal data has no exceptions.
inline double AlpDecodeOne(int64_t digits, int exponent, int factor) {
  return static_cast<double>(digits) / kPow10[exponent - factor];
}

// Encodes v with (e, f); false when v does not round-trip bit for bit.
inline bool AlpEncodeOne(double v, int exponent, int factor, int64_t* digits) {
  double scaled = v * kPow10[exponent] * kInvPow10[factor];
  if (!(scaled > -kMaxEncodable && scaled < kMaxEncodable)) return false;  // also NaN, inf
  double rounded = (scaled + kRoundMagic) - kRoundMagic;
  int64_t d = static_cast<int64_t>(rounded);
  if (std::bit_cast<uint64_t>(AlpDecodeOne(d, exponent, factor)) != std::bit_cast<uint64_t>(v)) return false;
  *digits = d;
  return true;
}

struct Params {
  int exponent = 0;
  int factor = 0;
};

// Estimated packed bits of `values` under (e, f): width(max - min) per value plus 80 bits
// (position and raw value) per exception.
uint64_t EstimateBits(const double* values, size_t n, Params params) {
  int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
  uint64_t exceptions = 0;
  for (size_t i = 0; i < n; ++i) {
    int64_t d;
    if (AlpEncodeOne(values[i], params.exponent, params.factor, &d)) {
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    } else {
      ++exceptions;
    }
  }
  unsigned width = exceptions == n ? 0 : BitWidth(static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo));
  return n * width + exceptions * 80;
}

// Picks (e, f): since decoding depends only on e - f, the encoder uses f = 0 and tries
// every e on an evenly spaced sample of the vector; the few best are then measured on the
// whole vector (a sample can miss rounding misfits).
Params ChooseParams(const double* values, size_t n) {
  constexpr size_t kSamples = 32;
  constexpr size_t kFinalists = 4;
  double sample[kSamples];
  size_t sample_n = std::min(n, kSamples);
  for (size_t s = 0; s < sample_n; ++s) sample[s] = values[s * n / sample_n];

  struct Candidate {
    uint64_t cost;
    Params params;
  };
  Candidate candidates[kAlpMaxExponent + 1];
  size_t count = 0;
  for (int e = 0; e <= kAlpMaxExponent; ++e) {
    candidates[count++] = Candidate{EstimateBits(sample, sample_n, Params{e, 0}), Params{e, 0}};
  }
  size_t finalists = std::min(kFinalists, count);
  std::partial_sort(candidates, candidates + finalists, candidates + count,
                    [](const Candidate& a, const Candidate& b) { return a.cost < b.cost; });
  Params best = candidates[0].params;
  uint64_t best_cost = std::numeric_limits<uint64_t>::max();
  for (size_t c = 0; c < finalists; ++c) {
    uint64_t cost = EstimateBits(values, n, candidates[c].params);
    if (cost < best_cost) {
      best_cost = cost;
      best = candidates[c].params;
    }
  }
  return best;
}

size_t EncodeVector(const double* values, size_t n, std::string* out) {
  Params params = ChooseParams(values, n);
  int64_t digits[kAlpVectorSize];
  uint16_t exception_pos[kAlpVectorSize];
  size_t exception_count = 0;
  bool have_fill = false;
  int64_t fill = 0;
  for (size_t i = 0; i < n; ++i) {
    if (AlpEncodeOne(values[i], params.exponent, params.factor, &digits[i])) {
      if (!have_fill) {
        fill = digits[i];
        have_fill = true;
      }
    } else {
      exception_pos[exception_count++] = static_cast<uint16_t>(i);
      digits[i] = 0;
    }
  }
  // Exception slots take a value already in range so they do not widen the frame.
  for (size_t e = 0; e < exception_count; ++e) digits[exception_pos[e]] = fill;
  int64_t lo = have_fill ? *std::min_element(digits, digits + n) : 0;
  int64_t hi = have_fill ? *std::max_element(digits, digits + n) : 0;
  unsigned width = BitWidth(static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo));
  uint64_t offsets[kAlpVectorSize];
  for (size_t i = 0; i < n; ++i) offsets[i] = static_cast<uint64_t>(digits[i]) - static_cast<uint64_t>(lo);

  out->push_back(static_cast<char>(params.exponent));
  out->push_back(static_cast<char>(params.factor));
  out->push_back(static_cast<char>(width));
  PutVarint64(out, ZigZagEncode(lo));
  PutVarint64(out, exception_count);
  PackBits(offsets, n, width, out);
  for (size_t e = 0; e < exception_count; ++e) {
    out->push_back(static_cast<char>(exception_pos[e] & 0xFF));
    out->push_back(static_cast<char>(exception_pos[e] >> 8));
  }
  for (size_t e = 0; e < exception_count; ++e) PutFixed64(out, std::bit_cast<uint64_t>(values[exception_pos[e]]));
  return exception_count;
}

}  // namespace

size_t EncodeAlp(std::span<const double> values, std::string* out) {
  size_t exceptions = 0;
  for (size_t start = 0; start < values.size(); start += kAlpVectorSize) {
    exceptions += EncodeVector(values.data() + start, std::min(kAlpVectorSize, values.size() - start), out);
  }
  return exceptions;
}

core::Status DecodeAlp(std::string_view in, size_t n, double* out) {
  ByteReader reader(in);
  uint64_t offsets[kAlpVectorSize];
  for (size_t start = 0; start < n; start += kAlpVectorSize) {
    const size_t vector_n = std::min(kAlpVectorSize, n - start);
    const size_t header_offset = reader.offset();
    uint8_t exponent, factor, width;
    uint64_t zigzag_base, exception_count;
    if (!reader.GetU8(&exponent) || !reader.GetU8(&factor) || !reader.GetU8(&width) ||
        !reader.GetVarint64(&zigzag_base) || !reader.GetVarint64(&exception_count)) {
      return CodecCorruption(kCodec, fmt::format("truncated vector header at value {}", start), header_offset);
    }
    if (exponent > kAlpMaxExponent || factor > exponent) {
      return CodecCorruption(kCodec, fmt::format("bad exponent {} / factor {}", exponent, factor), header_offset);
    }
    if (width > 64) return CodecCorruption(kCodec, fmt::format("bit width {} > 64", width), header_offset);
    if (exception_count > vector_n) {
      return CodecCorruption(kCodec, fmt::format("{} exceptions in a vector of {}", exception_count, vector_n),
                             header_offset);
    }
    const uint8_t* packed;
    if (!reader.Skip(PackedBytes(vector_n, width), &packed)) {
      return CodecCorruption(kCodec, "truncated packed digits", reader.offset());
    }
    const uint8_t* positions;
    const uint8_t* raw;
    const size_t positions_offset = reader.offset();
    if (!reader.Skip(exception_count * 2, &positions) || !reader.Skip(exception_count * 8, &raw)) {
      return CodecCorruption(kCodec, "truncated exceptions", positions_offset);
    }

    UnpackBits(packed, vector_n, width, offsets);
    const int64_t base = ZigZagDecode(zigzag_base);
    const double divisor = kPow10[exponent - factor];
    double* dst = out + start;
    if (width <= 52 && base > -kMaxDigits && base < kMaxDigits) {
      // Fast path (every vector the encoder writes): offset < 2^52 becomes a double by
      // OR-ing it into the mantissa of 2^52, and base + offset is exact in double
      // arithmetic because both are integers and the sum is below 2^53. SSE2 vectorises
      // this loop; the result equals the formula in AlpDecodeOne bit for bit.
      const double base_d = static_cast<double>(base);
      for (size_t i = 0; i < vector_n; ++i) {
        double offset_d = std::bit_cast<double>(offsets[i] | kTwo52Bits) - kTwo52;
        dst[i] = (offset_d + base_d) / divisor;
      }
    } else {
      for (size_t i = 0; i < vector_n; ++i) {
        dst[i] = AlpDecodeOne(static_cast<int64_t>(static_cast<uint64_t>(base) + offsets[i]), exponent, factor);
      }
    }
    for (size_t e = 0; e < exception_count; ++e) {
      size_t pos = size_t{positions[2 * e]} | (size_t{positions[2 * e + 1]} << 8);
      if (pos >= vector_n) {
        return CodecCorruption(kCodec, fmt::format("exception position {} >= vector size {}", pos, vector_n),
                               positions_offset + 2 * e);
      }
      dst[pos] = std::bit_cast<double>(LoadLE64(raw + 8 * e));
    }
  }
  if (reader.remaining() != 0) return CodecCorruption(kCodec, "trailing bytes after the column", reader.offset());
  return core::Status::OK();
}

}  // namespace shopfloor::storage
