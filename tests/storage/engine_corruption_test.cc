// Damaged files: bit flips and truncation in block files, WAL segments and the series
// catalog. The engine must report damage (Status naming file and offset, stats().corruptions,
// a logged error), keep serving everything else, and never crash.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "engine_test_util.h"
#include "storage/block/block_reader.h"
#include "storage/storage.h"

namespace shopfloor::storage::testing {
namespace {

using core::kSecond;

constexpr Timestamp T(int64_t seconds) { return kHourAligned + seconds * kSecond; }
constexpr Timestamp kP1 = 2 * 3600;  // seconds from kHourAligned to the second partition

// Routes log lines to memory for the life of the object.
class LogCapture {
 public:
  LogCapture()
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256)), old_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(std::move(logger));
  }
  ~LogCapture() { spdlog::set_default_logger(old_); }
  std::string Text() const {
    std::string all;
    for (const std::string& line : sink_->last_formatted()) all += line;
    return all;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> old_;
};

class EngineCorruptionTest : public EngineFixture {
 protected:
  EngineCorruptionTest() { spdlog::set_level(spdlog::level::off); }
  ~EngineCorruptionTest() override { spdlog::set_level(spdlog::level::info); }

  std::string Read(const std::string& path) {
    auto data = env()->ReadFileToString(path);
    EXPECT_TRUE(data.ok()) << data.status().ToString();
    return data.ok() ? *data : std::string();
  }
  void Overwrite(const std::string& path, const std::string& data) {
    auto file = env()->NewWritableFile(path);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append(data).ok());
    ASSERT_TRUE((*file)->Close().ok());
  }
  void FlipByte(const std::string& path, uint64_t offset) {
    std::string data = Read(path);
    ASSERT_LT(offset, data.size()) << path;
    data[offset] = static_cast<char>(data[offset] ^ 0x5A);
    Overwrite(path, data);
  }
  std::vector<std::string> Files(const std::string& dir, std::string_view suffix) {
    auto names = env()->GetChildren(dir);
    EXPECT_TRUE(names.ok());
    std::vector<std::string> out;
    for (const std::string& n : *names) {
      if (n.ends_with(suffix)) out.push_back(dir + "/" + n);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Series a (double) in partitions 0 and 1, series b (int64) in partition 0, all flushed
  // to blocks. Returns the path of partition 0's block.
  std::string TwoPartitions() {
    Open();
    a_ = Series("plant/oven/temperature");
    b_ = Series("plant/oven/cycles", ValueType::kInt64);
    SampleBatch batch;
    for (int i = 0; i < 100; ++i) {
      batch.Add(a_, T(i), 20.0 + i * 0.5);
      batch.Add(a_, T(kP1 + i), 70.0 + i * 0.25);
      batch.Add(b_, T(i), int64_t{i * 3});
    }
    EXPECT_TRUE(db_->Write(batch).ok());
    EXPECT_TRUE(db_->Flush().ok());
    db_.reset();
    for (const std::string& path : Files("/db/blocks", ".blk")) {
      auto reader = BlockReader::Open(env(), path);
      EXPECT_TRUE(reader.ok()) << reader.status().ToString();
      if (reader.ok() && (*reader)->meta().partition_start == kHourAligned) return path;
    }
    ADD_FAILURE() << "no block for partition 0";
    return "";
  }

  SeriesId a_{}, b_{};
};

TEST_F(EngineCorruptionTest, FlippedChunkByteIsReportedAndTheRestReads) {
  const std::string path = TwoPartitions();
  ChunkRef ref;
  {
    auto reader = BlockReader::Open(env(), path);
    ASSERT_TRUE(reader.ok());
    ASSERT_EQ((*reader)->ChunksFor(core::ToU64(a_)).size(), 1u);
    ref = (*reader)->ChunksFor(core::ToU64(a_))[0];
  }
  FlipByte(path, ref.offset + ref.length / 2);
  Open();
  EXPECT_EQ(db_->stats().corruptions, 0u);  // chunks are verified when read

  auto check = [&] {
    auto it = db_->ReadRaw(a_, T(-10), T(3 * 3600));
    ASSERT_TRUE(it.ok());
    std::vector<Sample> got;
    Sample s;
    while ((*it)->Next(&s)) got.push_back(s);
    const Status st = (*it)->status();
    EXPECT_TRUE(st.IsCorruption()) << st.ToString();
    EXPECT_EQ(st.context().file, path) << st.ToString();
    EXPECT_EQ(st.context().offset, ref.offset) << st.ToString();
    // Partition 1 of the same series is intact.
    ASSERT_EQ(got.size(), 100u);
    EXPECT_EQ(got.front().ts, T(kP1));
    EXPECT_EQ(got.back().value.as_double(), 70.0 + 99 * 0.25);
    // Another series in the damaged block reads fine.
    auto bs = ReadAll(b_);
    ASSERT_EQ(bs.size(), 100u);
    EXPECT_EQ(bs[7].value.as_int(), 21);
    // Aggregates over the damaged chunk report it too.
    AggregateQuery q;
    q.from = T(0);
    q.to = T(3600);
    q.step = core::kMinute;
    auto agg = db_->Aggregate(a_, q);
    ASSERT_TRUE(agg.ok());
    AggregateRow row;
    while ((*agg)->Next(&row)) {
    }
    EXPECT_TRUE((*agg)->status().IsCorruption()) << (*agg)->status().ToString();
  };
  check();
  const uint64_t corruptions = db_->stats().corruptions;
  EXPECT_GE(corruptions, 2u);
  // Compaction must not merge damaged data away: the partition is left as it is.
  ASSERT_TRUE(db_->Compact().ok());
  EXPECT_TRUE(env()->FileExists(path));
  check();
  EXPECT_GT(db_->stats().corruptions, corruptions);
}

// Damage the reader catches at open: the block is renamed *.corrupt with a logged error,
// and the rest of the data is served.
struct OpenDamage {
  const char* name;
  // Exactly one is set: the size to truncate the file to, or the offset of a byte to flip.
  uint64_t (*truncate_to)(uint64_t size);
  uint64_t (*flip_at)(uint64_t size);
};
const OpenDamage kOpenDamage[] = {
    {"footer magic", nullptr, [](uint64_t size) { return size - 3; }},
    {"footer meta", nullptr, [](uint64_t size) { return size - kBlockFooterSize + 9; }},
    {"index", nullptr, [](uint64_t size) { return size - kBlockFooterSize - 5; }},
    {"header", nullptr, [](uint64_t) { return uint64_t{2}; }},
    {"truncated to half", [](uint64_t size) { return size / 2; }, nullptr},
    {"truncated by one byte", [](uint64_t size) { return size - 1; }, nullptr},
    {"truncated to the header", [](uint64_t) { return uint64_t{kBlockHeaderSize}; }, nullptr},
};

TEST_F(EngineCorruptionTest, DamagedFooterIndexOrLengthSetsTheBlockAside) {
  for (const OpenDamage& damage : kOpenDamage) {
    SCOPED_TRACE(damage.name);
    db_.reset();
    mem_env_ = core::NewMemEnv();
    const std::string path = TwoPartitions();
    ASSERT_FALSE(path.empty());
    auto size = env()->GetFileSize(path);
    ASSERT_TRUE(size.ok());
    if (damage.truncate_to != nullptr) {
      ASSERT_TRUE(env()->TruncateFile(path, damage.truncate_to(*size)).ok());
    } else {
      FlipByte(path, damage.flip_at(*size));
    }
    std::string log;
    {
      LogCapture capture;
      Open();
      log = capture.Text();
    }
    EXPECT_FALSE(env()->FileExists(path));
    EXPECT_TRUE(env()->FileExists(path + ".corrupt"));
    EXPECT_EQ(db_->stats().corruptions, 1u);
    EXPECT_NE(log.find("storage.corruption"), std::string::npos) << log;
    EXPECT_NE(log.find(path), std::string::npos) << log;
    // Partition 1 is served; what was only in the damaged block is gone, without errors.
    auto as = ReadAll(a_);
    ASSERT_EQ(as.size(), 100u);
    EXPECT_EQ(as.front().ts, T(kP1));
    EXPECT_TRUE(ReadAll(b_).empty());
    // New writes into the damaged partition work, and the next open is clean.
    SampleBatch batch;
    batch.Add(b_, T(5), int64_t{5});
    ASSERT_TRUE(db_->Write(batch).ok());
    ASSERT_TRUE(db_->Flush().ok());
    Reopen();
    EXPECT_EQ(db_->stats().corruptions, 0u);
    EXPECT_EQ(ReadAll(b_).size(), 1u);
    EXPECT_TRUE(env()->FileExists(path + ".corrupt"));  // kept for an operator
  }
}

// Writes `batches` batches of 10 samples to one series; returns each batch's end offset in
// the (only) WAL segment written.
std::vector<uint64_t> WriteWalBatches(Storage* db, SeriesId id, int batches) {
  std::vector<uint64_t> ends;
  for (int b = 0; b < batches; ++b) {
    SampleBatch batch;
    for (int i = 0; i < 10; ++i) batch.Add(id, T(b * 10 + i), 0.5 * (b * 10 + i));
    EXPECT_TRUE(db->Write(batch).ok());
    ends.push_back(db->stats().wal_bytes);
  }
  return ends;
}

TEST_F(EngineCorruptionTest, FlippedWalBytesAreReportedAndLaterRecordsRecovered) {
  Open();
  a_ = Series("plant/oven/temperature");
  const uint64_t start = db_->stats().wal_bytes;  // after the series creation record
  const std::vector<uint64_t> ends = WriteWalBatches(db_.get(), a_, 600);
  ASSERT_GT(ends.back(), 3u * 32768);
  db_.reset();
  const std::vector<std::string> segments = Files("/db/wal", ".wal");
  ASSERT_FALSE(segments.empty());
  const std::string segment = segments.back();
  ASSERT_EQ(*env()->GetFileSize(segment), ends.back());

  // Damage one record in the first 32 KiB block and one in the second.
  const uint64_t hits[] = {1000, 40000};
  for (uint64_t at : hits) FlipByte(segment, at);
  {
    LogCapture capture;
    Open();
    EXPECT_NE(capture.Text().find(segment), std::string::npos) << capture.Text();
  }
  EXPECT_GE(db_->stats().corruptions, 2u);
  std::vector<bool> present(ends.size(), false);
  for (const Sample& s : ReadAll(a_)) {
    const auto b = static_cast<size_t>((s.ts - T(0)) / (10 * kSecond));
    ASSERT_LT(b, present.size());
    EXPECT_EQ(s.value.as_double(), 0.5 * static_cast<double>((s.ts - T(0)) / kSecond));
    present[b] = true;
  }
  for (size_t b = 0; b < ends.size(); ++b) {
    const uint64_t begin = b == 0 ? start : ends[b - 1];
    const bool damaged = (begin <= hits[0] && hits[0] < ends[b]) || (begin <= hits[1] && hits[1] < ends[b]);
    if (damaged) {
      EXPECT_FALSE(present[b]) << "batch " << b << " was damaged but replayed";
    } else if (ends[b] <= hits[0] || begin >= 65536) {
      // Before the first damage, and from the first block boundary after the last one on.
      EXPECT_TRUE(present[b]) << "batch " << b << " [" << begin << ", " << ends[b] << ") was lost";
    }
  }
}

TEST_F(EngineCorruptionTest, TornTailAtEveryOffsetOfTheLastRecord) {
  constexpr int kBatches = 12;
  uint64_t last_begin = 0, last_end = 0;
  {
    Open();
    a_ = Series("plant/oven/temperature");
    const std::vector<uint64_t> ends = WriteWalBatches(db_.get(), a_, kBatches);
    last_begin = ends[kBatches - 2];
    last_end = ends.back();
    db_.reset();
  }
  ASSERT_GT(last_end, last_begin + 20);
  for (uint64_t cut = last_begin; cut < last_end; ++cut) {
    SCOPED_TRACE(cut);
    db_.reset();
    mem_env_ = core::NewMemEnv();
    Open();
    a_ = Series("plant/oven/temperature");
    (void)WriteWalBatches(db_.get(), a_, kBatches);
    db_.reset();
    const std::string segment = Files("/db/wal", ".wal").back();
    ASSERT_TRUE(env()->TruncateFile(segment, cut).ok());
    Open();
    EXPECT_EQ(db_->stats().corruptions, 0u);
    const std::vector<Sample> got = ReadAll(a_);
    ASSERT_EQ(got.size(), static_cast<size_t>((kBatches - 1) * 10));
    EXPECT_EQ(got.back().ts, T((kBatches - 1) * 10 - 1));
    EXPECT_EQ(*env()->GetFileSize(segment), last_begin);  // the torn bytes are cut away
    if (HasFailure()) return;
  }
}

// The catalog is the only place that maps keys to the ids inside block files once the WAL
// is trimmed, and it cannot be rebuilt from blocks (they hold ids only). Opening without
// it would hand out ids whose old data is still in blocks, mixing series; so a damaged
// catalog fails the open, naming the file, and leaves every file as it was.
TEST_F(EngineCorruptionTest, DamagedCatalogFailsTheOpenNamingTheFile) {
  const std::string catalog = "/db/series.catalog";
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant);
    db_.reset();
    mem_env_ = core::NewMemEnv();
    TwoPartitions();
    const std::string good = Read(catalog);
    ASSERT_GT(good.size(), 20u);
    if (variant == 0) FlipByte(catalog, good.size() / 2);
    if (variant == 1) {
      ASSERT_TRUE(env()->TruncateFile(catalog, good.size() - 5).ok());
    }
    if (variant == 2) FlipByte(catalog, 1);  // magic
    auto r = Storage::Open(MakeOptions());
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
    EXPECT_EQ(r.status().context().file, catalog) << r.status().ToString();
    EXPECT_EQ(Files("/db/blocks", ".blk").size(), 2u);
    // Restoring the file (e.g. from a backup) makes the directory open again.
    Overwrite(catalog, good);
    Open();
    EXPECT_EQ(ReadAll(a_).size(), 200u);
  }
}

}  // namespace
}  // namespace shopfloor::storage::testing
