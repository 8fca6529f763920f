#include "storage/codec/timestamp_codec.h"

#include <vector>

#include "storage/codec/bit_stream.h"
#include "storage/codec/int_blocks.h"

namespace shopfloor::storage {

namespace {
constexpr std::string_view kCodec = "timestamp column";
}  // namespace

void EncodeTimestamps(std::span<const int64_t> ts, std::string* out) {
  const size_t n = ts.size();
  if (n < 2) return;
  uint64_t previous_delta = static_cast<uint64_t>(ts[1]) - static_cast<uint64_t>(ts[0]);
  PutVarint64(out, ZigZagEncode(static_cast<int64_t>(previous_delta)));
  if (n == 2) return;
  std::vector<uint64_t> dods(n - 2);
  for (size_t i = 2; i < n; ++i) {
    uint64_t delta = static_cast<uint64_t>(ts[i]) - static_cast<uint64_t>(ts[i - 1]);
    dods[i - 2] = ZigZagEncode(static_cast<int64_t>(delta - previous_delta));
    previous_delta = delta;
  }
  EncodeForBlocks(dods.data(), dods.size(), out);
}

core::Status DecodeTimestamps(std::string_view in, size_t n, int64_t first, int64_t* out) {
  if (n == 0) {
    if (!in.empty()) return CodecCorruption(kCodec, "bytes present for an empty chunk", 0);
    return core::Status::OK();
  }
  out[0] = first;
  ByteReader reader(in);
  if (n >= 2) {
    uint64_t first_delta;
    if (!reader.GetVarint64(&first_delta)) return CodecCorruption(kCodec, "truncated first delta", 0);
    // The delta-of-deltas are decoded in place into out[2..n) (uint64 aliases int64).
    uint64_t* dods = reinterpret_cast<uint64_t*>(out + 2);
    SF_RETURN_IF_ERROR(DecodeForBlocks(&reader, n - 2, dods, kCodec));
    uint64_t delta = static_cast<uint64_t>(ZigZagDecode(first_delta));
    uint64_t current = static_cast<uint64_t>(first) + delta;
    out[1] = static_cast<int64_t>(current);
    for (size_t i = 2; i < n; ++i) {
      delta += static_cast<uint64_t>(ZigZagDecode(dods[i - 2]));
      current += delta;
      out[i] = static_cast<int64_t>(current);
    }
  }
  if (reader.remaining() != 0) return CodecCorruption(kCodec, "trailing bytes after the column", reader.offset());
  return core::Status::OK();
}

}  // namespace shopfloor::storage
