// Byte-level helpers for the engine's own records (WAL payloads, the series catalog), on top
// of the codec module's ByteReader/PutVarint64 (codec/bit_stream.h).
#pragma once

#include <cstdint>
#include <string_view>

#include "storage/codec/bit_stream.h"

namespace shopfloor::storage {

inline bool GetVarint32(ByteReader* r, uint32_t* v) {
  uint64_t wide = 0;
  if (!r->GetVarint64(&wide) || wide > UINT32_MAX) return false;
  *v = static_cast<uint32_t>(wide);
  return true;
}

inline bool GetBytes(ByteReader* r, size_t n, std::string_view* out) {
  const uint8_t* p = nullptr;
  if (!r->Skip(n, &p)) return false;
  *out = std::string_view(reinterpret_cast<const char*>(p), n);
  return true;
}

}  // namespace shopfloor::storage
