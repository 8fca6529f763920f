#include "storage/block/block_reader.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "storage/wal/crc32c.h"

namespace shopfloor::storage {
namespace {

// Reads exactly n bytes at offset; a short read means the file ends early.
core::Result<std::string_view> ReadExact(const core::RandomAccessFile& file, uint64_t offset, size_t n,
                                         std::string* scratch, const std::string& path, std::string_view what) {
  scratch->resize(n);
  SF_ASSIGN_OR_RETURN(std::string_view data, file.Read(offset, n, scratch->data()));
  if (data.size() != n) {
    return core::Status::Corruption(fmt::format("{} truncated: read {} of {} bytes", what, data.size(), n), path,
                                    offset + data.size());
  }
  return data;
}

}  // namespace

core::Result<std::unique_ptr<BlockReader>> BlockReader::Open(core::Env* env, const std::string& path) {
  if (env == nullptr) return core::Status::InvalidArgument("BlockReader needs an Env");
  SF_ASSIGN_OR_RETURN(auto file, env->NewRandomAccessFile(path));
  return Open(std::move(file), path);
}

core::Result<std::unique_ptr<BlockReader>> BlockReader::Open(std::unique_ptr<core::RandomAccessFile> file,
                                                             std::string path) {
  if (file == nullptr) return core::Status::InvalidArgument("BlockReader needs a file");
  const uint64_t size = file->Size();
  if (size < kBlockHeaderSize + kBlockFooterSize) {
    return core::Status::Corruption(fmt::format("file of {} bytes is too small to be a block", size), path, 0);
  }

  std::string scratch;
  SF_ASSIGN_OR_RETURN(std::string_view header, ReadExact(*file, 0, kBlockHeaderSize, &scratch, path, "header"));
  SF_RETURN_IF_ERROR(DecodeBlockHeader(header, path));

  SF_ASSIGN_OR_RETURN(std::string_view footer_bytes,
                      ReadExact(*file, size - kBlockFooterSize, kBlockFooterSize, &scratch, path, "footer"));
  SF_ASSIGN_OR_RETURN(BlockFooter footer, DecodeBlockFooter(footer_bytes, size, path));

  // index_length < size was checked by DecodeBlockFooter, so this allocation is bounded by
  // the real file.
  SF_ASSIGN_OR_RETURN(std::string_view index,
                      ReadExact(*file, footer.index_offset, footer.index_length, &scratch, path, "index"));
  uint32_t actual_crc = Crc32c(index.data(), index.size());
  if (actual_crc != footer.index_crc) {
    return core::Status::Corruption(
        fmt::format("index checksum mismatch (stored {:08x}, computed {:08x})", footer.index_crc, actual_crc), path,
        footer.index_offset);
  }
  std::vector<ChunkRef> chunks;
  SF_RETURN_IF_ERROR(DecodeBlockIndex(index, footer, path, &chunks));
  chunks.shrink_to_fit();

  return std::unique_ptr<BlockReader>(new BlockReader(std::move(file), std::move(path), size, footer.meta,
                                                      footer.index_offset, std::move(chunks)));
}

BlockReader::BlockReader(std::unique_ptr<core::RandomAccessFile> file, std::string path, uint64_t file_size,
                         BlockMeta meta, uint64_t data_end, std::vector<ChunkRef> chunks)
    : file_(std::move(file)),
      path_(std::move(path)),
      file_size_(file_size),
      meta_(meta),
      data_end_(data_end),
      chunks_(std::move(chunks)) {}

std::span<const ChunkRef> BlockReader::ChunksFor(uint64_t series_id) const {
  auto first = std::lower_bound(chunks_.begin(), chunks_.end(), series_id,
                                [](const ChunkRef& ref, uint64_t id) { return ref.series_id < id; });
  auto last = std::upper_bound(first, chunks_.end(), series_id,
                               [](uint64_t id, const ChunkRef& ref) { return id < ref.series_id; });
  return {first, last};
}

std::vector<uint64_t> BlockReader::SeriesIds() const {
  std::vector<uint64_t> ids;
  ids.reserve(meta_.num_series);
  for (const ChunkRef& ref : chunks_) {
    if (ids.empty() || ids.back() != ref.series_id) ids.push_back(ref.series_id);
  }
  return ids;
}

core::Result<std::string_view> BlockReader::ReadChunk(const ChunkRef& ref, std::string* scratch) const {
  if (ref.offset < kBlockHeaderSize || ref.offset > data_end_ || ref.length > data_end_ - ref.offset) {
    return core::Status::InvalidArgument(
        fmt::format("block {}: chunk at offset {} length {} is outside the data region [{}, {})", path_,
                    ref.offset, ref.length, kBlockHeaderSize, data_end_));
  }
  SF_ASSIGN_OR_RETURN(std::string_view data, ReadExact(*file_, ref.offset, ref.length, scratch, path_, "chunk"));
  uint32_t actual_crc = Crc32c(data.data(), data.size());
  if (actual_crc != ref.crc) {
    return core::Status::Corruption(fmt::format("chunk checksum mismatch for series {} (stored {:08x}, computed {:08x})",
                                                ref.series_id, ref.crc, actual_crc),
                                    path_, ref.offset);
  }
  return data;
}

}  // namespace shopfloor::storage
