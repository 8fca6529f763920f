// The engine's WAL payloads: what a WAL record (see docs/format/wal.md) carries.
//
//   record      := kind:u8 body
//   kind 1      series creation: id:varint64 type:u8 key_len:varint32 key
//   kind 2      samples: count:varint32 then count entries of
//               series:varint64 ts:zigzag-varint64 (delta to the previous entry's ts, the
//               first against 0) type:u8 value quality:varint32
//               value: double 8 bytes little-endian | int64 zigzag-varint | bool u8 |
//                      string len:varint32 bytes
// Decoding validates every length and type and answers Corruption on bad input.
#pragma once

#include <string>
#include <string_view>

#include "core/core.h"

namespace shopfloor::storage {

enum class WalRecordKind : uint8_t { kSeriesCreate = 1, kSamples = 2 };

struct WalSeriesCreate {
  core::SeriesId id{};
  core::ValueType type = core::ValueType::kDouble;
  std::string key;
};

void EncodeSeriesCreate(const WalSeriesCreate& rec, std::string* out);
void EncodeSamples(const core::SampleBatch& batch, std::string* out);

// Decodes one payload into exactly one of the outputs, setting *kind.
core::Status DecodeWalRecord(std::string_view payload, WalRecordKind* kind, WalSeriesCreate* create,
                             core::SampleBatch* samples);

}  // namespace shopfloor::storage
