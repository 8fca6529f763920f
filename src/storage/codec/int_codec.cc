#include "storage/codec/int_codec.h"

#include <vector>

#include "storage/codec/bit_stream.h"
#include "storage/codec/int_blocks.h"

namespace shopfloor::storage {

namespace {
constexpr std::string_view kCodec = "int64 column";
// Deltas are stored with the sign bit flipped, which orders them like signed integers,
// so a frame of reference over a block of small negative and positive deltas stays narrow.
constexpr uint64_t kSignBit = uint64_t{1} << 63;
}  // namespace

void EncodeInts(std::span<const int64_t> values, std::string* out) {
  const size_t n = values.size();
  if (n == 0) return;
  PutVarint64(out, ZigZagEncode(values[0]));
  std::vector<uint64_t> deltas(n - 1);
  for (size_t i = 1; i < n; ++i) {
    deltas[i - 1] = (static_cast<uint64_t>(values[i]) - static_cast<uint64_t>(values[i - 1])) ^ kSignBit;
  }
  EncodeForBlocks(deltas.data(), deltas.size(), out);
}

core::Status DecodeInts(std::string_view in, size_t n, int64_t* out) {
  ByteReader reader(in);
  if (n > 0) {
    uint64_t first;
    if (!reader.GetVarint64(&first)) return CodecCorruption(kCodec, "truncated first value", 0);
    uint64_t* deltas = reinterpret_cast<uint64_t*>(out + 1);
    SF_RETURN_IF_ERROR(DecodeForBlocks(&reader, n - 1, deltas, kCodec));
    uint64_t current = static_cast<uint64_t>(ZigZagDecode(first));
    out[0] = static_cast<int64_t>(current);
    for (size_t i = 1; i < n; ++i) {
      current += deltas[i - 1] ^ kSignBit;
      out[i] = static_cast<int64_t>(current);
    }
  }
  if (reader.remaining() != 0) return CodecCorruption(kCodec, "trailing bytes after the column", reader.offset());
  return core::Status::OK();
}

}  // namespace shopfloor::storage
