// BlockReader: an open, verified, immutable block file (docs/format/block.md).
//
// Open() reads the header, footer and index once and checks magic, format version, the
// footer and index CRC32Cs and the index's structure (entries sorted, offsets inside the
// data region, totals matching the footer). Any failure is Status::Corruption naming the
// file and the byte offset of the problem. Chunk bytes are read on demand by ReadChunk(),
// which verifies each chunk's CRC32C; a damaged chunk fails alone and the rest of the
// block stays readable.
//
// Memory: the index is held as one sorted array of ChunkRef (48 bytes per chunk), with no
// per-series allocation; ChunksFor() binary-searches it.
//
// Thread safety: after Open() a reader is immutable; every method may be called from any
// number of threads at once (ReadChunk uses the caller's scratch and positional reads).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "storage/block/block_format.h"

namespace shopfloor::storage {

class BlockReader {
 public:
  static core::Result<std::unique_ptr<BlockReader>> Open(core::Env* env, const std::string& path);
  // Opens a block from an already-open file; `path` names it in errors. Used by Open() and
  // by the fuzz target, which feeds bytes without a file system.
  static core::Result<std::unique_ptr<BlockReader>> Open(std::unique_ptr<core::RandomAccessFile> file,
                                                         std::string path);

  BlockReader(const BlockReader&) = delete;
  BlockReader& operator=(const BlockReader&) = delete;

  const BlockMeta& meta() const { return meta_; }
  const std::string& path() const { return path_; }
  uint64_t file_size() const { return file_size_; }

  // The chunks of one series in min_ts order; empty if the block does not hold it. The span
  // is valid for the reader's lifetime.
  std::span<const ChunkRef> ChunksFor(uint64_t series_id) const;
  // Every chunk in (series_id, min_ts) order (for compaction and checks).
  std::span<const ChunkRef> chunks() const { return chunks_; }
  // The series held, ascending.
  std::vector<uint64_t> SeriesIds() const;

  // Reads and verifies one chunk. The view points into *scratch or into the file's own
  // memory, and is valid until *scratch changes or the reader is destroyed. A ref that does
  // not lie inside this block's data region is InvalidArgument; a CRC mismatch or a short
  // read is Corruption naming the file and the chunk's offset.
  core::Result<std::string_view> ReadChunk(const ChunkRef& ref, std::string* scratch) const;

 private:
  BlockReader(std::unique_ptr<core::RandomAccessFile> file, std::string path, uint64_t file_size,
              BlockMeta meta, uint64_t data_end, std::vector<ChunkRef> chunks);

  const std::unique_ptr<core::RandomAccessFile> file_;
  const std::string path_;
  const uint64_t file_size_;
  const BlockMeta meta_;
  const uint64_t data_end_;  // offset of the index: chunks live in [kBlockHeaderSize, data_end_)
  const std::vector<ChunkRef> chunks_;
};

}  // namespace shopfloor::storage
