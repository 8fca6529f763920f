// Fuzzes BlockReader: header, footer and index parsing at Open(), then lookups and chunk
// reads (CRC checks) on whatever opened.
//
// The first input byte is a mode; the rest is the block file. With mode bit 0 set, the
// index and footer CRCs are recomputed before opening, so mutations reach the structural
// checks of the index instead of stopping at a checksum mismatch.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "storage/block/block_format.h"
#include "storage/block/block_reader.h"
#include "storage/wal/crc32c.h"

namespace {

using shopfloor::storage::kBlockFooterSize;
using shopfloor::storage::kBlockHeaderSize;

class StringFile final : public shopfloor::core::RandomAccessFile {
 public:
  explicit StringFile(std::string data) : data_(std::move(data)) {}
  shopfloor::core::Result<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const override {
    if (offset > data_.size()) return std::string_view();
    n = std::min<uint64_t>(n, data_.size() - offset);
    std::memcpy(scratch, data_.data() + offset, n);
    return std::string_view(scratch, n);
  }
  uint64_t Size() const override { return data_.size(); }

 private:
  std::string data_;
};

uint64_t Load64(const std::string& s, size_t pos) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[pos + i]);
  return v;
}

void Store32(std::string* s, size_t pos, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*s)[pos + i] = static_cast<char>(v >> (8 * i));
}

// Rewrites the index CRC (footer byte 84) and the footer CRC (byte 92) to match the bytes.
void FixChecksums(std::string* file) {
  if (file->size() < kBlockHeaderSize + kBlockFooterSize) return;
  const size_t footer = file->size() - kBlockFooterSize;
  uint64_t index_offset = Load64(*file, footer + 64);
  uint64_t index_length = Load64(*file, footer + 72);
  if (index_offset <= footer && index_length <= footer - index_offset) {
    Store32(file, footer + 84, shopfloor::storage::Crc32c(file->data() + index_offset, index_length));
  }
  Store32(file, footer + 92, shopfloor::storage::Crc32c(file->data() + footer, 92));
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "block_fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string file(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (mode & 1) FixChecksums(&file);

  auto reader = shopfloor::storage::BlockReader::Open(std::make_unique<StringFile>(file), "fuzz.block");
  if (!reader.ok()) {
    Check(reader.status().IsCorruption(), "Open fails only with Corruption");
    Check(reader.status().context().offset.has_value(), "Corruption names an offset");
    Check(*reader.status().context().offset <= file.size(), "offset inside the file");
    return 0;
  }
  const auto& r = **reader;
  const auto& meta = r.meta();
  Check(r.chunks().size() == meta.num_chunks, "chunk count matches meta");
  std::string scratch;
  uint64_t samples = 0;
  for (uint64_t id : r.SeriesIds()) {
    auto refs = r.ChunksFor(id);
    Check(!refs.empty(), "listed series has chunks");
    for (size_t i = 0; i < refs.size(); ++i) {
      const auto& ref = refs[i];
      Check(ref.series_id == id, "ChunksFor returns only its series");
      Check(i == 0 || refs[i - 1].min_ts <= ref.min_ts, "chunks sorted by min_ts");
      Check(ref.min_ts <= ref.max_ts, "chunk time range ordered");
      Check(ref.min_ts >= meta.partition_start && ref.max_ts < meta.partition_end, "chunk inside partition");
      samples += ref.count;
      auto chunk = r.ReadChunk(ref, &scratch);
      if (chunk.ok()) {
        Check(chunk->size() == ref.length, "chunk read whole");
      } else {
        Check(chunk.status().IsCorruption(), "chunk read fails only with Corruption");
        Check(chunk.status().context().offset == ref.offset, "chunk Corruption names its offset");
      }
    }
  }
  Check(samples == meta.num_samples, "sample count matches meta");
  std::vector<uint64_t> ids = r.SeriesIds();
  Check(ids.size() == meta.num_series, "series count matches meta");
  if (!ids.empty() && ids.back() != UINT64_MAX) Check(r.ChunksFor(ids.back() + 1).empty(), "absent series");
  return 0;
}
