// A chunk: n samples of ONE series, compressed column by column. This is the one codec
// API the storage engine uses; the per-column codecs behind it are internal.
//
// A chunk records its format version, value type, sample count, first and last
// timestamp, and which codec each column used, followed by the columns and a 32-bit
// checksum. The byte layout is specified in docs/format/chunk.md.
//
// Codec choice per chunk: timestamps use delta-of-delta FOR blocks; doubles use ALP unless
// Chimp or Gorilla is smaller (binary floats, long runs of repeats); int64 delta FOR blocks; bools run-length or a
// bitmap; strings a dictionary or plain; quality codes run-length (absent when the input
// quality vector is empty, meaning "all good").
//
// Thread safety: the functions are pure; call them from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace shopfloor::storage {

struct ChunkColumns {            // n samples of ONE series, ts strictly increasing
  core::ValueType type = core::ValueType::kDouble;
  std::vector<int64_t> ts;
  std::vector<double> f64;       // used when type == kDouble
  std::vector<int64_t> i64;      // kInt64
  std::vector<uint8_t> b;        // kBool (0/1)
  std::vector<std::string> str;  // kString
  std::vector<uint32_t> quality; // OPC UA status codes; may be EMPTY meaning "all good"
};

// Column codec identifiers as stored in the chunk header (docs/format/chunk.md).
enum class ColumnCodec : uint8_t {
  kNone = 0,               // column absent (quality all good, or an empty chunk)
  kTsDeltaOfDelta = 1,
  kTsGorilla = 2,          // reference only: selectable for comparisons
  kAlp = 3,
  kChimp = 4,
  kGorilla = 5,            // chosen when smallest; the benchmarks' reference
  kIntDeltaFor = 6,
  kBoolRunLength = 7,
  kBoolBitmap = 8,
  kStringDictionary = 9,
  kStringPlain = 10,
  kQualityRuns = 11,
};
std::string_view ColumnCodecName(ColumnCodec codec);

inline constexpr uint8_t kChunkFormatVersion = 1;
// Largest sample count a chunk may hold; the decoder rejects larger claims.
inline constexpr uint64_t kMaxChunkSamples = uint64_t{1} << 22;

// What the header says; readable without decoding the columns.
struct ChunkHeader {
  uint8_t version = 0;
  core::ValueType type = core::ValueType::kDouble;
  uint64_t count = 0;
  int64_t min_ts = 0;  // first timestamp (0 when count == 0)
  int64_t max_ts = 0;  // last timestamp
  ColumnCodec ts_codec = ColumnCodec::kNone;
  ColumnCodec value_codec = ColumnCodec::kNone;
  ColumnCodec quality_codec = ColumnCodec::kNone;
  uint64_t ts_bytes = 0, value_bytes = 0, quality_bytes = 0;
  uint64_t header_bytes = 0;  // offset of the first column
};

struct ChunkEncodeOptions {
  // kNone lets the encoder choose (ALP or Chimp for doubles, delta-of-delta timestamps).
  // Benchmarks force kGorilla / kTsGorilla to measure the reference encoder.
  ColumnCodec double_codec = ColumnCodec::kNone;
  ColumnCodec ts_codec = ColumnCodec::kNone;
};

// Appends the encoded chunk to *out. Preconditions (programming errors, checked by
// assert): ts strictly increasing; the value vector of `type` has ts.size() entries;
// quality is empty or has ts.size() entries.
void EncodeChunk(const ChunkColumns& in, std::string* out);
void EncodeChunk(const ChunkColumns& in, const ChunkEncodeOptions& options, std::string* out);

// Decodes a whole chunk (exactly `in`, no trailing bytes). On success *out holds the
// columns (the value vector of out->type and ts sized n, the other value vectors empty,
// quality empty iff the chunk stored none). Bad input of any kind yields Corruption naming
// the column and byte offset within the chunk; memory use is bounded by kMaxChunkSamples.
core::Status DecodeChunk(std::string_view in, ChunkColumns* out);

// Parses and validates the header (and checksum) only.
core::Status ReadChunkHeader(std::string_view in, ChunkHeader* out);

// The chunk checksum (docs/format/chunk.md): a 4-lane multiply-xor hash, low 32 bits.
uint32_t ChunkChecksum(const uint8_t* data, size_t size);

}  // namespace shopfloor::storage
