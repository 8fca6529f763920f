#include "storage/codec/chunk.h"

#include <bit>
#include <cassert>
#include <span>

#include <fmt/format.h>

#include "storage/codec/alp_codec.h"
#include "storage/codec/bit_stream.h"
#include "storage/codec/int_blocks.h"
#include "storage/codec/int_codec.h"
#include "storage/codec/rle_codecs.h"
#include "storage/codec/string_codec.h"
#include "storage/codec/timestamp_codec.h"
#include "storage/codec/xor_codecs.h"

namespace shopfloor::storage {
namespace {

constexpr size_t kChecksumBytes = 4;
// ALP is kept without trying Chimp when it already costs at most this many bits a value.
constexpr size_t kAlpGoodEnoughBits = 16;

core::Status Corrupt(std::string_view what, uint64_t offset) {
  return core::Status::Corruption(fmt::format("chunk: {}", what), std::string(), offset);
}

// Re-anchors a codec's Corruption (offset within its column) onto the chunk.
core::Status Rebase(const core::Status& s, uint64_t column_offset) {
  if (s.ok()) return s;
  uint64_t inner = s.context().offset.value_or(0);
  return core::Status::Corruption(fmt::format("chunk: {}", s.message()), std::string(), column_offset + inner);
}

uint64_t Rotl(uint64_t v, unsigned r) { return (v << r) | (v >> (64 - r)); }

bool CodecFitsType(ColumnCodec codec, core::ValueType type) {
  switch (type) {
    case core::ValueType::kDouble:
      return codec == ColumnCodec::kAlp || codec == ColumnCodec::kChimp || codec == ColumnCodec::kGorilla;
    case core::ValueType::kInt64: return codec == ColumnCodec::kIntDeltaFor;
    case core::ValueType::kBool: return codec == ColumnCodec::kBoolRunLength || codec == ColumnCodec::kBoolBitmap;
    case core::ValueType::kString:
      return codec == ColumnCodec::kStringDictionary || codec == ColumnCodec::kStringPlain;
  }
  return false;
}

size_t ValueCount(const ChunkColumns& in) {
  switch (in.type) {
    case core::ValueType::kDouble: return in.f64.size();
    case core::ValueType::kInt64: return in.i64.size();
    case core::ValueType::kBool: return in.b.size();
    case core::ValueType::kString: return in.str.size();
  }
  return 0;
}

ColumnCodec EncodeDoubles(std::span<const double> values, ColumnCodec forced, std::string* out) {
  if (forced == ColumnCodec::kGorilla) {
    EncodeGorilla(values, out);
    return forced;
  }
  if (forced == ColumnCodec::kChimp) {
    EncodeChimp(values, out);
    return forced;
  }
  std::string best;
  EncodeAlp(values, &best);
  ColumnCodec best_codec = ColumnCodec::kAlp;
  if (forced == ColumnCodec::kAlp) {
    out->append(best);
    return best_codec;
  }
  auto consider = [&](ColumnCodec codec, void (*encode)(std::span<const double>, std::string*)) {
    std::string candidate;
    encode(values, &candidate);
    if (candidate.size() < best.size()) {
      best.swap(candidate);
      best_codec = codec;
    }
  };
  size_t repeats = 0;
  for (size_t i = 1; i < values.size(); ++i) {
    repeats += std::bit_cast<uint64_t>(values[i]) == std::bit_cast<uint64_t>(values[i - 1]);
  }
  const bool alp_poor = best.size() * 8 > kAlpGoodEnoughBits * values.size();
  // XOR codecs win on binary floats (ALP exceptions) and on long runs of repeats, where
  // Gorilla spends one bit a value.
  if (alp_poor) consider(ColumnCodec::kChimp, &EncodeChimp);
  if (alp_poor || repeats * 2 > values.size()) consider(ColumnCodec::kGorilla, &EncodeGorilla);
  out->append(best);
  return best_codec;
}

ColumnCodec EncodeValues(const ChunkColumns& in, const ChunkEncodeOptions& options, std::string* out) {
  switch (in.type) {
    case core::ValueType::kDouble: return EncodeDoubles(in.f64, options.double_codec, out);
    case core::ValueType::kInt64: EncodeInts(in.i64, out); return ColumnCodec::kIntDeltaFor;
    case core::ValueType::kBool:
      return EncodeBools(in.b, out) == BoolCodec::kBitmap ? ColumnCodec::kBoolBitmap : ColumnCodec::kBoolRunLength;
    case core::ValueType::kString:
      return EncodeStrings(in.str, out) == StringCodec::kDictionary ? ColumnCodec::kStringDictionary
                                                                      : ColumnCodec::kStringPlain;
  }
  return ColumnCodec::kNone;
}

// The fewest column bytes that can describe n timestamps; rejects absurd counts before
// anything is allocated for them.
uint64_t MinTimestampBytes(ColumnCodec codec, uint64_t n) {
  if (n < 2) return 0;
  if (codec == ColumnCodec::kTsGorilla) return (128 + (n - 2) + 7) / 8;
  return 1 + 2 * ((n - 2 + kForBlockSize - 1) / kForBlockSize);
}

core::Status DecodeValues(const ChunkHeader& h, std::string_view column, ChunkColumns* out) {
  const size_t n = h.count;
  switch (h.type) {
    case core::ValueType::kDouble:
      out->f64.resize(n);
      if (h.value_codec == ColumnCodec::kAlp) return DecodeAlp(column, n, out->f64.data());
      if (h.value_codec == ColumnCodec::kChimp) return DecodeChimp(column, n, out->f64.data());
      return DecodeGorilla(column, n, out->f64.data());
    case core::ValueType::kInt64:
      out->i64.resize(n);
      return DecodeInts(column, n, out->i64.data());
    case core::ValueType::kBool:
      out->b.resize(n);
      return DecodeBools(h.value_codec == ColumnCodec::kBoolBitmap ? BoolCodec::kBitmap : BoolCodec::kRunLength,
                         column, n, out->b.data());
    case core::ValueType::kString:
      out->str.resize(n);
      return DecodeStrings(
          h.value_codec == ColumnCodec::kStringDictionary ? StringCodec::kDictionary : StringCodec::kPlain, column, n,
          out->str.data());
  }
  return Corrupt("unknown value type", 1);
}

}  // namespace

std::string_view ColumnCodecName(ColumnCodec codec) {
  switch (codec) {
    case ColumnCodec::kNone: return "none";
    case ColumnCodec::kTsDeltaOfDelta: return "ts-delta-of-delta";
    case ColumnCodec::kTsGorilla: return "ts-gorilla";
    case ColumnCodec::kAlp: return "alp";
    case ColumnCodec::kChimp: return "chimp";
    case ColumnCodec::kGorilla: return "gorilla";
    case ColumnCodec::kIntDeltaFor: return "int-delta-for";
    case ColumnCodec::kBoolRunLength: return "bool-run-length";
    case ColumnCodec::kBoolBitmap: return "bool-bitmap";
    case ColumnCodec::kStringDictionary: return "string-dictionary";
    case ColumnCodec::kStringPlain: return "string-plain";
    case ColumnCodec::kQualityRuns: return "quality-runs";
  }
  return "unknown";
}

uint32_t ChunkChecksum(const uint8_t* data, size_t size) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t lane[4] = {0x243F6A8885A308D3ull, 0x13198A2E03707344ull, 0xA4093822299F31D0ull, 0x082EFA98EC4E6C89ull};
  size_t words = size / 8;
  for (size_t w = 0; w < words; ++w) {
    uint64_t& h = lane[w & 3];
    h = (h ^ LoadLE64(data + 8 * w)) * kMul;
    h ^= h >> 29;
  }
  if (size % 8 != 0) {
    uint64_t tail = 0;
    std::memcpy(&tail, data + 8 * words, size % 8);
    uint64_t& h = lane[words & 3];
    h = (h ^ tail) * kMul;
    h ^= h >> 29;
  }
  uint64_t h = lane[0] ^ Rotl(lane[1], 16) ^ Rotl(lane[2], 32) ^ Rotl(lane[3], 48) ^ size;
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  return static_cast<uint32_t>(h);
}

void EncodeChunk(const ChunkColumns& in, std::string* out) { EncodeChunk(in, ChunkEncodeOptions{}, out); }

void EncodeChunk(const ChunkColumns& in, const ChunkEncodeOptions& options, std::string* out) {
  const size_t n = in.ts.size();
  assert(ValueCount(in) == n);
  assert(in.quality.empty() || in.quality.size() == n);
  for (size_t i = 1; i < n; ++i) assert(in.ts[i - 1] < in.ts[i]);
  (void)ValueCount;

  std::string ts_column, value_column, quality_column;
  ColumnCodec ts_codec = ColumnCodec::kNone, value_codec = ColumnCodec::kNone, quality_codec = ColumnCodec::kNone;
  if (n > 0) {
    if (options.ts_codec == ColumnCodec::kTsGorilla) {
      // Gorilla's stream carries the first timestamp itself; it is also in the header.
      EncodeGorillaTimestamps(in.ts, &ts_column);
      ts_codec = ColumnCodec::kTsGorilla;
    } else {
      EncodeTimestamps(in.ts, &ts_column);
      ts_codec = ColumnCodec::kTsDeltaOfDelta;
    }
    value_codec = EncodeValues(in, options, &value_column);
    if (!in.quality.empty()) {
      EncodeQualityRuns(in.quality, &quality_column);
      quality_codec = ColumnCodec::kQualityRuns;
    }
  }

  const size_t start = out->size();
  out->push_back(static_cast<char>(kChunkFormatVersion));
  out->push_back(static_cast<char>(in.type));
  PutVarint64(out, n);
  if (n > 0) {
    PutFixed64(out, static_cast<uint64_t>(in.ts.front()));
    PutVarint64(out, static_cast<uint64_t>(in.ts.back()) - static_cast<uint64_t>(in.ts.front()));
  }
  out->push_back(static_cast<char>(ts_codec));
  out->push_back(static_cast<char>(value_codec));
  out->push_back(static_cast<char>(quality_codec));
  PutVarint64(out, ts_column.size());
  PutVarint64(out, value_column.size());
  PutVarint64(out, quality_column.size());
  out->append(ts_column);
  out->append(value_column);
  out->append(quality_column);
  PutFixed32(out, ChunkChecksum(reinterpret_cast<const uint8_t*>(out->data() + start), out->size() - start));
}

core::Status ReadChunkHeader(std::string_view in, ChunkHeader* out) {
  if (in.size() < kChecksumBytes + 8) return Corrupt(fmt::format("{} bytes is too short for a chunk", in.size()), 0);
  const size_t body_size = in.size() - kChecksumBytes;
  uint32_t stored;
  std::memcpy(&stored, in.data() + body_size, kChecksumBytes);
  if (stored != ChunkChecksum(reinterpret_cast<const uint8_t*>(in.data()), body_size)) {
    return Corrupt("checksum mismatch", body_size);
  }
  ByteReader reader(in.substr(0, body_size));
  ChunkHeader h;
  uint8_t type, ts_codec, value_codec, quality_codec;
  if (!reader.GetU8(&h.version) || !reader.GetU8(&type) || !reader.GetVarint64(&h.count)) {
    return Corrupt("truncated header", reader.offset());
  }
  if (h.version != kChunkFormatVersion) return Corrupt(fmt::format("unsupported version {}", h.version), 0);
  if (type > static_cast<uint8_t>(core::ValueType::kString)) return Corrupt(fmt::format("bad value type {}", type), 1);
  h.type = static_cast<core::ValueType>(type);
  if (h.count > kMaxChunkSamples) return Corrupt(fmt::format("count {} exceeds the limit", h.count), 2);
  if (h.count > 0) {
    uint64_t min_ts, span;
    if (!reader.GetFixed64(&min_ts) || !reader.GetVarint64(&span)) return Corrupt("truncated time range", reader.offset());
    h.min_ts = static_cast<int64_t>(min_ts);
    h.max_ts = static_cast<int64_t>(min_ts + span);
    if (h.max_ts < h.min_ts || (h.count == 1 && span != 0) || (h.count > 1 && span == 0)) {
      return Corrupt("inconsistent time range", reader.offset());
    }
  }
  const size_t codecs_offset = reader.offset();
  if (!reader.GetU8(&ts_codec) || !reader.GetU8(&value_codec) || !reader.GetU8(&quality_codec) ||
      !reader.GetVarint64(&h.ts_bytes) || !reader.GetVarint64(&h.value_bytes) ||
      !reader.GetVarint64(&h.quality_bytes)) {
    return Corrupt("truncated column directory", reader.offset());
  }
  h.ts_codec = static_cast<ColumnCodec>(ts_codec);
  h.value_codec = static_cast<ColumnCodec>(value_codec);
  h.quality_codec = static_cast<ColumnCodec>(quality_codec);
  if (h.count == 0) {
    if (h.ts_codec != ColumnCodec::kNone || h.value_codec != ColumnCodec::kNone ||
        h.quality_codec != ColumnCodec::kNone) {
      return Corrupt("codecs named for an empty chunk", codecs_offset);
    }
  } else {
    if (h.ts_codec != ColumnCodec::kTsDeltaOfDelta && h.ts_codec != ColumnCodec::kTsGorilla) {
      return Corrupt(fmt::format("bad timestamp codec {}", ts_codec), codecs_offset);
    }
    if (!CodecFitsType(h.value_codec, h.type)) {
      return Corrupt(fmt::format("codec {} does not fit type {}", value_codec, core::ValueTypeName(h.type)),
                     codecs_offset + 1);
    }
    if (h.quality_codec != ColumnCodec::kNone && h.quality_codec != ColumnCodec::kQualityRuns) {
      return Corrupt(fmt::format("bad quality codec {}", quality_codec), codecs_offset + 2);
    }
  }
  h.header_bytes = reader.offset();
  const uint64_t left = reader.remaining();
  if (h.ts_bytes > left || h.value_bytes > left - h.ts_bytes || h.quality_bytes != left - h.ts_bytes - h.value_bytes) {
    return Corrupt("column sizes do not add up to the chunk size", codecs_offset + 3);
  }
  if (h.ts_bytes < MinTimestampBytes(h.ts_codec, h.count)) {
    return Corrupt(fmt::format("{} timestamp bytes cannot hold {} samples", h.ts_bytes, h.count), h.header_bytes);
  }
  *out = h;
  return core::Status::OK();
}

core::Status DecodeChunk(std::string_view in, ChunkColumns* out) {
  ChunkHeader h;
  SF_RETURN_IF_ERROR(ReadChunkHeader(in, &h));
  const size_t n = h.count;
  const uint64_t ts_offset = h.header_bytes;
  const uint64_t value_offset = ts_offset + h.ts_bytes;
  const uint64_t quality_offset = value_offset + h.value_bytes;

  out->type = h.type;
  out->f64.clear();
  out->i64.clear();
  out->b.clear();
  out->str.clear();
  out->quality.clear();
  out->ts.resize(n);
  if (n == 0) return core::Status::OK();

  std::string_view ts_column = in.substr(ts_offset, h.ts_bytes);
  if (h.ts_codec == ColumnCodec::kTsGorilla) {
    SF_RETURN_IF_ERROR(Rebase(DecodeGorillaTimestamps(ts_column, n, out->ts.data()), ts_offset));
    if (out->ts[0] != h.min_ts) return Corrupt("first timestamp differs from the header", ts_offset);
  } else {
    SF_RETURN_IF_ERROR(Rebase(DecodeTimestamps(ts_column, n, h.min_ts, out->ts.data()), ts_offset));
  }
  for (size_t i = 1; i < n; ++i) {
    if (out->ts[i] <= out->ts[i - 1]) {
      return Corrupt(fmt::format("timestamps not strictly increasing at sample {}", i), ts_offset);
    }
  }
  if (out->ts[n - 1] != h.max_ts) return Corrupt("last timestamp differs from the header", ts_offset);

  SF_RETURN_IF_ERROR(Rebase(DecodeValues(h, in.substr(value_offset, h.value_bytes), out), value_offset));
  if (h.quality_codec == ColumnCodec::kQualityRuns) {
    out->quality.resize(n);
    SF_RETURN_IF_ERROR(
        Rebase(DecodeQualityRuns(in.substr(quality_offset, h.quality_bytes), n, out->quality.data()), quality_offset));
  } else if (h.quality_bytes != 0) {
    return Corrupt("quality bytes present without a quality codec", quality_offset);
  }
  return core::Status::OK();
}

}  // namespace shopfloor::storage
