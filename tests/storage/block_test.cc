// Tests for the immutable block files: BlockWriter, BlockReader and their byte layout.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/env.h"
#include "storage/block/block_format.h"
#include "storage/block/block_reader.h"
#include "storage/block/block_writer.h"
#include "storage/wal/crc32c.h"

namespace shopfloor::storage {
namespace {

using core::ValueType;

constexpr int64_t kPartStart = 1'700'000'000'000'000'000;
constexpr int64_t kPartEnd = kPartStart + 2 * core::kHour;

BlockMeta TestMeta(uint64_t sequence = 7, uint32_t level = 0) {
  BlockMeta meta;
  meta.partition_start = kPartStart;
  meta.partition_end = kPartEnd;
  meta.level = level;
  meta.sequence = sequence;
  return meta;
}

// What a test added, to compare against what a reader returns.
struct ExpectedChunk {
  uint64_t series_id;
  ValueType type;
  int64_t min_ts, max_ts;
  uint32_t count;
  std::string bytes;
};

// Deterministic chunk bytes of a varying length (1..300), distinct per (series, index).
std::string ChunkBytes(uint64_t series_id, int index) {
  std::mt19937_64 rng(series_id * 1000003 + static_cast<uint64_t>(index));
  std::string bytes(1 + rng() % 300, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

class BlockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = core::NewMemEnv();
    ASSERT_TRUE(env_->CreateDirs(dir_).ok());
  }

  std::string PathOf(const std::string& name) const { return core::JoinPath(dir_, name); }

  // Writes a block holding `chunks` (in order) to `path`.
  void WriteBlock(core::Env* env, const std::string& path, const std::vector<ExpectedChunk>& chunks,
                  BlockMeta meta = TestMeta()) {
    auto writer = BlockWriter::Create(env, path, meta);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    for (const ExpectedChunk& c : chunks) {
      core::Status s = (*writer)->Add(c.series_id, c.type, c.min_ts, c.max_ts, c.count, c.bytes);
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    core::Status s = (*writer)->Finish();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // `series` series with ids spaced by a stride, 1..4 chunks each.
  static std::vector<ExpectedChunk> MakeChunks(int series) {
    std::vector<ExpectedChunk> chunks;
    for (int s = 0; s < series; ++s) {
      uint64_t id = 3 + static_cast<uint64_t>(s) * 977;
      ValueType type = static_cast<ValueType>(s % 4);
      int n = 1 + s % 4;
      for (int i = 0; i < n; ++i) {
        int64_t min_ts = kPartStart + (s % 7) * core::kSecond + i * 10 * core::kMinute;
        int64_t max_ts = min_ts + (i % 2 == 0 ? 9 * core::kMinute : 0);
        chunks.push_back({id, type, min_ts, max_ts, static_cast<uint32_t>(1 + (s + i) % 120), ChunkBytes(id, i)});
      }
    }
    return chunks;
  }

  std::string ReadAll(const std::string& path) {
    auto data = env_->ReadFileToString(path);
    EXPECT_TRUE(data.ok()) << data.status().ToString();
    return data.ok() ? *data : std::string();
  }

  void Overwrite(const std::string& path, std::string_view data) {
    auto file = env_->NewWritableFile(path);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append(data).ok());
    ASSERT_TRUE((*file)->Close().ok());
  }

  // Opens `bytes` as a block and expects Corruption whose offset lies in [lo, hi].
  void ExpectCorruptAt(const std::string& bytes, uint64_t lo, uint64_t hi, const std::string& what) {
    const std::string path = PathOf("damaged.block");
    Overwrite(path, bytes);
    auto reader = BlockReader::Open(env_.get(), path);
    ASSERT_FALSE(reader.ok()) << what;
    const core::Status& s = reader.status();
    EXPECT_TRUE(s.IsCorruption()) << what << ": " << s.ToString();
    EXPECT_EQ(s.context().file, path) << what;
    ASSERT_TRUE(s.context().offset.has_value()) << what;
    EXPECT_GE(*s.context().offset, lo) << what << ": " << s.ToString();
    EXPECT_LE(*s.context().offset, hi) << what << ": " << s.ToString();
  }

  std::unique_ptr<core::Env> env_;
  const std::string dir_ = "/db/blocks";
};

TEST_F(BlockTest, RoundTripManySeriesAndChunks) {
  const std::vector<ExpectedChunk> chunks = MakeChunks(300);
  const std::string path = PathOf("000001.block");
  WriteBlock(env_.get(), path, chunks, TestMeta(42, 2));
  EXPECT_TRUE(env_->FileExists(path));
  EXPECT_FALSE(env_->FileExists(BlockTempPath(path)));

  auto reader = BlockReader::Open(env_.get(), path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  const BlockMeta& meta = (*reader)->meta();
  EXPECT_EQ(meta.format_version, kBlockFormatVersion);
  EXPECT_EQ(meta.partition_start, kPartStart);
  EXPECT_EQ(meta.partition_end, kPartEnd);
  EXPECT_EQ(meta.level, 2u);
  EXPECT_EQ(meta.sequence, 42u);
  EXPECT_EQ(meta.num_series, 300u);
  EXPECT_EQ(meta.num_chunks, chunks.size());
  uint64_t samples = 0;
  int64_t min_ts = std::numeric_limits<int64_t>::max(), max_ts = std::numeric_limits<int64_t>::min();
  for (const auto& c : chunks) {
    samples += c.count;
    min_ts = std::min(min_ts, c.min_ts);
    max_ts = std::max(max_ts, c.max_ts);
  }
  EXPECT_EQ(meta.num_samples, samples);
  EXPECT_EQ(meta.min_ts, min_ts);
  EXPECT_EQ(meta.max_ts, max_ts);

  std::map<uint64_t, std::vector<const ExpectedChunk*>> by_series;
  for (const auto& c : chunks) by_series[c.series_id].push_back(&c);
  std::vector<uint64_t> ids;
  for (const auto& [id, list] : by_series) ids.push_back(id);
  EXPECT_EQ((*reader)->SeriesIds(), ids);

  std::string scratch;
  uint64_t expected_offset = kBlockHeaderSize;
  for (const auto& [id, list] : by_series) {
    std::span<const ChunkRef> refs = (*reader)->ChunksFor(id);
    ASSERT_EQ(refs.size(), list.size()) << "series " << id;
    for (size_t i = 0; i < refs.size(); ++i) {
      const ChunkRef& ref = refs[i];
      const ExpectedChunk& want = *list[i];
      EXPECT_EQ(ref.series_id, id);
      EXPECT_EQ(ref.type, want.type);
      EXPECT_EQ(ref.min_ts, want.min_ts);
      EXPECT_EQ(ref.max_ts, want.max_ts);
      EXPECT_EQ(ref.count, want.count);
      EXPECT_EQ(ref.length, want.bytes.size());
      EXPECT_EQ(ref.offset, expected_offset);
      EXPECT_EQ(ref.crc, Crc32c(want.bytes.data(), want.bytes.size()));
      expected_offset += ref.length;
      auto data = (*reader)->ReadChunk(ref, &scratch);
      ASSERT_TRUE(data.ok()) << data.status().ToString();
      EXPECT_EQ(*data, want.bytes);
    }
  }
  EXPECT_EQ((*reader)->chunks().size(), chunks.size());
  auto size = env_->GetFileSize(path);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ((*reader)->file_size(), *size);
}

TEST_F(BlockTest, CallerSuppliedDerivedFieldsAreRecomputed) {
  BlockMeta meta = TestMeta();
  meta.num_chunks = 99;
  meta.num_samples = 1234;
  meta.min_ts = -5;
  meta.format_version = 77;
  const std::string path = PathOf("derived.block");
  WriteBlock(env_.get(), path, {{1, ValueType::kInt64, kPartStart + 5, kPartStart + 9, 3, "abc"}}, meta);
  auto reader = BlockReader::Open(env_.get(), path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->meta().num_chunks, 1u);
  EXPECT_EQ((*reader)->meta().num_samples, 3u);
  EXPECT_EQ((*reader)->meta().min_ts, kPartStart + 5);
  EXPECT_EQ((*reader)->meta().max_ts, kPartStart + 9);
  EXPECT_EQ((*reader)->meta().format_version, kBlockFormatVersion);
}

TEST_F(BlockTest, EmptyBlock) {
  const std::string path = PathOf("empty.block");
  WriteBlock(env_.get(), path, {});
  auto size = env_->GetFileSize(path);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, kBlockHeaderSize + 1 + kBlockFooterSize);  // index: a zero series count

  auto reader = BlockReader::Open(env_.get(), path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->meta().num_series, 0u);
  EXPECT_EQ((*reader)->meta().num_chunks, 0u);
  EXPECT_EQ((*reader)->meta().num_samples, 0u);
  EXPECT_EQ((*reader)->meta().min_ts, 0);
  EXPECT_EQ((*reader)->meta().max_ts, 0);
  EXPECT_TRUE((*reader)->SeriesIds().empty());
  EXPECT_TRUE((*reader)->ChunksFor(0).empty());
  EXPECT_TRUE((*reader)->ChunksFor(1).empty());
}

TEST_F(BlockTest, AbsentSeriesLookups) {
  std::vector<ExpectedChunk> chunks;
  for (uint64_t id : {10u, 20u, 30u}) {
    chunks.push_back({id, ValueType::kDouble, kPartStart, kPartStart + 1, 2, ChunkBytes(id, 0)});
  }
  const std::string path = PathOf("absent.block");
  WriteBlock(env_.get(), path, chunks);
  auto reader = BlockReader::Open(env_.get(), path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  for (uint64_t id : {uint64_t{0}, uint64_t{9}, uint64_t{11}, uint64_t{25}, uint64_t{31},
                      std::numeric_limits<uint64_t>::max()}) {
    EXPECT_TRUE((*reader)->ChunksFor(id).empty()) << id;
  }
  for (uint64_t id : {10u, 20u, 30u}) EXPECT_EQ((*reader)->ChunksFor(id).size(), 1u) << id;
}

TEST_F(BlockTest, ExtremeIdsAndTimestampsRoundTrip) {
  BlockMeta meta;
  meta.partition_start = std::numeric_limits<int64_t>::min();
  meta.partition_end = std::numeric_limits<int64_t>::max();
  const int64_t lo = std::numeric_limits<int64_t>::min();
  const int64_t hi = std::numeric_limits<int64_t>::max() - 1;
  std::vector<ExpectedChunk> chunks = {
      {0, ValueType::kBool, lo, lo, 1, "a"},
      {0, ValueType::kBool, lo, hi, 1, "b"},
      {0, ValueType::kBool, hi, hi, 1, "c"},
      {std::numeric_limits<uint64_t>::max(), ValueType::kString, -1, 1, 4294967295u, "d"},
  };
  const std::string path = PathOf("extreme.block");
  WriteBlock(env_.get(), path, chunks, meta);
  auto reader = BlockReader::Open(env_.get(), path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  ASSERT_EQ((*reader)->chunks().size(), chunks.size());
  for (size_t i = 0; i < chunks.size(); ++i) {
    const ChunkRef& ref = (*reader)->chunks()[i];
    EXPECT_EQ(ref.series_id, chunks[i].series_id);
    EXPECT_EQ(ref.min_ts, chunks[i].min_ts);
    EXPECT_EQ(ref.max_ts, chunks[i].max_ts);
    EXPECT_EQ(ref.count, chunks[i].count);
  }
  EXPECT_EQ((*reader)->meta().min_ts, lo);
  EXPECT_EQ((*reader)->meta().max_ts, hi);
}

TEST_F(BlockTest, OutOfOrderAndInvalidAddsRejected) {
  const std::string path = PathOf("order.block");
  auto created = BlockWriter::Create(env_.get(), path, TestMeta());
  ASSERT_TRUE(created.ok());
  BlockWriter& w = **created;
  const int64_t t = kPartStart + core::kMinute;
  ASSERT_TRUE(w.Add(5, ValueType::kDouble, t, t + 10, 2, "five").ok());

  EXPECT_TRUE(w.Add(4, ValueType::kDouble, t, t + 10, 2, "four").IsInvalidArgument());      // series back
  EXPECT_TRUE(w.Add(5, ValueType::kDouble, t - 1, t + 10, 2, "early").IsInvalidArgument()); // min_ts back
  EXPECT_TRUE(w.Add(5, ValueType::kInt64, t + 1, t + 10, 2, "type").IsInvalidArgument());   // type change
  EXPECT_TRUE(w.Add(6, ValueType::kDouble, t + 5, t + 4, 2, "min>max").IsInvalidArgument());
  EXPECT_TRUE(w.Add(6, ValueType::kDouble, kPartStart - 1, t, 2, "before").IsInvalidArgument());
  EXPECT_TRUE(w.Add(6, ValueType::kDouble, t, kPartEnd, 2, "after").IsInvalidArgument());
  EXPECT_TRUE(w.Add(6, ValueType::kDouble, t, t, 0, "no samples").IsInvalidArgument());
  EXPECT_TRUE(w.Add(6, ValueType::kDouble, t, t, 1, "").IsInvalidArgument());
  EXPECT_TRUE(w.Add(6, static_cast<ValueType>(9), t, t, 1, "x").IsInvalidArgument());
  core::Status s = w.Add(4, ValueType::kDouble, t, t, 1, "x");
  EXPECT_NE(s.message().find("out of order"), std::string::npos) << s.ToString();

  // Rejections leave the writer usable; equal (series, min_ts) is allowed.
  ASSERT_TRUE(w.Add(5, ValueType::kDouble, t, t + 20, 3, "five-b").ok());
  ASSERT_TRUE(w.Add(6, ValueType::kInt64, t, t, 1, "six").ok());
  ASSERT_TRUE(w.Finish().ok());
  EXPECT_TRUE(w.Add(7, ValueType::kDouble, t, t, 1, "late").IsInvalidArgument());
  EXPECT_TRUE(w.Finish().IsInvalidArgument());

  auto reader = BlockReader::Open(env_.get(), path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->SeriesIds(), (std::vector<uint64_t>{5, 6}));
  EXPECT_EQ((*reader)->meta().num_chunks, 3u);
  EXPECT_EQ((*reader)->meta().num_samples, 6u);
}

TEST_F(BlockTest, CreateRejectsBadArguments) {
  BlockMeta meta = TestMeta();
  meta.partition_end = meta.partition_start;
  EXPECT_TRUE(BlockWriter::Create(env_.get(), PathOf("x.block"), meta).status().IsInvalidArgument());
  EXPECT_TRUE(BlockWriter::Create(nullptr, PathOf("x.block"), TestMeta()).status().IsInvalidArgument());
  EXPECT_TRUE(BlockWriter::Create(env_.get(), "", TestMeta()).status().IsInvalidArgument());
  EXPECT_FALSE(env_->FileExists(BlockTempPath(PathOf("x.block"))));
}

TEST_F(BlockTest, AbandonAndDestructorRemoveTempFile) {
  const std::string path = PathOf("abandon.block");
  {
    auto w = BlockWriter::Create(env_.get(), path, TestMeta());
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Add(1, ValueType::kDouble, kPartStart, kPartStart, 1, "x").ok());
    EXPECT_TRUE(env_->FileExists(BlockTempPath(path)));
    (*w)->Abandon();
    EXPECT_FALSE(env_->FileExists(BlockTempPath(path)));
    (*w)->Abandon();
    EXPECT_TRUE((*w)->Finish().IsInvalidArgument());
  }
  {
    auto w = BlockWriter::Create(env_.get(), path, TestMeta());
    ASSERT_TRUE(w.ok());
    EXPECT_TRUE(env_->FileExists(BlockTempPath(path)));
  }
  EXPECT_FALSE(env_->FileExists(BlockTempPath(path)));
  EXPECT_FALSE(env_->FileExists(path));
}

TEST_F(BlockTest, ChunkBitFlipDetectedWithOffsetOthersStillRead) {
  const std::vector<ExpectedChunk> chunks = MakeChunks(20);
  const std::string path = PathOf("flip.block");
  WriteBlock(env_.get(), path, chunks);
  std::vector<ChunkRef> refs;
  {
    auto reader = BlockReader::Open(env_.get(), path);
    ASSERT_TRUE(reader.ok());
    refs.assign((*reader)->chunks().begin(), (*reader)->chunks().end());
  }
  const size_t victim = refs.size() / 2;
  std::string bytes = ReadAll(path);
  bytes[refs[victim].offset + refs[victim].length - 1] ^= 0x10;
  Overwrite(path, bytes);

  auto reader = BlockReader::Open(env_.get(), path);  // index and footer are intact
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  std::string scratch;
  for (size_t i = 0; i < refs.size(); ++i) {
    auto data = (*reader)->ReadChunk(refs[i], &scratch);
    if (i == victim) {
      ASSERT_FALSE(data.ok());
      EXPECT_TRUE(data.status().IsCorruption()) << data.status().ToString();
      EXPECT_EQ(data.status().context().file, path);
      EXPECT_EQ(data.status().context().offset, refs[i].offset);
    } else {
      ASSERT_TRUE(data.ok()) << i << ": " << data.status().ToString();
      EXPECT_EQ(*data, chunks[i].bytes);
    }
  }
}

TEST_F(BlockTest, ForeignChunkRefRejected) {
  const std::string path = PathOf("foreign.block");
  WriteBlock(env_.get(), path, MakeChunks(3));
  auto reader = BlockReader::Open(env_.get(), path);
  ASSERT_TRUE(reader.ok());
  std::string scratch;
  ChunkRef ref = (*reader)->chunks()[0];
  ref.offset = (*reader)->file_size() - 4;  // inside the footer
  EXPECT_TRUE((*reader)->ReadChunk(ref, &scratch).status().IsInvalidArgument());
  ref.offset = 0;  // the header
  EXPECT_TRUE((*reader)->ReadChunk(ref, &scratch).status().IsInvalidArgument());
  ref = (*reader)->chunks().back();
  ref.length += 1;  // runs into the index
  EXPECT_TRUE((*reader)->ReadChunk(ref, &scratch).status().IsInvalidArgument());
}

TEST_F(BlockTest, EveryIndexAndFooterBitFlipDetectedAtOpen) {
  const std::string path = PathOf("good.block");
  WriteBlock(env_.get(), path, MakeChunks(8));
  const std::string good = ReadAll(path);
  uint64_t index_offset;
  {
    auto reader = BlockReader::Open(env_.get(), path);
    ASSERT_TRUE(reader.ok());
    index_offset = (*reader)->chunks().back().offset + (*reader)->chunks().back().length;
  }
  const uint64_t footer_offset = good.size() - kBlockFooterSize;
  for (uint64_t pos = index_offset; pos < good.size(); ++pos) {
    std::string bad = good;
    bad[pos] ^= static_cast<char>(1u << (pos % 8));
    // A flip in the index is caught by its CRC (reported at the index start); a flip in the
    // footer by magic, version or footer CRC, reported inside the footer.
    if (pos < footer_offset) {
      ExpectCorruptAt(bad, index_offset, index_offset, "index byte " + std::to_string(pos));
    } else {
      ExpectCorruptAt(bad, footer_offset, good.size() - 1, "footer byte " + std::to_string(pos));
    }
  }
  for (uint64_t pos = 0; pos < kBlockHeaderSize; ++pos) {
    std::string bad = good;
    bad[pos] ^= 1;
    ExpectCorruptAt(bad, 0, kBlockHeaderSize - 1, "header byte " + std::to_string(pos));
  }
}

TEST_F(BlockTest, FooterFieldOffsetsNamed) {
  const std::string path = PathOf("good.block");
  WriteBlock(env_.get(), path, MakeChunks(2));
  const std::string good = ReadAll(path);
  const uint64_t footer_offset = good.size() - kBlockFooterSize;
  std::string bad = good;
  bad[good.size() - 1] ^= 1;  // magic
  ExpectCorruptAt(bad, footer_offset + 96, footer_offset + 96, "magic");
  bad = good;
  bad[footer_offset + 88] = 2;  // version
  ExpectCorruptAt(bad, footer_offset + 88, footer_offset + 88, "version");
  bad = good;
  bad[footer_offset + 8] ^= 1;  // partition_end, caught by the footer CRC
  ExpectCorruptAt(bad, footer_offset + 92, footer_offset + 92, "footer crc");
}

TEST_F(BlockTest, TruncationDetectedAtOpen) {
  const std::string path = PathOf("good.block");
  WriteBlock(env_.get(), path, MakeChunks(6));
  const std::string good = ReadAll(path);
  for (size_t len = 0; len < good.size(); len += (len < 200 || len + 200 > good.size()) ? 1 : 37) {
    ExpectCorruptAt(good.substr(0, len), 0, good.size(), "truncated to " + std::to_string(len));
  }
  ExpectCorruptAt(good + std::string(5, '\0'), 0, good.size() + 5, "trailing garbage");
}

// Index damage that keeps every checksum valid must still be caught by the structure checks.
class BlockIndexStructureTest : public BlockTest {
 protected:
  // Builds a block file around an arbitrary (possibly invalid) chunk list, with correct CRCs.
  std::string Forge(const std::vector<ChunkRef>& refs, BlockMeta meta, uint64_t* index_offset) {
    std::string file;
    EncodeBlockHeader(&file);
    for (const ChunkRef& ref : refs) file.append(ref.length, 'c');
    BlockFooter footer;
    footer.meta = meta;
    footer.index_offset = file.size();
    std::string index;
    EncodeBlockIndex(refs, &index);
    footer.index_length = index.size();
    footer.index_crc = Crc32c(index.data(), index.size());
    file += index;
    EncodeBlockFooter(footer, &file);
    *index_offset = footer.index_offset;
    return file;
  }

  static ChunkRef Ref(uint64_t series, int64_t min_ts, int64_t max_ts, uint32_t length = 4) {
    ChunkRef ref;
    ref.series_id = series;
    ref.min_ts = min_ts;
    ref.max_ts = max_ts;
    ref.length = length;
    ref.count = 1;
    return ref;
  }

  static BlockMeta MetaFor(const std::vector<ChunkRef>& refs) {
    BlockMeta meta = TestMeta();
    meta.num_chunks = refs.size();
    meta.num_samples = refs.size();
    std::vector<uint64_t> ids;
    for (const auto& r : refs) ids.push_back(r.series_id);
    std::sort(ids.begin(), ids.end());
    meta.num_series = static_cast<uint64_t>(std::unique(ids.begin(), ids.end()) - ids.begin());
    meta.min_ts = refs.front().min_ts;
    meta.max_ts = refs.front().max_ts;
    for (const auto& r : refs) {
      meta.min_ts = std::min(meta.min_ts, r.min_ts);
      meta.max_ts = std::max(meta.max_ts, r.max_ts);
    }
    return meta;
  }
};

TEST_F(BlockIndexStructureTest, ForgedValidBlockOpens) {
  std::vector<ChunkRef> refs = {Ref(1, kPartStart, kPartStart + 5), Ref(1, kPartStart + 3, kPartStart + 4),
                                Ref(9, kPartStart + 1, kPartStart + 1)};
  uint64_t index_offset;
  Overwrite(PathOf("forged.block"), Forge(refs, MetaFor(refs), &index_offset));
  auto reader = BlockReader::Open(env_.get(), PathOf("forged.block"));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->SeriesIds(), (std::vector<uint64_t>{1, 9}));
}

TEST_F(BlockIndexStructureTest, UnsortedChunksOfASeries) {
  // The encoder writes a min_ts delta; a decreasing min_ts wraps to a huge delta that
  // overflows or leaves the partition.
  std::vector<ChunkRef> refs = {Ref(1, kPartStart + 10, kPartStart + 10), Ref(1, kPartStart + 5, kPartStart + 6)};
  uint64_t index_offset;
  std::string bytes = Forge(refs, MetaFor(refs), &index_offset);
  ExpectCorruptAt(bytes, index_offset + 1, bytes.size() - kBlockFooterSize - 1, "unsorted min_ts");
}

TEST_F(BlockIndexStructureTest, ChunkOutsidePartition) {
  std::vector<ChunkRef> refs = {Ref(1, kPartStart, kPartStart), Ref(2, kPartEnd, kPartEnd)};
  uint64_t index_offset;
  std::string bytes = Forge(refs, MetaFor(refs), &index_offset);
  ExpectCorruptAt(bytes, index_offset + 1, bytes.size() - kBlockFooterSize - 1, "outside partition");
}

TEST_F(BlockIndexStructureTest, FooterCountsDisagreeWithIndex) {
  std::vector<ChunkRef> refs = {Ref(1, kPartStart, kPartStart + 2), Ref(2, kPartStart, kPartStart + 1)};
  uint64_t index_offset;
  BlockMeta meta = MetaFor(refs);
  meta.num_samples += 1;
  // Totals are compared after the last entry: the error points at the index's end.
  std::string bytes = Forge(refs, meta, &index_offset);
  const uint64_t index_end = bytes.size() - kBlockFooterSize;
  ExpectCorruptAt(bytes, index_end, index_end, "samples");
  meta = MetaFor(refs);
  meta.max_ts += 1;
  bytes = Forge(refs, meta, &index_offset);
  ExpectCorruptAt(bytes, index_end, index_end, "max_ts");
  meta = MetaFor(refs);
  meta.num_series = 1;
  bytes = Forge(refs, meta, &index_offset);
  ExpectCorruptAt(bytes, index_offset, index_offset, "series");
  meta = MetaFor(refs);
  meta.num_chunks = 1000;  // more than the index could hold: rejected from the footer
  bytes = Forge(refs, meta, &index_offset);
  ExpectCorruptAt(bytes, index_end + 40, index_end + 40, "chunks");
}

TEST_F(BlockIndexStructureTest, ChunksDoNotFillDataRegion) {
  std::vector<ChunkRef> refs = {Ref(1, kPartStart, kPartStart, 10)};
  uint64_t index_offset;
  std::string bytes = Forge(refs, MetaFor(refs), &index_offset);
  // Insert a stray byte before the index and move the index offset in the footer.
  std::string shifted = bytes.substr(0, index_offset) + "z" + bytes.substr(index_offset);
  std::string fixed = shifted.substr(0, shifted.size() - kBlockFooterSize);
  BlockFooter f;
  f.meta = MetaFor(refs);
  f.index_offset = index_offset + 1;
  f.index_length = bytes.size() - kBlockFooterSize - index_offset;
  std::string index = bytes.substr(index_offset, f.index_length);
  f.index_crc = Crc32c(index.data(), index.size());
  EncodeBlockFooter(f, &fixed);
  ExpectCorruptAt(fixed, index_offset + 1, index_offset + 1 + f.index_length, "gap before index");
}

TEST_F(BlockTest, ConcurrentReadsShareOneReader) {
  const std::vector<ExpectedChunk> chunks = MakeChunks(64);
  const std::string path = PathOf("shared.block");
  WriteBlock(env_.get(), path, chunks);
  auto reader = BlockReader::Open(env_.get(), path);
  ASSERT_TRUE(reader.ok());
  const BlockReader& shared = **reader;
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string scratch;
      for (int round = 0; round < 20; ++round) {
        for (size_t i = static_cast<size_t>(t); i < chunks.size(); i += 2) {
          std::span<const ChunkRef> refs = shared.ChunksFor(chunks[i].series_id);
          auto it = std::find_if(refs.begin(), refs.end(),
                                 [&](const ChunkRef& r) { return r.min_ts == chunks[i].min_ts; });
          if (it == refs.end()) {
            ++mismatches;
            continue;
          }
          auto data = shared.ReadChunk(*it, &scratch);
          if (!data.ok() || *data != chunks[i].bytes) ++mismatches;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// --- Crash safety, with FaultEnv over a MemEnv.

class BlockCrashTest : public BlockTest {
 protected:
  void SetUp() override {
    BlockTest::SetUp();
    fault_ = std::make_unique<core::FaultEnv>(env_.get());
  }
  std::unique_ptr<core::FaultEnv> fault_;
};

TEST_F(BlockCrashTest, CrashBeforeFinishLeavesNoVisibleBlock) {
  const std::string path = PathOf("crash.block");
  auto w = BlockWriter::Create(fault_.get(), path, TestMeta());
  ASSERT_TRUE(w.ok());
  for (const auto& c : MakeChunks(10)) {
    ASSERT_TRUE((*w)->Add(c.series_id, c.type, c.min_ts, c.max_ts, c.count, c.bytes).ok());
  }
  ASSERT_TRUE(fault_->DropUnsyncedData().ok());  // power loss before Finish
  EXPECT_FALSE(fault_->FileExists(path));
  auto children = fault_->GetChildren(dir_);
  ASSERT_TRUE(children.ok());
  for (const auto& name : *children) EXPECT_TRUE(name.ends_with(".tmp")) << name;
  w->reset();
}

TEST_F(BlockCrashTest, FinishSyncsBeforeRename) {
  const std::string path = PathOf("sync.block");
  auto w = BlockWriter::Create(fault_.get(), path, TestMeta());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Add(1, ValueType::kDouble, kPartStart, kPartStart + 1, 2, "chunk").ok());
  fault_->ResetCounters();
  fault_->FailNthSync(1, core::Status::IOError("injected fsync failure", path));
  core::Status s = (*w)->Finish();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("injected fsync failure"), std::string::npos) << s.ToString();
  EXPECT_EQ(fault_->rename_count(), 0u);
  EXPECT_FALSE(fault_->FileExists(path));
  EXPECT_FALSE(fault_->FileExists(BlockTempPath(path)));
  // The writer is poisoned: it keeps returning the first error.
  EXPECT_FALSE((*w)->Finish().ok());
}

TEST_F(BlockCrashTest, CrashAtEveryStepOfFinishIsAtomic) {
  const std::vector<ExpectedChunk> chunks = MakeChunks(5);
  bool completed = false;
  for (uint64_t n = 1; !completed && n < 100; ++n) {
    auto mem = core::NewMemEnv();
    ASSERT_TRUE(mem->CreateDirs(dir_).ok());
    core::FaultEnv fault(mem.get());
    const std::string path = PathOf("atomic.block");
    auto w = BlockWriter::Create(&fault, path, TestMeta());
    ASSERT_TRUE(w.ok());
    for (const auto& c : chunks) {
      ASSERT_TRUE((*w)->Add(c.series_id, c.type, c.min_ts, c.max_ts, c.count, c.bytes).ok());
    }
    fault.ResetCounters();
    fault.CrashAfterNthMutation(n);
    completed = (*w)->Finish().ok();
    w->reset();
    fault.ClearFaults();
    ASSERT_TRUE(fault.DropUnsyncedData().ok());
    // After the power loss the block is either absent or whole.
    if (fault.FileExists(path)) {
      auto reader = BlockReader::Open(&fault, path);
      ASSERT_TRUE(reader.ok()) << "crash after mutation " << n << ": " << reader.status().ToString();
      EXPECT_EQ((*reader)->meta().num_chunks, chunks.size());
    } else {
      EXPECT_FALSE(completed) << "Finish succeeded at n=" << n << " but the block vanished";
    }
  }
  EXPECT_TRUE(completed);
}

TEST_F(BlockCrashTest, WriteFailurePoisonsWriter) {
  const std::string path = PathOf("nospace.block");
  auto w = BlockWriter::Create(fault_.get(), path, TestMeta());
  ASSERT_TRUE(w.ok());
  fault_->SetNoSpace(true);
  core::Status s = (*w)->Add(1, ValueType::kDouble, kPartStart, kPartStart, 1, "x");
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  fault_->SetNoSpace(false);
  EXPECT_TRUE((*w)->Add(2, ValueType::kDouble, kPartStart, kPartStart, 1, "y").IsNoSpace());
  EXPECT_TRUE((*w)->Finish().IsNoSpace());
  EXPECT_FALSE(fault_->FileExists(path));
  EXPECT_FALSE(fault_->FileExists(BlockTempPath(path)));
}

}  // namespace
}  // namespace shopfloor::storage
