// The byte layout of an immutable block file (docs/format/block.md, docs/format/index.md).
//
//   [header 16 B] [chunk 0] [chunk 1] ... [chunk n-1] [index] [footer 104 B]
//
// Chunks are opaque bytes (the codec's EncodeChunk output) stored back to back in
// (series_id, min_ts) order. The index lists every chunk with its series, type, time range,
// sample count, length and CRC32C; a chunk's offset is implied by the lengths before it.
// The footer holds the BlockMeta, the index's place and CRC, its own CRC and the magic.
//
// This header is shared by BlockWriter, BlockReader and the fuzz target; it holds no state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace shopfloor::storage {

// "SFBLOCK" followed by a 0x01 byte, read as a little-endian uint64.
inline constexpr uint64_t kBlockMagic = 0x014B434F4C424653ull;
inline constexpr uint32_t kBlockFormatVersion = 1;
inline constexpr size_t kBlockHeaderSize = 16;   // magic u64, version u32, reserved u32
inline constexpr size_t kBlockFooterSize = 104;  // see EncodeBlockFooter
// The smallest possible on-disk index entry (one byte per varint, four of CRC): bounds
// the entry count an index of a given length can claim before anything is allocated.
inline constexpr size_t kMinIndexEntrySize = 8;

// Describes a block; stored in its footer. The writer computes min_ts, max_ts and the
// counts itself; the caller supplies the partition, level and sequence.
struct BlockMeta {
  uint32_t format_version = kBlockFormatVersion;
  core::Timestamp partition_start = 0;  // inclusive
  core::Timestamp partition_end = 0;    // exclusive; must be > partition_start
  // Smallest min_ts and largest max_ts over all chunks; both 0 in an empty block.
  core::Timestamp min_ts = 0;
  core::Timestamp max_ts = 0;
  uint32_t level = 0;     // 0: flushed from the head; > 0: produced by compaction
  uint64_t sequence = 0;  // creation sequence number, assigned by the engine
  uint64_t num_series = 0;
  uint64_t num_chunks = 0;
  uint64_t num_samples = 0;

  bool operator==(const BlockMeta&) const = default;
};

// Where one chunk lives and what it holds. Laid out without padding holes: the reader keeps
// one of these per chunk in memory for as long as the block is open.
struct ChunkRef {
  uint64_t series_id = 0;
  core::Timestamp min_ts = 0;  // first sample's timestamp
  core::Timestamp max_ts = 0;  // last sample's timestamp (>= min_ts)
  uint64_t offset = 0;         // byte offset of the chunk in the block file
  uint32_t length = 0;         // bytes
  uint32_t count = 0;          // samples (>= 1)
  uint32_t crc = 0;            // CRC32C of the chunk bytes
  core::ValueType type = core::ValueType::kDouble;

  bool operator==(const ChunkRef&) const = default;
};
static_assert(sizeof(ChunkRef) == 48, "ChunkRef is kept per chunk in memory: keep it tight");

// The footer's fields besides BlockMeta.
struct BlockFooter {
  BlockMeta meta;
  uint64_t index_offset = 0;
  uint64_t index_length = 0;
  uint32_t index_crc = 0;
};

void EncodeBlockHeader(std::string* out);
// Checks the 16-byte header at the start of the file. `file` names it in errors.
core::Status DecodeBlockHeader(std::string_view header, const std::string& file);

// Appends exactly kBlockFooterSize bytes.
void EncodeBlockFooter(const BlockFooter& footer, std::string* out);
// Parses the last kBlockFooterSize bytes of a file of `file_size` bytes: magic, version,
// footer CRC, then structural checks (index inside the file, counts plausible).
// Errors are Corruption naming `file` and the absolute offset of the bad field.
core::Result<BlockFooter> DecodeBlockFooter(std::string_view footer, uint64_t file_size,
                                            const std::string& file);

// Appends the index for `chunks`, which must be in (series_id, min_ts) order, non-empty
// series, contiguous from kBlockHeaderSize (as BlockWriter produces them).
void EncodeBlockIndex(const std::vector<ChunkRef>& chunks, std::string* out);
// Parses an index whose CRC was already verified against `footer`, checking that entries
// are sorted, types are known, time ranges lie in the partition, chunks exactly fill the
// data region, and the totals match the footer's meta. Fills `chunks` (replacing its
// contents). Errors are Corruption naming `file` and the absolute offset of the entry.
core::Status DecodeBlockIndex(std::string_view index, const BlockFooter& footer,
                              const std::string& file, std::vector<ChunkRef>* chunks);

// The path a block is written under until BlockWriter::Finish renames it: "<final>.tmp".
std::string BlockTempPath(const std::string& final_path);

}  // namespace shopfloor::storage
