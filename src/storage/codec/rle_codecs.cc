#include "storage/codec/rle_codecs.h"

#include <algorithm>

#include <fmt/format.h>

#include "storage/codec/bit_stream.h"

namespace shopfloor::storage {

BoolCodec EncodeBools(std::span<const uint8_t> values, std::string* out) {
  const size_t n = values.size();
  if (n == 0) return BoolCodec::kRunLength;
  std::string runs;
  runs.push_back(values[0] != 0 ? 1 : 0);
  size_t run = 1;
  for (size_t i = 1; i < n; ++i) {
    if ((values[i] != 0) == (values[i - 1] != 0)) {
      ++run;
    } else {
      PutVarint64(&runs, run);
      run = 1;
    }
  }
  PutVarint64(&runs, run);
  if (runs.size() <= PackedBytes(n, 1)) {
    out->append(runs);
    return BoolCodec::kRunLength;
  }
  BitWriter writer(out);
  for (uint8_t v : values) writer.Write(v != 0 ? 1 : 0, 1);
  writer.Finish();
  return BoolCodec::kBitmap;
}

core::Status DecodeBools(BoolCodec codec, std::string_view in, size_t n, uint8_t* out) {
  constexpr std::string_view kCodec = "bool column";
  if (codec == BoolCodec::kBitmap) {
    if (in.size() != PackedBytes(n, 1)) {
      return CodecCorruption(kCodec, fmt::format("bitmap of {} bytes for {} values", in.size(), n), 0);
    }
    BitReader reader(reinterpret_cast<const uint8_t*>(in.data()), in.size());
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(reader.Read(1));
    if (!reader.AtCleanEnd()) return CodecCorruption(kCodec, "nonzero padding bits", in.size() - 1);
    return core::Status::OK();
  }
  if (codec != BoolCodec::kRunLength) return CodecCorruption(kCodec, "unknown bool codec", 0);
  ByteReader reader(in);
  if (n > 0) {
    uint8_t value;
    if (!reader.GetU8(&value) || value > 1) return CodecCorruption(kCodec, "bad first value", 0);
    size_t filled = 0;
    while (filled < n) {
      uint64_t run;
      size_t at = reader.offset();
      if (!reader.GetVarint64(&run)) return CodecCorruption(kCodec, "truncated run length", at);
      if (run == 0 || run > n - filled) {
        return CodecCorruption(kCodec, fmt::format("run of {} with {} values left", run, n - filled), at);
      }
      std::fill(out + filled, out + filled + run, value);
      filled += run;
      value ^= 1;
    }
  }
  if (reader.remaining() != 0) return CodecCorruption(kCodec, "trailing bytes after the column", reader.offset());
  return core::Status::OK();
}

void EncodeQualityRuns(std::span<const uint32_t> codes, std::string* out) {
  size_t i = 0;
  while (i < codes.size()) {
    size_t j = i + 1;
    while (j < codes.size() && codes[j] == codes[i]) ++j;
    PutVarint64(out, codes[i]);
    PutVarint64(out, j - i);
    i = j;
  }
}

core::Status DecodeQualityRuns(std::string_view in, size_t n, uint32_t* out) {
  constexpr std::string_view kCodec = "quality column";
  ByteReader reader(in);
  size_t filled = 0;
  while (filled < n) {
    uint64_t code, run;
    size_t at = reader.offset();
    if (!reader.GetVarint64(&code) || !reader.GetVarint64(&run)) return CodecCorruption(kCodec, "truncated run", at);
    if (code > UINT32_MAX) return CodecCorruption(kCodec, fmt::format("code {:#x} exceeds 32 bits", code), at);
    if (run == 0 || run > n - filled) {
      return CodecCorruption(kCodec, fmt::format("run of {} with {} values left", run, n - filled), at);
    }
    std::fill(out + filled, out + filled + run, static_cast<uint32_t>(code));
    filled += run;
  }
  if (reader.remaining() != 0) return CodecCorruption(kCodec, "trailing bytes after the column", reader.offset());
  return core::Status::OK();
}

}  // namespace shopfloor::storage
