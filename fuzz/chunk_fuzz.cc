// Fuzz target for the chunk decoder (storage/codec/chunk.h) and the column codecs behind it.
// Each input is decoded twice: as is (mostly stopped by the checksum), and with its last
// four bytes replaced by the correct checksum so that mutations reach every structural
// check and column decoder. A successful decode must re-encode to a chunk that decodes to
// the same columns.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "storage/codec/chunk.h"

namespace {

void DecodeAndCheck(std::string_view input) {
  using shopfloor::storage::ChunkColumns;
  ChunkColumns columns;
  if (!shopfloor::storage::DecodeChunk(input, &columns).ok()) return;
  std::string again;
  shopfloor::storage::EncodeChunk(columns, &again);
  ChunkColumns round;
  if (!shopfloor::storage::DecodeChunk(again, &round).ok()) __builtin_trap();
  if (round.ts != columns.ts || round.i64 != columns.i64 || round.b != columns.b || round.str != columns.str ||
      round.quality != columns.quality || round.f64.size() != columns.f64.size() ||
      (!columns.f64.empty() &&
       std::memcmp(round.f64.data(), columns.f64.data(), columns.f64.size() * sizeof(double)) != 0)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  DecodeAndCheck(input);
  if (size > 4) {
    std::string sealed(input);
    uint32_t sum = shopfloor::storage::ChunkChecksum(data, size - 4);
    std::memcpy(sealed.data() + size - 4, &sum, 4);
    DecodeAndCheck(sealed);
  }
  return 0;
}
