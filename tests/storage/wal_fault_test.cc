// WAL durability: group commit, background syncing, sticky errors, ENOSPC and power loss.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/env.h"
#include "storage/wal/wal.h"
#include "wal_test_util.h"

namespace shopfloor::storage {
namespace {

using core::Status;
using Mode = DurabilityPolicy::Mode;
using testing::Replayed;
using testing::ReplayAll;

// Records, for every file written through it, the bytes appended and how many of them the
// last Sync covered. Sync sleeps `sync_delay` to behave like a disk, so appenders pile up.
class SyncTrackingEnv : public core::Env {
 public:
  struct Tracker {
    std::mutex mu;
    std::string content;
    size_t synced = 0;
  };

  SyncTrackingEnv(core::Env* base, std::chrono::microseconds sync_delay) : base_(base), sync_delay_(sync_delay) {}

  // True if `needle` lies in the synced prefix of any file.
  bool SyncedContains(const std::string& needle) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& tracker : trackers_) {
      std::lock_guard<std::mutex> file_lock(tracker->mu);
      if (std::string_view(tracker->content).substr(0, tracker->synced).find(needle) != std::string_view::npos) {
        return true;
      }
    }
    return false;
  }

  core::Result<std::unique_ptr<core::WritableFile>> NewWritableFile(const std::string& path) override {
    SF_ASSIGN_OR_RETURN(auto base_file, base_->NewWritableFile(path));
    auto tracker = std::make_shared<Tracker>();
    {
      std::lock_guard<std::mutex> lock(mu_);
      trackers_.push_back(tracker);
    }
    return std::unique_ptr<core::WritableFile>(new File(std::move(base_file), tracker, sync_delay_));
  }
  core::Result<std::unique_ptr<core::WritableFile>> NewAppendableFile(const std::string& path) override {
    return base_->NewAppendableFile(path);
  }
  core::Result<std::unique_ptr<core::RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    return base_->NewRandomAccessFile(path);
  }
  core::Result<std::unique_ptr<core::SequentialFile>> NewSequentialFile(const std::string& path) override {
    return base_->NewSequentialFile(path);
  }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  core::Result<std::vector<std::string>> GetChildren(const std::string& dir) override {
    return base_->GetChildren(dir);
  }
  core::Result<uint64_t> GetFileSize(const std::string& path) override { return base_->GetFileSize(path); }
  Status RemoveFile(const std::string& path) override { return base_->RemoveFile(path); }
  Status CreateDirs(const std::string& dir) override { return base_->CreateDirs(dir); }
  Status RemoveDir(const std::string& dir) override { return base_->RemoveDir(dir); }
  Status RenameFile(const std::string& src, const std::string& dst) override { return base_->RenameFile(src, dst); }
  Status SyncDir(const std::string& dir) override { return base_->SyncDir(dir); }
  Status TruncateFile(const std::string& path, uint64_t size) override { return base_->TruncateFile(path, size); }
  core::Result<std::unique_ptr<core::FileLock>> LockFile(const std::string& path) override {
    return base_->LockFile(path);
  }
  core::Result<uint64_t> GetFreeSpace(const std::string& path) override { return base_->GetFreeSpace(path); }

 private:
  class File : public core::WritableFile {
   public:
    File(std::unique_ptr<core::WritableFile> base, std::shared_ptr<Tracker> tracker,
         std::chrono::microseconds sync_delay)
        : base_(std::move(base)), tracker_(std::move(tracker)), sync_delay_(sync_delay) {}
    Status Append(std::string_view data) override {
      SF_RETURN_IF_ERROR(base_->Append(data));
      std::lock_guard<std::mutex> lock(tracker_->mu);
      tracker_->content.append(data);
      return Status::OK();
    }
    Status Flush() override { return base_->Flush(); }
    Status Sync() override {
      size_t covered;
      {
        std::lock_guard<std::mutex> lock(tracker_->mu);
        covered = tracker_->content.size();
      }
      std::this_thread::sleep_for(sync_delay_);
      SF_RETURN_IF_ERROR(base_->Sync());
      std::lock_guard<std::mutex> lock(tracker_->mu);
      tracker_->synced = covered;
      return Status::OK();
    }
    Status Close() override { return base_->Close(); }
    uint64_t Size() const override { return base_->Size(); }

   private:
    std::unique_ptr<core::WritableFile> base_;
    std::shared_ptr<Tracker> tracker_;
    std::chrono::microseconds sync_delay_;
  };

  core::Env* base_;
  std::chrono::microseconds sync_delay_;
  std::mutex mu_;
  std::vector<std::shared_ptr<Tracker>> trackers_;
};

std::unique_ptr<Wal> OpenWal(core::Env* env, core::Clock* clock, Mode mode,
                             core::Duration interval = 100 * core::kMillisecond,
                             uint64_t segment_bytes = 64 << 20) {
  WalOptions options;
  options.env = env;
  options.clock = clock;
  options.dir = "/db/wal";
  options.durability.mode = mode;
  options.durability.interval = interval;
  options.segment_bytes = segment_bytes;
  auto wal = Wal::Open(options);
  EXPECT_TRUE(wal.ok()) << wal.status().ToString();
  return wal.ok() ? std::move(wal).value() : nullptr;
}

// An 8-character id repeated 4 times: whichever block boundary splits the payload, one
// copy of the id stays contiguous in the file.
std::string IdPayload(int thread, int index) {
  char id[16];
  std::snprintf(id, sizeof(id), "T%dI%05d", thread, index);
  return std::string(id) + id + id + id;
}

bool WaitFor(const std::function<bool()>& condition) {
  for (int i = 0; i < 2000; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return condition();
}

TEST(WalDurabilityTest, AlwaysSingleThreadSyncsEveryAppend) {
  auto mem = core::NewMemEnv();
  core::SimClock clock;
  auto wal = OpenWal(mem.get(), &clock, Mode::kAlways);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(wal->Append(IdPayload(0, i)).ok());
  EXPECT_EQ(20u, wal->syncs());
  EXPECT_EQ(20u * (32 + 7), wal->bytes_written());
}

TEST(WalDurabilityTest, AlwaysGroupCommitWithEightThreads) {
  auto mem = core::NewMemEnv();
  SyncTrackingEnv env(mem.get(), std::chrono::microseconds(1000));
  core::SimClock clock;
  auto wal = OpenWal(&env, &clock, Mode::kAlways);
  constexpr int kThreads = 8, kPerThread = 60;
  std::atomic<int> unsynced_acks{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string payload = IdPayload(t, i);
        if (!wal->Append(payload).ok()) ++failures;
        // The acknowledgement must come after an fsync that covered the record.
        if (!env.SyncedContains(payload.substr(0, 8))) ++unsynced_acks;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(0, failures.load());
  EXPECT_EQ(0, unsynced_acks.load());
  const uint64_t appends = kThreads * kPerThread;
  std::printf("kAlways, 8 threads: %llu appends, %llu fsyncs\n", static_cast<unsigned long long>(appends),
              static_cast<unsigned long long>(wal->syncs()));
  EXPECT_LT(wal->syncs(), appends);
  EXPECT_GT(wal->syncs(), 0u);
  ASSERT_TRUE(wal->Close().ok());
  WalReplayReport report;
  EXPECT_EQ(appends, ReplayAll(mem.get(), "/db/wal", &report).size());
}

// Power loss after kAlways appends from 8 threads: every acknowledged record survives.
TEST(WalDurabilityTest, DropUnsyncedDataLosesNothingAcknowledged) {
  auto mem = core::NewMemEnv();
  core::FaultEnv env(mem.get());
  core::SimClock clock;
  auto wal = OpenWal(&env, &clock, Mode::kAlways, 0, /*segment_bytes=*/8192);
  std::mutex mu;
  std::set<std::string> acknowledged;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string payload = IdPayload(t, i);
        if (!wal->Append(payload).ok()) return;
        std::lock_guard<std::mutex> lock(mu);
        acknowledged.insert(payload);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(400u, acknowledged.size());
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  wal.reset();  // its handles died with the "power loss"; nothing more reaches the disk
  WalReplayReport report;
  std::set<std::string> replayed;
  for (const Replayed& r : ReplayAll(&env, "/db/wal", &report)) replayed.insert(r.payload);
  EXPECT_EQ(acknowledged, replayed);
  EXPECT_TRUE(report.corruptions.empty());
  EXPECT_GT(report.segments, 1u);
}

// The same power loss under kNone loses what was never synced: the check above has teeth.
TEST(WalDurabilityTest, DropUnsyncedDataLosesUnsyncedNoneAppends) {
  auto mem = core::NewMemEnv();
  core::FaultEnv env(mem.get());
  core::SimClock clock;
  auto wal = OpenWal(&env, &clock, Mode::kNone);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(wal->Append(IdPayload(0, i)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  for (int i = 10; i < 20; ++i) ASSERT_TRUE(wal->Append(IdPayload(0, i)).ok());
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  wal.reset();
  EXPECT_EQ(10u, ReplayAll(&env, "/db/wal", nullptr).size());
}

TEST(WalDurabilityTest, IntervalSyncsInBackground) {
  auto mem = core::NewMemEnv();
  core::FaultEnv env(mem.get());
  core::SimClock clock;
  auto wal = OpenWal(&env, &clock, Mode::kInterval, 100 * core::kMillisecond);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(wal->Append(IdPayload(0, i)).ok());
  EXPECT_EQ(0u, wal->syncs());
  clock.Advance(50 * core::kMillisecond);
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  EXPECT_EQ(0u, wal->syncs());  // the interval has not passed yet
  clock.Advance(60 * core::kMillisecond);
  ASSERT_TRUE(WaitFor([&] { return wal->syncs() >= 1; }));
  EXPECT_EQ(1u, wal->syncs());
  // Nothing new written: the next interval does not fsync again.
  clock.Advance(200 * core::kMillisecond);
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  EXPECT_EQ(1u, wal->syncs());

  ASSERT_TRUE(env.DropUnsyncedData().ok());
  wal.reset();
  EXPECT_EQ(5u, ReplayAll(&env, "/db/wal", nullptr).size());
}

TEST(WalDurabilityTest, IntervalThreadStopsPromptlyOnClose) {
  auto mem = core::NewMemEnv();
  auto wal = OpenWal(mem.get(), core::Clock::System(), Mode::kInterval, core::kHour);
  ASSERT_TRUE(wal->Append("x").ok());
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(wal->Close().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
  EXPECT_EQ(1u, wal->syncs());  // Close synced the segment
}

TEST(WalDurabilityTest, FailedSyncIsSticky) {
  auto mem = core::NewMemEnv();
  core::FaultEnv env(mem.get());
  core::SimClock clock;
  auto wal = OpenWal(&env, &clock, Mode::kAlways);
  ASSERT_TRUE(wal->Append("before").ok());
  env.FailNthSync(1, Status::IOError("simulated EIO from fdatasync"));
  auto failed = wal->Append("lost");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(core::StatusCode::kIOError, failed.status().code());
  env.ClearFaults();
  // The disk "works" again, but nothing may be acknowledged after a failed fsync.
  for (int i = 0; i < 3; ++i) {
    auto again = wal->Append("after");
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(failed.status().ToString(), again.status().ToString());
  }
  EXPECT_FALSE(wal->Sync().ok());
  EXPECT_FALSE(wal->Rotate().ok());
  EXPECT_FALSE(wal->Close().ok());
  std::vector<Replayed> replayed = ReplayAll(&env, "/db/wal", nullptr);
  ASSERT_FALSE(replayed.empty());
  EXPECT_EQ("before", replayed[0].payload);
}

TEST(WalDurabilityTest, FailedBackgroundSyncFailsLaterAppends) {
  auto mem = core::NewMemEnv();
  core::FaultEnv env(mem.get());
  core::SimClock clock;
  auto wal = OpenWal(&env, &clock, Mode::kInterval, 100 * core::kMillisecond);
  env.FailNthSync(1, Status::IOError("simulated EIO from fdatasync"));
  ASSERT_TRUE(wal->Append("a").ok());
  clock.Advance(100 * core::kMillisecond);
  ASSERT_TRUE(WaitFor([&] { return env.sync_count() >= 1; }));
  // Queued behind the failing background sync, so it sees the sticky error.
  Status s = wal->Sync();
  EXPECT_EQ(core::StatusCode::kIOError, s.code()) << s.ToString();
  EXPECT_FALSE(wal->Append("b").ok());
}

TEST(WalDurabilityTest, NoSpaceIsReportedAndWritingResumesWhenSpaceReturns) {
  auto mem = core::NewMemEnv();
  core::FaultEnv env(mem.get());
  core::SimClock clock;
  auto wal = OpenWal(&env, &clock, Mode::kAlways);
  std::vector<std::string> written;
  for (int i = 0; i < 20; ++i) {
    written.push_back(testing::TestPayload(i, 3000));
    ASSERT_TRUE(wal->Append(written.back()).ok());
  }
  env.SetNoSpace(true);
  auto full = wal->Append("does not fit");
  ASSERT_TRUE(full.status().IsNoSpace()) << full.status().ToString();
  EXPECT_NE(std::string::npos, full.status().ToString().find("0000000000000001.wal")) << full.status().ToString();
  // Still full: every retry fails clearly, and retries leave no pile of empty segments.
  for (int retry = 0; retry < 5; ++retry) EXPECT_TRUE(wal->Append("retry").status().IsNoSpace());
  EXPECT_TRUE(wal->Sync().IsNoSpace());
  env.SetNoSpace(false);
  // Space is back: no restart needed.
  auto resumed = wal->Append("space freed");
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  written.push_back("space freed");
  written.push_back(testing::TestPayload(99, 50000));
  ASSERT_TRUE(wal->Append(written.back()).ok());
  ASSERT_TRUE(wal->Sync().ok());
  ASSERT_TRUE(wal->Close().ok());
  auto segments = ListWalSegments(&env, "/db/wal");
  ASSERT_TRUE(segments.ok());
  EXPECT_EQ(segments->size(), 2u);

  WalReplayReport report;
  std::vector<Replayed> replayed = ReplayAll(&env, "/db/wal", &report);
  ASSERT_EQ(written.size(), replayed.size());
  for (size_t i = 0; i < written.size(); ++i) EXPECT_EQ(written[i], replayed[i].payload);
  EXPECT_TRUE(report.corruptions.empty());
  EXPECT_EQ(0u, report.truncated_bytes);
}

TEST(WalDurabilityTest, AFullDiskMidGroupIsCutOffTheSegment) {
  // The failing write lands partly (a short write): the segment is cut back to the last
  // whole record, so replay reports no damage.
  auto mem = core::NewMemEnv();
  core::FaultEnv env(mem.get());
  core::SimClock clock;
  auto wal = OpenWal(&env, &clock, Mode::kInterval, core::kSecond);
  ASSERT_TRUE(wal->Append("kept").ok());
  env.FailNthWrite(1, Status::NoSpace("simulated ENOSPC"));
  EXPECT_TRUE(wal->Append(testing::TestPayload(1, 70000)).status().IsNoSpace());
  ASSERT_TRUE(wal->Append("after").ok());
  ASSERT_TRUE(wal->Close().ok());
  WalReplayReport report;
  std::vector<Replayed> replayed = ReplayAll(&env, "/db/wal", &report);
  ASSERT_EQ(2u, replayed.size());
  EXPECT_EQ("kept", replayed[0].payload);
  EXPECT_EQ("after", replayed[1].payload);
  EXPECT_TRUE(report.corruptions.empty());
}

// Appends racing with rotations land in the segment they report.
TEST(WalDurabilityTest, ConcurrentAppendsAndRotations) {
  auto mem = core::NewMemEnv();
  core::SimClock clock;
  auto wal = OpenWal(mem.get(), &clock, Mode::kNone);
  std::mutex mu;
  std::vector<Replayed> acknowledged;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        std::string payload = IdPayload(t, i);
        auto segment = wal->Append(payload);
        ASSERT_TRUE(segment.ok());
        std::lock_guard<std::mutex> lock(mu);
        acknowledged.push_back(Replayed{*segment, payload});
      }
    });
  }
  for (int r = 0; r < 20; ++r) {
    ASSERT_TRUE(wal->Rotate().ok());
    std::this_thread::yield();
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(wal->Close().ok());
  std::vector<Replayed> replayed = ReplayAll(mem.get(), "/db/wal", nullptr);
  auto by_payload = [](const Replayed& a, const Replayed& b) { return a.payload < b.payload; };
  std::sort(acknowledged.begin(), acknowledged.end(), by_payload);
  std::sort(replayed.begin(), replayed.end(), by_payload);
  EXPECT_EQ(acknowledged, replayed);
}

}  // namespace
}  // namespace shopfloor::storage
