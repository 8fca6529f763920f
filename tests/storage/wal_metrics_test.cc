// Options::wal_fsync_seconds: every WAL fsync is timed by the Clock and observed.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "core/core.h"
#include "core/metrics.h"
#include "storage/storage.h"

namespace shopfloor::storage {
namespace {

// Steady() moves 2 ms forward on every call, so one fsync bracketed by two readings
// lasts exactly 2 ms.
class SteppingClock : public core::Clock {
 public:
  core::Timestamp Now() const override { return 1'700'000'000LL * core::kSecond; }
  int64_t Steady() const override { return steady_.fetch_add(2 * core::kMillisecond) + 2 * core::kMillisecond; }
  void SleepFor(core::Duration) override {}

 private:
  mutable std::atomic<int64_t> steady_{0};
};

TEST(WalMetricsTest, EveryFsyncIsObserved) {
  auto env = core::NewMemEnv();
  SteppingClock clock;
  core::MetricsRegistry registry;
  auto histogram = registry.AddHistogram("shopfloor_wal_fsync_seconds", "WAL fsync latency.",
                                         core::ExponentialBuckets(0.001, 2, 4));  // 1, 2, 4, 8 ms
  ASSERT_TRUE(histogram.ok());

  Options o;
  o.env = env.get();
  o.clock = &clock;
  o.dir = "/db";
  o.durability.mode = DurabilityPolicy::Mode::kAlways;  // one fsync per write, no sync thread
  o.background_maintenance = false;
  o.wal_fsync_seconds = *histogram;
  auto db = Storage::Open(o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto id = (*db)->GetOrCreateSeries("line-1/press/temp", core::ValueType::kDouble);
  ASSERT_TRUE(id.ok());
  for (int i = 0; i < 5; ++i) {
    core::SampleBatch batch;
    batch.Add(*id, clock.Now() + i, 20.0 + i);
    ASSERT_TRUE((*db)->Write(batch).ok());
  }
  const uint64_t syncs = (*db)->stats().wal_syncs;
  ASSERT_GE(syncs, 5u);
  core::Histogram::Snapshot s = (*histogram)->snapshot();
  EXPECT_EQ(s.count, syncs);
  EXPECT_EQ(s.cumulative[0], 0u);      // none <= 1 ms
  EXPECT_EQ(s.cumulative[1], syncs);   // all <= 2 ms (inclusive bound)
  EXPECT_DOUBLE_EQ(s.sum, 0.002 * static_cast<double>(syncs));
}

TEST(WalMetricsTest, NullHistogramIsFine) {
  auto env = core::NewMemEnv();
  SteppingClock clock;
  Options o;
  o.env = env.get();
  o.clock = &clock;
  o.dir = "/db";
  o.durability.mode = DurabilityPolicy::Mode::kAlways;
  o.background_maintenance = false;
  auto db = Storage::Open(o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto id = (*db)->GetOrCreateSeries("a", core::ValueType::kDouble);
  ASSERT_TRUE(id.ok());
  core::SampleBatch batch;
  batch.Add(*id, clock.Now(), 1.0);
  EXPECT_TRUE((*db)->Write(batch).ok());
  EXPECT_GE((*db)->stats().wal_syncs, 1u);
}

}  // namespace
}  // namespace shopfloor::storage
