// Engine behaviour: write/read of every type, ordering, last write wins, recovery,
// aggregates from raw data and rollups, point budgets, latest values, retention and quota.
#include <cmath>
#include <random>
#include <thread>

#include "storage/catalog.h"
#include "storage/storage.h"
#include "engine_test_util.h"

namespace shopfloor::storage::testing {
namespace {

using core::kHour;
using core::kMinute;
using core::kSecond;

constexpr Timestamp T(int64_t seconds) { return kHourAligned + seconds * kSecond; }

class EngineTest : public EngineFixture {};

TEST_F(EngineTest, WritesAndReadsEveryValueTypeWithQuality) {
  Open();
  SeriesId d = Series("plant/press-1/temperature", ValueType::kDouble);
  SeriesId i = Series("plant/press-1/count", ValueType::kInt64);
  SeriesId b = Series("plant/press-1/running", ValueType::kBool);
  SeriesId s = Series("plant/press-1/state", ValueType::kString);
  SampleBatch batch;
  batch.Add(d, T(1), 21.5);
  batch.Add(d, T(2), -0.0, core::Quality::BadSensorFailure());
  batch.Add(i, T(1), int64_t{INT64_MIN});
  batch.Add(i, T(2), int64_t{INT64_MAX});
  batch.Add(b, T(1), true);
  batch.Add(s, T(1), std::string("Execute"));
  batch.Add(s, T(2), std::string(""));
  ASSERT_TRUE(db_->Write(batch).ok());

  auto check = [&] {
    auto ds = ReadAll(d);
    ASSERT_EQ(ds.size(), 2u);
    EXPECT_EQ(ds[0].value.as_double(), 21.5);
    EXPECT_TRUE(ds[1].value.IdenticalTo(core::Value(-0.0)));
    EXPECT_EQ(ds[1].quality, core::Quality::BadSensorFailure());
    EXPECT_TRUE(ds[0].quality.good());
    auto is = ReadAll(i);
    ASSERT_EQ(is.size(), 2u);
    EXPECT_EQ(is[0].value.as_int(), INT64_MIN);
    EXPECT_EQ(is[1].value.as_int(), INT64_MAX);
    EXPECT_EQ(ReadAll(b).at(0).value.as_bool(), true);
    auto ss = ReadAll(s);
    ASSERT_EQ(ss.size(), 2u);
    EXPECT_EQ(ss[0].value.as_string(), "Execute");
    EXPECT_EQ(ss[1].value.as_string(), "");
  };
  check();
  ASSERT_TRUE(db_->Flush().ok());
  check();
  ASSERT_TRUE(db_->Compact().ok());
  check();
  Reopen();
  check();
}

TEST_F(EngineTest, RejectsWrongTypesAndUnknownSeriesWritingNothing) {
  Open();
  SeriesId d = Series("a/b", ValueType::kDouble);
  EXPECT_TRUE(db_->GetOrCreateSeries("a/b", ValueType::kInt64).status().IsInvalidArgument());
  EXPECT_TRUE(db_->GetOrCreateSeries("", ValueType::kInt64).status().IsInvalidArgument());
  EXPECT_TRUE(db_->GetOrCreateSeries("a//b", ValueType::kInt64).status().IsInvalidArgument());
  SampleBatch batch;
  batch.Add(d, T(1), 1.0);
  batch.Add(d, T(2), int64_t{2});
  Status s = db_->Write(batch);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("entry 1"), std::string::npos) << s.ToString();
  batch.Clear();
  batch.Add(d, T(1), 1.0);
  batch.Add(static_cast<SeriesId>(999), T(1), 1.0);
  EXPECT_TRUE(db_->Write(batch).IsInvalidArgument());
  batch.Clear();
  batch.Add(d, INT64_MAX, 1.0);
  EXPECT_TRUE(db_->Write(batch).IsInvalidArgument());
  EXPECT_TRUE(ReadAll(d).empty());
}

TEST_F(EngineTest, OutOfOrderAndLastWriteWinsAcrossHeadBlocksAndCompaction) {
  Open();
  SeriesId id = Series("line/filler/volume");
  SampleBatch batch;
  for (int k = 9; k >= 0; --k) batch.Add(id, T(k), double(k));
  batch.Add(id, T(5), 50.0);  // same batch, same timestamp: the later entry wins
  ASSERT_TRUE(db_->Write(batch).ok());
  auto v = ReadAll(id);
  ASSERT_EQ(v.size(), 10u);
  for (int k = 0; k < 10; ++k) EXPECT_EQ(v[k].ts, T(k));
  EXPECT_EQ(v[5].value.as_double(), 50.0);

  ASSERT_TRUE(db_->Flush().ok());
  batch.Clear();
  batch.Add(id, T(3), 30.0);          // overwrite flushed data from the head
  batch.Add(id, T(-3 * 3600), -1.0);  // backfill hours late, into an older partition
  ASSERT_TRUE(db_->Write(batch).ok());
  v = ReadAll(id);
  ASSERT_EQ(v.size(), 11u);
  EXPECT_EQ(v[0].value.as_double(), -1.0);
  EXPECT_EQ(v[4].value.as_double(), 30.0);

  ASSERT_TRUE(db_->Flush().ok());  // now two blocks overlap in one partition
  batch.Clear();
  batch.Add(id, T(3), 33.0);
  ASSERT_TRUE(db_->Write(batch).ok());
  ASSERT_TRUE(db_->Flush().ok());
  EXPECT_EQ(ReadAll(id)[4].value.as_double(), 33.0);
  ASSERT_TRUE(db_->Compact().ok());
  v = ReadAll(id);
  ASSERT_EQ(v.size(), 11u);
  EXPECT_EQ(v[4].value.as_double(), 33.0);
  EXPECT_EQ(v[6].value.as_double(), 50.0);
  Reopen();
  EXPECT_EQ(ReadAll(id)[4].value.as_double(), 33.0);
}

TEST_F(EngineTest, RecoversUnflushedDataFromTheWal) {
  Open();
  SeriesId a = Series("x/a");
  SampleBatch batch;
  for (int k = 0; k < 1000; ++k) batch.Add(a, T(k), k * 0.5);
  ASSERT_TRUE(db_->Write(batch).ok());
  ASSERT_TRUE(db_->Flush().ok());
  SeriesId b = Series("x/b", ValueType::kInt64);  // created after the flush: only in the WAL
  batch.Clear();
  for (int k = 1000; k < 1500; ++k) batch.Add(a, T(k), k * 0.5);
  batch.Add(b, T(7), int64_t{7});
  ASSERT_TRUE(db_->Write(batch).ok());
  Reopen();
  EXPECT_EQ(ReadAll(a).size(), 1500u);
  auto found = db_->FindSeries("x/b");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, b);
  EXPECT_EQ(found->type, ValueType::kInt64);
  EXPECT_EQ(ReadAll(b).at(0).value.as_int(), 7);
  // New series after recovery get fresh ids.
  EXPECT_NE(Series("x/c"), b);
}

TEST_F(EngineTest, RangeBoundsAreHalfOpen) {
  Open();
  SeriesId id = Series("r");
  SampleBatch batch;
  for (int k = 0; k < 100; ++k) batch.Add(id, T(k * 300), double(k));  // spans partitions
  ASSERT_TRUE(db_->Write(batch).ok());
  for (bool flushed : {false, true}) {
    auto v = ReadAll(id, T(300), T(600 * 10));
    ASSERT_EQ(v.size(), 19u) << flushed;
    EXPECT_EQ(v.front().ts, T(300));
    EXPECT_EQ(v.back().ts, T(5700));
    ASSERT_TRUE(db_->Flush().ok());
  }
  EXPECT_TRUE(db_->ReadRaw(id, T(5), T(5)).status().IsInvalidArgument());
  EXPECT_TRUE(db_->ReadRaw(static_cast<SeriesId>(77), T(0), T(1)).status().IsNotFound());
}

// Brute-force reference for one window.
AggregateRow Reference(const std::vector<std::pair<Timestamp, double>>& pts, Timestamp ws, Timestamp we,
                       bool have_prev, double prev) {
  AggregateRow r;
  r.start = ws;
  double mean = 0;
  std::vector<double> vals;
  for (auto& [ts, v] : pts) {
    if (ts < ws || ts >= we) continue;
    vals.push_back(v);
  }
  r.count = vals.size();
  if (vals.empty()) return r;
  r.min = *std::min_element(vals.begin(), vals.end());
  r.max = *std::max_element(vals.begin(), vals.end());
  for (double v : vals) r.sum += v;
  mean = r.sum / vals.size();
  double ss = 0;
  for (double v : vals) ss += (v - mean) * (v - mean);
  r.stddev = std::sqrt(ss / vals.size());
  r.avg = mean;
  r.first = vals.front();
  r.last = vals.back();
  // Step-function integral over the window.
  double integral = 0;
  Timestamp covered_from = -1;
  double cur = prev;
  Timestamp cur_ts = ws;
  bool have = have_prev;
  for (auto& [ts, v] : pts) {
    if (ts < ws || ts >= we) continue;
    if (have) integral += cur * double(ts - cur_ts);
    if (!have) covered_from = ts;
    have = true;
    cur = v;
    cur_ts = ts;
  }
  integral += cur * double(we - cur_ts);
  if (covered_from < 0) covered_from = ws;
  r.twa = integral / double(we - covered_from);
  return r;
}

TEST_F(EngineTest, AggregatesMatchBruteForceFromRawAndFromRollups) {
  Open();
  SeriesId id = Series("comp/pressure");
  std::mt19937_64 rng(7);
  std::vector<std::pair<Timestamp, double>> pts;
  SampleBatch batch;
  Timestamp ts = T(0);
  while (ts < T(6 * 3600)) {
    double v = std::round((6.0 + std::normal_distribution<double>(0, 0.3)(rng)) * 100) / 100;
    pts.push_back({ts, v});
    batch.Add(id, ts, v);
    ts += (1 + static_cast<int64_t>(rng() % 3)) * kSecond;  // irregular, ~30 samples a minute
  }
  ASSERT_TRUE(db_->Write(batch).ok());

  AggregateQuery q;
  q.from = T(0);
  q.to = T(6 * 3600);
  q.step = 15 * kMinute;
  auto check = [&](const std::vector<AggregateRow>& rows) {
    ASSERT_EQ(rows.size(), 24u);
    bool have_prev = false;
    double prev = 0;
    for (const auto& row : rows) {
      AggregateRow ref = Reference(pts, row.start, row.start + q.step, have_prev, prev);
      EXPECT_EQ(row.count, ref.count);
      EXPECT_DOUBLE_EQ(row.min, ref.min);
      EXPECT_DOUBLE_EQ(row.max, ref.max);
      EXPECT_NEAR(row.sum, ref.sum, 1e-9 * std::abs(ref.sum));
      EXPECT_NEAR(row.avg, ref.avg, 1e-9);
      EXPECT_NEAR(row.stddev, ref.stddev, 1e-9);
      EXPECT_DOUBLE_EQ(row.first, ref.first);
      EXPECT_DOUBLE_EQ(row.last, ref.last);
      EXPECT_NEAR(row.twa, ref.twa, 1e-9);
      have_prev = true;
      prev = ref.last;
    }
  };
  Resolution res;
  check(Agg(id, q, &res));  // from the head
  EXPECT_EQ(res, Resolution::kRaw);
  ASSERT_TRUE(db_->Flush().ok());
  check(Agg(id, q, &res));  // from level-0 blocks: no rollups yet
  EXPECT_EQ(res, Resolution::kRaw);
  ASSERT_TRUE(db_->Compact().ok());
  check(Agg(id, q, &res));  // from 1-minute rollups
  EXPECT_EQ(res, Resolution::kOneMinute);
  q.allow_rollups = false;
  check(Agg(id, q, &res));
  EXPECT_EQ(res, Resolution::kRaw);

  // Hourly windows come from the hourly rollups and agree with raw data.
  AggregateQuery hq = q;
  hq.step = kHour;
  hq.allow_rollups = true;
  auto from_rollups = Agg(id, hq, &res);
  EXPECT_EQ(res, Resolution::kOneHour);
  hq.allow_rollups = false;
  auto from_raw = Agg(id, hq);
  ASSERT_EQ(from_rollups.size(), from_raw.size());
  for (size_t k = 0; k < from_raw.size(); ++k) {
    EXPECT_EQ(from_rollups[k].count, from_raw[k].count);
    EXPECT_NEAR(from_rollups[k].twa, from_raw[k].twa, 1e-9);
    EXPECT_NEAR(from_rollups[k].stddev, from_raw[k].stddev, 1e-9);
  }

  // New data in a compacted partition invalidates its rollup until the next compaction.
  batch.Clear();
  batch.Add(id, T(30), 1000.0);
  ASSERT_TRUE(db_->Write(batch).ok());
  hq.allow_rollups = true;
  auto fresh = Agg(id, hq, &res);
  EXPECT_DOUBLE_EQ(fresh.at(0).max, 1000.0);
}

TEST_F(EngineTest, PointBudgetPicksTheFinestResolutionThatFits) {
  Open();
  SeriesId id = Series("meter/power");
  SampleBatch batch;
  for (int k = 0; k < 2 * 24 * 3600; k += 2) batch.Add(id, T(k), double(k % 1000));
  ASSERT_TRUE(db_->Write(batch).ok());
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(db_->Compact().ok());
  AggregateQuery q;
  q.from = T(0);
  q.to = T(2 * 24 * 3600);
  q.step = 0;
  Resolution res;
  q.max_points = 100;  // 48 h / 100 -> 29 min windows from minute rollups
  auto rows = Agg(id, q, &res);
  EXPECT_LE(rows.size(), 100u);
  EXPECT_EQ(res, Resolution::kOneMinute);
  q.max_points = 24;  // 2 h windows from hour rollups
  rows = Agg(id, q, &res);
  EXPECT_LE(rows.size(), 24u);
  EXPECT_EQ(res, Resolution::kOneHour);
  q.max_points = 10'000;  // 17.28 s windows: raw
  rows = Agg(id, q, &res);
  EXPECT_LE(rows.size(), 10'000u);
  EXPECT_EQ(res, Resolution::kRaw);
  q.max_points = 0;
  EXPECT_TRUE(db_->Aggregate(id, q).status().IsInvalidArgument());
}

TEST_F(EngineTest, SparseSeriesGetNoRollupsAndAnswerFromRawData) {
  Open();
  SeriesId sparse = Series("nab/machine_temperature");  // one sample every 5 minutes
  SampleBatch batch;
  for (int k = 0; k < 24 * 12; ++k) batch.Add(sparse, T(k * 300), 70.0 + k % 7);
  ASSERT_TRUE(db_->Write(batch).ok());
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(db_->Compact().ok());
  // 12 partitions of 2 h; their rollup blocks are empty markers (no window pays).
  for (const char* dir : {"/db/rollup/1m", "/db/rollup/1h"}) {
    auto names = env()->GetChildren(dir);
    ASSERT_TRUE(names.ok());
    EXPECT_EQ(names->size(), 12u) << dir;
    for (const auto& name : *names) EXPECT_LT(*env()->GetFileSize(std::string(dir) + "/" + name), 200u) << name;
  }
  AggregateQuery q;
  q.from = T(0);
  q.to = T(24 * 3600);
  q.step = kHour;
  Resolution res;
  auto rows = Agg(sparse, q, &res);
  EXPECT_EQ(res, Resolution::kRaw);
  ASSERT_EQ(rows.size(), 24u);
  EXPECT_EQ(rows[0].count, 12u);
}

TEST_F(EngineTest, TheOpenPartitionIsMergedInTiersWithoutRollups) {
  Options o = MakeOptions();
  o.background_maintenance = true;  // the non-forced path runs in the maintenance thread
  o.compaction_interval = 0;
  o.flush_interval = 1000 * core::kDay;
  options_ = o;
  Open(o);
  SeriesId id = Series("open/partition");
  const Timestamp now = clock_.Now();
  for (int flush = 0; flush < 4; ++flush) {
    SampleBatch batch;
    for (int k = 0; k < 100; ++k) batch.Add(id, now - kHour + (flush * 100 + k) * kSecond, double(k));
    ASSERT_TRUE(db_->Write(batch).ok());
    ASSERT_TRUE(db_->Flush().ok());
  }
  for (int wait = 0; wait < 100 && db_->stats().compactions == 0; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(db_->stats().compactions, 1u);
  EXPECT_EQ(env()->GetChildren("/db/blocks")->size(), 1u);      // four level-0 blocks became one
  EXPECT_TRUE(env()->GetChildren("/db/rollup/1m")->empty());     // the open partition has no rollups yet
  EXPECT_EQ(ReadAll(id).size(), 400u);
}

TEST_F(EngineTest, LatestComesFromHeadOrBlocksAfterRestart) {
  Open();
  std::vector<SeriesId> ids;
  SampleBatch batch;
  for (int s = 0; s < 50; ++s) {
    ids.push_back(Series("site/m" + std::to_string(s) + "/t"));
    for (int k = 0; k < 20; ++k) batch.Add(ids.back(), T(k), double(s * 100 + k));
  }
  ASSERT_TRUE(db_->Write(batch).ok());
  ASSERT_TRUE(db_->Flush().ok());
  batch.Clear();
  batch.Add(ids[3], T(100), 9.0);
  batch.Add(ids[4], T(1), 9.0);  // late data must not become "latest"
  ASSERT_TRUE(db_->Write(batch).ok());
  Reopen();
  ids.push_back(static_cast<SeriesId>(4242));
  auto latest = db_->Latest(ids);
  ASSERT_EQ(latest.size(), 51u);
  EXPECT_EQ(latest[0]->ts, T(19));
  EXPECT_EQ(latest[0]->value.as_double(), 19.0);
  EXPECT_EQ(latest[3]->ts, T(100));
  EXPECT_EQ(latest[4]->ts, T(19));
  EXPECT_EQ(latest[4]->value.as_double(), 419.0);
  EXPECT_FALSE(latest[50].has_value());
}

TEST_F(EngineTest, MatchSeriesByGlob) {
  Open();
  for (const char* k : {"works/body/press-1/temp", "works/body/press-1/current", "works/body/robot-1/temp",
                        "works/bottling/filler/temp", "other/x"}) {
    Series(k);
  }
  auto keys = [&](std::string_view glob) {
    std::vector<std::string> out;
    for (auto& s : db_->MatchSeries(glob)) out.push_back(s.key);
    return out;
  };
  EXPECT_EQ(keys("works/body/press-1/**").size(), 2u);
  EXPECT_EQ(keys("works/*/*/temp").size(), 3u);
  EXPECT_EQ(keys("**/temp").size(), 3u);
  EXPECT_EQ(keys("works/body/robot-?/temp").size(), 1u);
  EXPECT_EQ(keys("**").size(), 5u);
  EXPECT_TRUE(keys("nothing/**").empty());
}

TEST_F(EngineTest, RetentionDropsOldDataAndKeepsRollupsLonger) {
  Options o = MakeOptions();
  o.retention = {{"short/**", 2 * core::kDay}};
  o.rollup_retention_factor = 3;
  options_ = o;
  Open(o);
  SeriesId s = Series("short/a");
  SeriesId l = Series("long/a");
  const Timestamp now = clock_.Now();
  SampleBatch batch;
  for (int day = 0; day < 5; ++day) {  // an hour a day at one sample a minute
    for (int minute = 0; minute < 60; ++minute) {
      const Timestamp ts = now - day * core::kDay - 2 * kHour + minute * kMinute;
      batch.Add(s, ts, double(day));
      batch.Add(l, ts, double(day));
    }
  }
  ASSERT_TRUE(db_->Write(batch).ok());
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(db_->Compact().ok());
  EXPECT_EQ(ReadAll(s).size(), 2 * 60u);  // days 0 and 1
  EXPECT_EQ(ReadAll(l).size(), 5 * 60u);
  EXPECT_GT(db_->stats().retention_evicted_samples, 0u);
  // Hourly rollups of "short/a" outlive its raw data (3 x 2 days).
  AggregateQuery q;
  q.from = now - 5 * core::kDay - 2 * kHour;
  q.to = now;
  q.step = kHour;
  Resolution res;
  auto rows = Agg(s, q, &res);
  EXPECT_EQ(rows.size(), 5u);
  clock_.Advance(10 * core::kDay);
  ASSERT_TRUE(db_->Compact().ok());
  EXPECT_TRUE(ReadAll(s).empty());
  EXPECT_TRUE(Agg(s, q).empty());
  EXPECT_EQ(ReadAll(l).size(), 5 * 60u);
}

TEST_F(EngineTest, DiskQuotaEvictsOldestPartitionsFirst) {
  Options o = MakeOptions();
  o.disk_quota_bytes = 64 * 1024;
  options_ = o;
  Open(o);
  SeriesId id = Series("q/noise");
  std::mt19937_64 rng(1);
  SampleBatch batch;
  for (int k = 0; k < 48 * 360; ++k) batch.Add(id, T(k * 10), std::uniform_real_distribution<double>(0, 1)(rng));
  ASSERT_TRUE(db_->Write(batch).ok());
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(db_->Compact().ok());
  StorageStats st = db_->stats();
  EXPECT_LE(st.block_bytes, o.disk_quota_bytes);
  EXPECT_GT(st.quota_evicted_blocks, 0u);
  auto v = ReadAll(id);
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v.back().ts, T((48 * 360 - 1) * 10));  // the newest data survives
  EXPECT_GT(v.front().ts, T(0));                     // the oldest went first
}

TEST_F(EngineTest, HeadMemoryLimitFlushesInsteadOfRejecting) {
  Options o = MakeOptions();
  o.head_memory_limit = 64 * 1024;
  options_ = o;
  Open(o);
  SeriesId id = Series("m/v");
  for (int round = 0; round < 50; ++round) {
    SampleBatch batch;
    for (int k = 0; k < 1000; ++k) batch.Add(id, T(round * 1000 + k), double(k));
    ASSERT_TRUE(db_->Write(batch).ok());
    EXPECT_LE(db_->stats().head_bytes, 2 * o.head_memory_limit);
  }
  EXPECT_GT(db_->stats().flushes, 0u);
  EXPECT_EQ(ReadAll(id).size(), 50'000u);
}

TEST_F(EngineTest, CatalogWithAnAbsurdSeriesIdIsCorruptionNotAHugeAllocation) {
  Open();
  Series("a/b");
  ASSERT_TRUE(db_->Flush().ok());
  db_.reset();
  std::string catalog;
  EncodeCatalog({SeriesInfo{static_cast<SeriesId>(uint64_t{1} << 40), "a/b", ValueType::kDouble}}, &catalog);
  ASSERT_TRUE(env()->WriteFileAtomic("/db/series.catalog", catalog).ok());
  auto reopened = Storage::Open(MakeOptions());
  ASSERT_FALSE(reopened.ok());
  EXPECT_TRUE(reopened.status().IsCorruption()) << reopened.status().ToString();
  EXPECT_EQ(reopened.status().context().file, "/db/series.catalog");
}

TEST_F(EngineTest, TheDirectoryKeepsItsPartitionWidth) {
  Open();  // 2 h partitions (the fixture's)
  SeriesId id = Series("w");
  SampleBatch batch;
  for (int k = 0; k < 10; ++k) batch.Add(id, T(k * 3000), double(k));
  ASSERT_TRUE(db_->Write(batch).ok());
  ASSERT_TRUE(db_->Flush().ok());
  Options o = MakeOptions();
  o.block_duration = core::kDay;  // a later open asks for another width: the recorded one wins
  options_ = o;
  Reopen();
  batch.Clear();
  batch.Add(id, T(5), 0.5);  // head data beside 2 h blocks: partitions must line up
  ASSERT_TRUE(db_->Write(batch).ok());
  auto all = ReadAll(id);
  ASSERT_EQ(all.size(), 11u);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].ts, all[i].ts);
  EXPECT_EQ(ReadAll(id, T(3000), T(9000)).size(), 2u);
  ASSERT_TRUE(env()->WriteFileAtomic("/db/FORMAT", "block_duration_ns=12\n").ok());
  db_.reset();
  EXPECT_TRUE(Storage::Open(o).status().IsCorruption());
}

TEST_F(EngineTest, DurabilityPolicyParsing) {
  EXPECT_EQ(DurabilityPolicy::Parse("always")->mode, DurabilityPolicy::Mode::kAlways);
  EXPECT_EQ(DurabilityPolicy::Parse("none")->mode, DurabilityPolicy::Mode::kNone);
  auto p = DurabilityPolicy::Parse("interval=250");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->interval, 250 * core::kMillisecond);
  EXPECT_EQ(p->ToString(), "interval=250");
  for (const char* bad : {"", "sometimes", "interval=", "interval=-1", "interval=0", "interval=10s", "Always"}) {
    EXPECT_FALSE(DurabilityPolicy::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace shopfloor::storage::testing
