#include "storage/block/block_format.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "storage/wal/crc32c.h"

namespace shopfloor::storage {
namespace {

// Footer field offsets (docs/format/block.md). The last 16 bytes (version, CRC, magic)
// keep their place relative to the end of the file in every format version.
constexpr size_t kFooterPartitionStart = 0;
constexpr size_t kFooterIndexOffset = 64;
constexpr size_t kFooterLevel = 80;
constexpr size_t kFooterVersion = 88;
constexpr size_t kFooterCrc = 92;
constexpr size_t kFooterMagic = 96;
static_assert(kFooterMagic + 8 == kBlockFooterSize);

void PutFixed32(std::string* out, uint32_t v) {
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>(v >> (8 * i));
  out->append(buf, 4);
}

void PutFixed64(std::string* out, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(v >> (8 * i));
  out->append(buf, 8);
}

uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void PutVarint64(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

// Bounds-checked reader over the index bytes.
class IndexCursor {
 public:
  explicit IndexCursor(std::string_view data) : data_(data) {}

  size_t pos() const { return pos_; }
  bool done() const { return pos_ == data_.size(); }

  bool ReadVarint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
      if (pos_ >= data_.size()) return false;
      uint8_t byte = static_cast<uint8_t>(data_[pos_++]);
      // The tenth byte may only carry the top bit of a uint64.
      if (shift == 63 && byte > 1) return false;
      result |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }

  bool ReadByte(uint8_t* v) {
    if (pos_ >= data_.size()) return false;
    *v = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }

  bool ReadFixed32(uint32_t* v) {
    if (data_.size() - pos_ < 4) return false;
    *v = DecodeFixed32(data_.data() + pos_);
    pos_ += 4;
    return true;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// a + b if it stays within int64 (b is a non-negative distance).
bool AddTimestamp(int64_t a, uint64_t b, int64_t* sum) {
  uint64_t room = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - static_cast<uint64_t>(a);
  if (b > room) return false;
  *sum = static_cast<int64_t>(static_cast<uint64_t>(a) + b);
  return true;
}

}  // namespace

std::string BlockTempPath(const std::string& final_path) { return final_path + ".tmp"; }

void EncodeBlockHeader(std::string* out) {
  PutFixed64(out, kBlockMagic);
  PutFixed32(out, kBlockFormatVersion);
  PutFixed32(out, 0);
}

core::Status DecodeBlockHeader(std::string_view header, const std::string& file) {
  if (header.size() < kBlockHeaderSize) {
    return core::Status::Corruption("block header truncated", file, 0);
  }
  if (DecodeFixed64(header.data()) != kBlockMagic) {
    return core::Status::Corruption("bad block header magic", file, 0);
  }
  uint32_t version = DecodeFixed32(header.data() + 8);
  if (version != kBlockFormatVersion) {
    return core::Status::Corruption(fmt::format("unsupported block format version {} in header", version),
                                    file, 8);
  }
  if (DecodeFixed32(header.data() + 12) != 0) {
    return core::Status::Corruption("non-zero reserved field in block header", file, 12);
  }
  return core::Status::OK();
}

void EncodeBlockFooter(const BlockFooter& footer, std::string* out) {
  const size_t start = out->size();
  const BlockMeta& m = footer.meta;
  PutFixed64(out, static_cast<uint64_t>(m.partition_start));
  PutFixed64(out, static_cast<uint64_t>(m.partition_end));
  PutFixed64(out, static_cast<uint64_t>(m.min_ts));
  PutFixed64(out, static_cast<uint64_t>(m.max_ts));
  PutFixed64(out, m.sequence);
  PutFixed64(out, m.num_series);
  PutFixed64(out, m.num_chunks);
  PutFixed64(out, m.num_samples);
  PutFixed64(out, footer.index_offset);
  PutFixed64(out, footer.index_length);
  PutFixed32(out, m.level);
  PutFixed32(out, footer.index_crc);
  PutFixed32(out, m.format_version);
  PutFixed32(out, Crc32c(out->data() + start, kFooterCrc));
  PutFixed64(out, kBlockMagic);
}

core::Result<BlockFooter> DecodeBlockFooter(std::string_view footer, uint64_t file_size,
                                            const std::string& file) {
  if (footer.size() != kBlockFooterSize || file_size < kBlockHeaderSize + kBlockFooterSize) {
    return core::Status::Corruption(
        fmt::format("file of {} bytes is too small to be a block", file_size), file, 0);
  }
  const uint64_t base = file_size - kBlockFooterSize;
  const char* p = footer.data();
  auto corrupt = [&](std::string msg, size_t field) {
    return core::Status::Corruption(std::move(msg), file, base + field);
  };

  if (DecodeFixed64(p + kFooterMagic) != kBlockMagic) return corrupt("bad block footer magic", kFooterMagic);
  uint32_t version = DecodeFixed32(p + kFooterVersion);
  if (version != kBlockFormatVersion) {
    return corrupt(fmt::format("unsupported block format version {}", version), kFooterVersion);
  }
  uint32_t stored_crc = DecodeFixed32(p + kFooterCrc);
  uint32_t actual_crc = Crc32c(p, kFooterCrc);
  if (stored_crc != actual_crc) {
    return corrupt(fmt::format("footer checksum mismatch (stored {:08x}, computed {:08x})", stored_crc,
                               actual_crc),
                   kFooterCrc);
  }

  BlockFooter f;
  BlockMeta& m = f.meta;
  m.format_version = version;
  m.partition_start = static_cast<int64_t>(DecodeFixed64(p + 0));
  m.partition_end = static_cast<int64_t>(DecodeFixed64(p + 8));
  m.min_ts = static_cast<int64_t>(DecodeFixed64(p + 16));
  m.max_ts = static_cast<int64_t>(DecodeFixed64(p + 24));
  m.sequence = DecodeFixed64(p + 32);
  m.num_series = DecodeFixed64(p + 40);
  m.num_chunks = DecodeFixed64(p + 48);
  m.num_samples = DecodeFixed64(p + 56);
  f.index_offset = DecodeFixed64(p + 64);
  f.index_length = DecodeFixed64(p + 72);
  m.level = DecodeFixed32(p + kFooterLevel);
  f.index_crc = DecodeFixed32(p + 84);

  if (m.partition_start >= m.partition_end) {
    return corrupt(fmt::format("empty partition [{}, {})", m.partition_start, m.partition_end),
                   kFooterPartitionStart);
  }
  if (f.index_offset < kBlockHeaderSize || f.index_offset > base || f.index_length != base - f.index_offset) {
    return corrupt(fmt::format("index at offset {} length {} does not end at the footer (offset {})",
                               f.index_offset, f.index_length, base),
                   kFooterIndexOffset);
  }
  if (m.num_chunks > f.index_length / kMinIndexEntrySize || m.num_series > m.num_chunks ||
      (m.num_series == 0) != (m.num_chunks == 0) || m.num_samples < m.num_chunks) {
    return corrupt(fmt::format("implausible counts: {} series, {} chunks, {} samples in a {}-byte index",
                               m.num_series, m.num_chunks, m.num_samples, f.index_length),
                   40);
  }
  return f;
}

void EncodeBlockIndex(const std::vector<ChunkRef>& chunks, std::string* out) {
  uint64_t num_series = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i == 0 || chunks[i].series_id != chunks[i - 1].series_id) ++num_series;
  }
  PutVarint64(out, num_series);
  uint64_t prev_series = 0;
  size_t i = 0;
  while (i < chunks.size()) {
    size_t end = i;
    while (end < chunks.size() && chunks[end].series_id == chunks[i].series_id) ++end;
    PutVarint64(out, chunks[i].series_id - prev_series);
    out->push_back(static_cast<char>(chunks[i].type));
    PutVarint64(out, end - i);
    for (size_t c = i; c < end; ++c) {
      const ChunkRef& ref = chunks[c];
      if (c == i) {
        PutVarint64(out, ZigZag(ref.min_ts));
      } else {
        PutVarint64(out, static_cast<uint64_t>(ref.min_ts) - static_cast<uint64_t>(chunks[c - 1].min_ts));
      }
      PutVarint64(out, static_cast<uint64_t>(ref.max_ts) - static_cast<uint64_t>(ref.min_ts));
      PutVarint64(out, ref.count);
      PutVarint64(out, ref.length);
      PutFixed32(out, ref.crc);
    }
    prev_series = chunks[i].series_id;
    i = end;
  }
}

core::Status DecodeBlockIndex(std::string_view index, const BlockFooter& footer, const std::string& file,
                              std::vector<ChunkRef>* chunks) {
  const BlockMeta& meta = footer.meta;
  IndexCursor in(index);
  size_t entry_pos = 0;  // start of the entry being parsed, for error offsets
  auto corrupt = [&](std::string_view what) {
    return core::Status::Corruption(fmt::format("block index: {}", what), file, footer.index_offset + entry_pos);
  };

  chunks->clear();
  chunks->reserve(meta.num_chunks);  // bounded by the index length in DecodeBlockFooter

  uint64_t num_series = 0;
  if (!in.ReadVarint(&num_series)) return corrupt("truncated series count");
  if (num_series != meta.num_series) {
    return corrupt(fmt::format("{} series listed, footer says {}", num_series, meta.num_series));
  }

  uint64_t next_offset = kBlockHeaderSize;
  uint64_t samples = 0;
  int64_t min_ts = 0, max_ts = 0;
  uint64_t series_id = 0;
  for (uint64_t s = 0; s < num_series; ++s) {
    entry_pos = in.pos();
    uint64_t delta = 0, chunk_count = 0;
    uint8_t type_byte = 0;
    if (!in.ReadVarint(&delta) || !in.ReadByte(&type_byte) || !in.ReadVarint(&chunk_count)) {
      return corrupt("truncated series entry");
    }
    if (s > 0 && delta == 0) return corrupt("series ids not strictly increasing");
    if (delta > std::numeric_limits<uint64_t>::max() - series_id) return corrupt("series id overflows");
    series_id += delta;
    if (type_byte > static_cast<uint8_t>(core::ValueType::kString)) {
      return corrupt(fmt::format("unknown value type {} for series {}", type_byte, series_id));
    }
    if (chunk_count == 0) return corrupt(fmt::format("series {} has no chunks", series_id));
    if (chunk_count > meta.num_chunks - chunks->size()) {
      return corrupt(fmt::format("series {} lists more chunks than the footer's {}", series_id, meta.num_chunks));
    }

    for (uint64_t c = 0; c < chunk_count; ++c) {
      entry_pos = in.pos();
      uint64_t ts_field = 0, span = 0, count = 0, length = 0;
      uint32_t crc = 0;
      if (!in.ReadVarint(&ts_field) || !in.ReadVarint(&span) || !in.ReadVarint(&count) ||
          !in.ReadVarint(&length) || !in.ReadFixed32(&crc)) {
        return corrupt("truncated chunk entry");
      }
      ChunkRef ref;
      ref.series_id = series_id;
      ref.type = static_cast<core::ValueType>(type_byte);
      if (c == 0) {
        ref.min_ts = UnZigZag(ts_field);
      } else if (!AddTimestamp(chunks->back().min_ts, ts_field, &ref.min_ts)) {
        return corrupt("chunk min_ts overflows");
      }
      if (!AddTimestamp(ref.min_ts, span, &ref.max_ts)) return corrupt("chunk max_ts overflows");
      if (ref.min_ts < meta.partition_start || ref.max_ts >= meta.partition_end) {
        return corrupt(fmt::format("chunk [{}, {}] of series {} outside partition [{}, {})", ref.min_ts,
                                   ref.max_ts, series_id, meta.partition_start, meta.partition_end));
      }
      if (count == 0 || count > std::numeric_limits<uint32_t>::max()) {
        return corrupt(fmt::format("bad sample count {}", count));
      }
      if (length == 0 || length > footer.index_offset - next_offset) {
        return corrupt(fmt::format("chunk length {} at offset {} runs past the data region", length, next_offset));
      }
      ref.offset = next_offset;
      ref.length = static_cast<uint32_t>(length);
      ref.count = static_cast<uint32_t>(count);
      ref.crc = crc;
      next_offset += length;
      samples += count;
      if (chunks->empty()) {
        min_ts = ref.min_ts;
        max_ts = ref.max_ts;
      } else {
        min_ts = std::min(min_ts, ref.min_ts);
        max_ts = std::max(max_ts, ref.max_ts);
      }
      chunks->push_back(ref);
    }
  }

  entry_pos = in.pos();
  if (!in.done()) return corrupt(fmt::format("{} trailing bytes", index.size() - in.pos()));
  if (chunks->size() != meta.num_chunks) {
    return corrupt(fmt::format("{} chunks listed, footer says {}", chunks->size(), meta.num_chunks));
  }
  if (next_offset != footer.index_offset) {
    return corrupt(fmt::format("chunks end at offset {} but the index starts at {}", next_offset,
                               footer.index_offset));
  }
  if (samples != meta.num_samples) {
    return corrupt(fmt::format("{} samples listed, footer says {}", samples, meta.num_samples));
  }
  if (min_ts != meta.min_ts || max_ts != meta.max_ts) {
    return corrupt(fmt::format("chunks span [{}, {}], footer says [{}, {}]", min_ts, max_ts, meta.min_ts,
                               meta.max_ts));
  }
  return core::Status::OK();
}

}  // namespace shopfloor::storage
