// WAL round trips, segment handling and recovery from torn tails and corruption (MemEnv).
#include "storage/wal/wal.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/env.h"
#include "storage/wal/crc32c.h"
#include "storage/wal/wal_format.h"
#include "wal_test_util.h"

namespace shopfloor::storage {
namespace {

using testing::Replayed;
using testing::ReplayAll;
using testing::SegmentPath;
using testing::TestPayload;
using wal_format::kBlockSize;
using wal_format::kHeaderSize;

class WalTest : public ::testing::Test {
 protected:
  WalTest() : env_(core::NewMemEnv()) {}

  std::unique_ptr<Wal> OpenWal(uint64_t segment_bytes = 64 << 20,
                               DurabilityPolicy::Mode mode = DurabilityPolicy::Mode::kNone) {
    WalOptions options;
    options.env = env_.get();
    options.clock = &clock_;
    options.dir = dir_;
    options.durability.mode = mode;
    options.segment_bytes = segment_bytes;
    auto wal = Wal::Open(options);
    EXPECT_TRUE(wal.ok()) << wal.status().ToString();
    return wal.ok() ? std::move(wal).value() : nullptr;
  }

  // Appends payloads and closes; returns what replay must yield.
  std::vector<Replayed> WriteAll(const std::vector<std::string>& payloads, uint64_t segment_bytes = 64 << 20) {
    auto wal = OpenWal(segment_bytes);
    std::vector<Replayed> expected;
    for (const std::string& p : payloads) {
      auto segment = wal->Append(p);
      EXPECT_TRUE(segment.ok()) << segment.status().ToString();
      expected.push_back(Replayed{segment.value_or(0), p});
    }
    EXPECT_TRUE(wal->Close().ok());
    return expected;
  }

  std::unique_ptr<core::Env> env_;
  core::SimClock clock_;
  const std::string dir_ = "/db/wal";
};

TEST_F(WalTest, SegmentFileNames) {
  EXPECT_EQ("0000000000000001.wal", wal_format::SegmentFileName(1));
  EXPECT_EQ("0000001234567890.wal", wal_format::SegmentFileName(1234567890));
  uint64_t n = 0;
  EXPECT_TRUE(wal_format::ParseSegmentFileName("0000000000000042.wal", &n));
  EXPECT_EQ(42u, n);
  for (const char* bad : {"42.wal", "000000000000004a.wal", "0000000000000042.log", "0000000000000042.wal.tmp",
                          "x0000000000000042.wal", ""}) {
    EXPECT_FALSE(wal_format::ParseSegmentFileName(bad, &n)) << bad;
  }
}

// The exact bytes of a FULL record (docs/format/wal.md).
TEST_F(WalTest, RecordHeaderLayout) {
  std::string out;
  wal_format::RecordEncoder encoder;
  encoder.Add("foo", &out);
  ASSERT_EQ(kHeaderSize + 3, out.size());
  uint32_t crc = Crc32cMask(Crc32c("\x01" "foo", 4));
  EXPECT_EQ(static_cast<char>(crc & 0xff), out[0]);
  EXPECT_EQ(static_cast<char>(crc >> 24), out[3]);
  EXPECT_EQ(3, out[4]);
  EXPECT_EQ(0, out[5]);
  EXPECT_EQ(1, out[6]);  // kFull
  EXPECT_EQ("foo", out.substr(7));

  // A payload spanning two blocks: FIRST fills block 0, LAST starts block 1.
  std::string big;
  wal_format::RecordEncoder encoder2;
  encoder2.Add(std::string(kBlockSize, 'x'), &big);
  ASSERT_EQ(kBlockSize + 2 * kHeaderSize, big.size());
  EXPECT_EQ(2, big[6]);                      // kFirst
  EXPECT_EQ(4, big[kBlockSize + 6]);         // kLast
  EXPECT_EQ(static_cast<char>(kHeaderSize), big[kBlockSize + 4]);  // 7 bytes spill over
}

TEST_F(WalTest, RoundTripSizes) {
  const size_t exact = kBlockSize - kHeaderSize;  // fills a block exactly
  std::vector<std::string> payloads;
  size_t i = 0;
  for (size_t size : {size_t{0}, size_t{1}, size_t{100}, exact, exact - 1, exact + 1, kBlockSize,
                      3 * kBlockSize + 17, size_t{1} << 20, size_t{5}}) {
    payloads.push_back(TestPayload(i++, size));
  }
  std::vector<Replayed> expected = WriteAll(payloads);
  WalReplayReport report;
  EXPECT_EQ(expected, ReplayAll(env_.get(), dir_, &report));
  EXPECT_EQ(1u, report.segments);
  EXPECT_EQ(payloads.size(), report.records);
  EXPECT_EQ(0u, report.truncated_bytes);
  EXPECT_TRUE(report.corruptions.empty());
}

// Leaving 0..kHeaderSize bytes at the end of a block: fewer than a header is padding.
TEST_F(WalTest, BlockTrailerPadding) {
  for (size_t leftover = 0; leftover <= kHeaderSize; ++leftover) {
    SCOPED_TRACE(leftover);
    ASSERT_TRUE(env_->RemoveDir(dir_).ok() || !env_->FileExists(dir_));
    std::vector<std::string> payloads = {TestPayload(1, kBlockSize - kHeaderSize - leftover), "tail"};
    std::vector<Replayed> expected = WriteAll(payloads);
    auto segments = ListWalSegments(env_.get(), dir_);
    ASSERT_TRUE(segments.ok());
    std::string path = SegmentPath(dir_, segments->back());
    // Padding (leftover < kHeaderSize) or an empty FIRST fragment (leftover == kHeaderSize)
    // fills the block; "tail" (or its LAST fragment) starts the next one.
    EXPECT_EQ(kBlockSize + kHeaderSize + 4, env_->GetFileSize(path).value_or(0));
    EXPECT_EQ(expected, ReplayAll(env_.get(), dir_, nullptr));
    for (uint64_t n : *segments) ASSERT_TRUE(env_->RemoveFile(SegmentPath(dir_, n)).ok());
  }
}

TEST_F(WalTest, OpenStartsNewSegmentAfterExisting) {
  ASSERT_TRUE(env_->CreateDirs(dir_).ok());
  testing::WriteWhole(env_.get(), SegmentPath(dir_, 7), "");
  testing::WriteWhole(env_.get(), core::JoinPath(dir_, "notes.txt"), "not a segment");
  auto wal = OpenWal();
  EXPECT_EQ(8u, wal->current_segment());
  EXPECT_EQ(8u, wal->Append("x").value_or(0));
  ASSERT_TRUE(wal->Close().ok());
  EXPECT_TRUE(wal->Append("y").status().code() == core::StatusCode::kAborted);
  EXPECT_TRUE(wal->Close().ok());  // idempotent
  auto wal2 = OpenWal();
  EXPECT_EQ(9u, wal2->current_segment());
}

TEST_F(WalTest, ManySegments) {
  std::vector<std::string> payloads;
  for (size_t i = 0; i < 2000; ++i) payloads.push_back(TestPayload(i, 100));
  std::vector<Replayed> expected = WriteAll(payloads, /*segment_bytes=*/4096);
  // 2000 * 107 bytes in segments of at least 4096 bytes.
  EXPECT_GE(expected.back().segment, 40u);
  EXPECT_LE(expected.back().segment, 54u);
  for (size_t i = 1; i < expected.size(); ++i) ASSERT_LE(expected[i - 1].segment, expected[i].segment);
  WalReplayReport report;
  EXPECT_EQ(expected, ReplayAll(env_.get(), dir_, &report));
  EXPECT_EQ(expected.back().segment, report.segments);
  EXPECT_TRUE(report.corruptions.empty());
}

TEST_F(WalTest, RotateAndRemove) {
  auto wal = OpenWal();
  ASSERT_EQ(1u, wal->Append("a").value_or(0));
  auto rotated = wal->Rotate();
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(2u, *rotated);
  EXPECT_EQ(2u, wal->Append("b").value_or(0));
  EXPECT_EQ(3u, wal->Rotate().value_or(0));
  EXPECT_EQ(3u, wal->Append("c").value_or(0));

  core::Status s = wal->RemoveSegmentsBefore(4);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  ASSERT_TRUE(wal->RemoveSegmentsBefore(3).ok());
  EXPECT_FALSE(env_->FileExists(SegmentPath(dir_, 1)));
  EXPECT_FALSE(env_->FileExists(SegmentPath(dir_, 2)));
  ASSERT_TRUE(wal->Sync().ok());
  EXPECT_EQ((std::vector<Replayed>{{3, "c"}}), ReplayAll(env_.get(), dir_, nullptr));
  ASSERT_TRUE(wal->Close().ok());
}

TEST_F(WalTest, MissingDirReplaysNothing) {
  WalReplayReport report;
  EXPECT_TRUE(ReplayAll(env_.get(), "/nowhere", &report).empty());
  EXPECT_EQ(0u, report.segments);
}

TEST_F(WalTest, CallbackErrorStopsReplay) {
  WriteAll({"a", "b", "c"});
  int calls = 0;
  core::Status s = ReplayWal(
      env_.get(), dir_,
      [&](uint64_t, std::string_view) {
        return ++calls == 2 ? core::Status::Aborted("enough") : core::Status::OK();
      },
      nullptr);
  EXPECT_EQ(core::StatusCode::kAborted, s.code());
  EXPECT_EQ(2, calls);
}

TEST_F(WalTest, GapInSegmentsIsReported) {
  WriteAll({"a"}, 1);
  WriteAll({"b"}, 1);
  WriteAll({"c"}, 1);
  ASSERT_TRUE(env_->RemoveFile(SegmentPath(dir_, 2)).ok());
  WalReplayReport report;
  EXPECT_EQ((std::vector<Replayed>{{1, "a"}, {3, "c"}}), ReplayAll(env_.get(), dir_, &report));
  ASSERT_EQ(1u, report.corruptions.size());
  EXPECT_TRUE(report.corruptions[0].IsCorruption());
  EXPECT_EQ(SegmentPath(dir_, 2), report.corruptions[0].context().file);
}

// Cuts the last segment at every byte offset of its final payload, which spans a block
// boundary (so the cut hits the FIRST fragment, the trailer-free boundary, and the LAST).
TEST_F(WalTest, TornTailIsTruncatedAtEveryOffset) {
  std::vector<std::string> payloads;
  for (size_t i = 0; i < 305; ++i) payloads.push_back(TestPayload(i, 100));  // 32635 bytes
  payloads.push_back(TestPayload(999, 600));  // crosses the 32768 boundary
  std::vector<Replayed> expected = WriteAll(payloads);
  const std::string path = SegmentPath(dir_, 1);
  const std::string original = testing::ReadWhole(env_.get(), path);
  std::vector<uint64_t> offsets = testing::RecordOffsets(env_.get(), path);
  ASSERT_EQ(payloads.size(), offsets.size());
  const uint64_t last_start = offsets.back();
  ASSERT_LT(last_start, kBlockSize);
  ASSERT_GT(original.size(), kBlockSize);
  expected.pop_back();

  for (uint64_t cut = last_start; cut < original.size(); ++cut) {
    SCOPED_TRACE(cut);
    testing::WriteWhole(env_.get(), path, std::string_view(original).substr(0, cut));
    WalReplayReport report;
    ASSERT_EQ(expected, ReplayAll(env_.get(), dir_, &report));
    ASSERT_TRUE(report.corruptions.empty()) << report.corruptions[0].ToString();
    ASSERT_EQ(cut - last_start, report.truncated_bytes);
    ASSERT_EQ(last_start, env_->GetFileSize(path).value_or(0));
    // A second replay finds a clean log.
    WalReplayReport again;
    ASSERT_EQ(expected, ReplayAll(env_.get(), dir_, &again));
    ASSERT_EQ(0u, again.truncated_bytes);
  }
}

// A file system may leave zeros where unsynced pages were (ext4 after a power loss).
TEST_F(WalTest, ZeroFilledTailIsTruncated) {
  std::vector<Replayed> expected = WriteAll({"one", "two", TestPayload(3, 50000)});
  const std::string path = SegmentPath(dir_, 1);
  std::string content = testing::ReadWhole(env_.get(), path);
  const uint64_t good_size = content.size();
  content.append(70000, '\0');
  testing::WriteWhole(env_.get(), path, content);
  WalReplayReport report;
  EXPECT_EQ(expected, ReplayAll(env_.get(), dir_, &report));
  EXPECT_TRUE(report.corruptions.empty());
  EXPECT_EQ(70000u, report.truncated_bytes);
  EXPECT_EQ(good_size, env_->GetFileSize(path).value_or(0));
}

// Damage followed only by an incomplete payload at the end of the last segment is part of
// the torn tail: the file is cut back to the last good payload and nothing is reported.
TEST_F(WalTest, DamageBeforeTornTailIsCutWithIt) {
  const size_t filler = kBlockSize - 2 * (kHeaderSize + 1) - kHeaderSize;
  std::vector<Replayed> expected = WriteAll({"a", "b", std::string(filler, 'f'), TestPayload(1, 2 * kBlockSize)});
  const std::string path = SegmentPath(dir_, 1);
  std::string content = testing::ReadWhole(env_.get(), path);
  ASSERT_GT(content.size(), 3 * kBlockSize);  // the big payload ends in block 3
  content[kHeaderSize + 1 + kHeaderSize] ^= 0x01;                    // "b" fails its checksum
  const uint64_t cut = 2 * kBlockSize + 100;                        // inside the MIDDLE fragment
  testing::WriteWhole(env_.get(), path, std::string_view(content).substr(0, cut));
  WalReplayReport report;
  EXPECT_EQ((std::vector<Replayed>{expected[0]}), ReplayAll(env_.get(), dir_, &report));
  EXPECT_TRUE(report.corruptions.empty()) << report.corruptions[0].ToString();
  EXPECT_EQ(cut - (kHeaderSize + 1), report.truncated_bytes);
  EXPECT_EQ(kHeaderSize + 1, env_->GetFileSize(path).value_or(0));
}

// A torn tail in a segment that is not the last is damage, not a crash artefact.
TEST_F(WalTest, TornTailOfEarlierSegmentIsReported) {
  WriteAll({"a", "bb"});
  WriteAll({"c"});
  const std::string path = SegmentPath(dir_, 1);
  std::string content = testing::ReadWhole(env_.get(), path);
  testing::WriteWhole(env_.get(), path, content.substr(0, content.size() - 1));
  WalReplayReport report;
  EXPECT_EQ((std::vector<Replayed>{{1, "a"}, {2, "c"}}), ReplayAll(env_.get(), dir_, &report));
  ASSERT_EQ(1u, report.corruptions.size());
  EXPECT_EQ(path, report.corruptions[0].context().file);
  EXPECT_EQ(kHeaderSize + 1, report.corruptions[0].context().offset.value_or(0));
  EXPECT_EQ(0u, report.truncated_bytes);
  EXPECT_EQ(content.size() - 1, env_->GetFileSize(path).value_or(0));
}

class WalBitFlipTest : public WalTest {
 protected:
  // Writes 600 payloads of 200 bytes (about 4 blocks) into segment 1 and "end" into 2.
  void SetUp() override {
    for (size_t i = 0; i < 600; ++i) payloads_.push_back(TestPayload(i, 200));
    expected_ = WriteAll(payloads_);
    tail_ = WriteAll({"end"});
    path_ = SegmentPath(dir_, 1);
    original_ = testing::ReadWhole(env_.get(), path_);
    offsets_ = testing::RecordOffsets(env_.get(), path_);
    ASSERT_EQ(payloads_.size(), offsets_.size());
  }

  // Flips one bit at `offset`, replays, and checks the damage is reported at
  // `expected_offset` while every payload outside the lost region is replayed.
  void FlipAndCheck(uint64_t offset, uint64_t expected_offset, size_t lost_first, size_t lost_end) {
    std::string damaged = original_;
    damaged[offset] = static_cast<char>(damaged[offset] ^ 0x10);
    testing::WriteWhole(env_.get(), path_, damaged);
    WalReplayReport report;
    std::vector<Replayed> got = ReplayAll(env_.get(), dir_, &report);
    std::vector<Replayed> want;
    for (size_t i = 0; i < expected_.size(); ++i) {
      if (i < lost_first || i >= lost_end) want.push_back(expected_[i]);
    }
    want.insert(want.end(), tail_.begin(), tail_.end());
    EXPECT_EQ(want, got);
    ASSERT_EQ(1u, report.corruptions.size());
    const core::Status& c = report.corruptions[0];
    EXPECT_TRUE(c.IsCorruption());
    EXPECT_EQ(path_, c.context().file);
    EXPECT_EQ(expected_offset, c.context().offset.value_or(~0ull)) << c.ToString();
    EXPECT_EQ(0u, report.truncated_bytes);
    EXPECT_EQ(original_.size(), env_->GetFileSize(path_).value_or(0));
  }

  // Index of the first payload starting at or after `offset`.
  size_t FirstAt(uint64_t offset) const {
    size_t i = 0;
    while (i < offsets_.size() && offsets_[i] < offset) ++i;
    return i;
  }

  std::vector<std::string> payloads_;
  std::vector<Replayed> expected_, tail_;
  std::string path_, original_;
  std::vector<uint64_t> offsets_;
};

TEST_F(WalBitFlipTest, PayloadFlipLosesRestOfBlock) {
  const size_t victim = 250;  // inside block 1
  const uint64_t at = offsets_[victim];
  ASSERT_EQ(1u, at / kBlockSize);
  // The reader resynchronises at the next block; the payload straddling into it is lost too.
  size_t lost_end = FirstAt(2 * kBlockSize);
  FlipAndCheck(at + kHeaderSize + 50, at, victim, lost_end);
}

TEST_F(WalBitFlipTest, LengthFlipIsDetected) {
  const size_t victim = 10;
  const uint64_t at = offsets_[victim];
  FlipAndCheck(at + 5, at, victim, FirstAt(kBlockSize));
}

TEST_F(WalBitFlipTest, FlipInLastSegmentWithGoodRecordsAfterIsReported) {
  // Segment 2 is not involved: the damage is followed by good records in segment 1 itself.
  ASSERT_TRUE(env_->RemoveFile(SegmentPath(dir_, 2)).ok());
  tail_.clear();
  const size_t victim = 5;
  FlipAndCheck(offsets_[victim] + kHeaderSize, offsets_[victim], victim, FirstAt(kBlockSize));
}

TEST_F(WalTest, FlipInsideMultiBlockPayload) {
  std::vector<Replayed> expected = WriteAll({"before", TestPayload(1, 3 * kBlockSize), "after"});
  const std::string path = SegmentPath(dir_, 1);
  std::string content = testing::ReadWhole(env_.get(), path);
  // Damage the MIDDLE fragment that starts block 1.
  content[kBlockSize + kHeaderSize + 100] ^= 0x01;
  testing::WriteWhole(env_.get(), path, content);
  WalReplayReport report;
  EXPECT_EQ((std::vector<Replayed>{expected[0], expected[2]}), ReplayAll(env_.get(), dir_, &report));
  ASSERT_EQ(1u, report.corruptions.size());
  EXPECT_EQ(kBlockSize, report.corruptions[0].context().offset.value_or(0)) << report.corruptions[0].ToString();
  EXPECT_NE(std::string::npos, report.corruptions[0].message().find("checksum")) << report.corruptions[0].ToString();
}

TEST_F(WalTest, RejectsBadOptionsAndOversizedPayload) {
  WalOptions options;
  options.env = env_.get();
  options.dir = dir_;
  EXPECT_TRUE(Wal::Open(options).status().IsInvalidArgument());  // no clock
  options.clock = &clock_;
  options.durability.mode = DurabilityPolicy::Mode::kInterval;
  options.durability.interval = 0;
  EXPECT_TRUE(Wal::Open(options).status().IsInvalidArgument());
  auto wal = OpenWal();
  std::string huge(wal_format::kMaxPayloadBytes + 1, 'x');
  EXPECT_TRUE(wal->Append(huge).status().IsInvalidArgument());
  EXPECT_TRUE(wal->Append("still fine").ok());
}

}  // namespace
}  // namespace shopfloor::storage
