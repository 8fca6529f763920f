// Frame-of-reference bit packing of unsigned 64-bit values in blocks of 128, with
// exceptions (patched FOR): the workhorse behind the timestamp and integer codecs.
//
// Each block stores base = min(block), a bit width w, the packed (value - base) of every
// value in w bits, and the few values that do not fit in w bits as exceptions (their
// position and full offset from base). The encoder picks w to minimise the block's size,
// so one outlier (a gap in a regular series) costs a couple of bytes, not 128 wide slots.
// The byte layout is in docs/format/chunk.md ("FOR blocks").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "storage/codec/bit_stream.h"

namespace shopfloor::storage {

inline constexpr size_t kForBlockSize = 128;

// Appends the blocks encoding values[0..n).
void EncodeForBlocks(const uint64_t* values, size_t n, std::string* out);

// Decodes exactly n values from the reader into out[0..n). Corruption (naming `codec` and
// the byte offset within the reader's slice) on truncated or inconsistent input.
core::Status DecodeForBlocks(ByteReader* reader, size_t n, uint64_t* out, std::string_view codec);

}  // namespace shopfloor::storage
