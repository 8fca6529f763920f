// Crash consistency of the engine on FaultEnv: a fixed workload (series of every type,
// kAlways writes, flushes, out-of-order writes and overwrites, compaction) is cut at every
// mutating file operation, the unsynced data is dropped (power loss), and the reopened
// engine must hold every acknowledged sample. Also: a failed fsync and a full disk at every
// point of the workload. SHOPFLOOR_STRESS=1 tests every crash point and every recovery
// crash point instead of a sample.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/core.h"
#include "engine_crash_model.h"
#include "storage/storage.h"

namespace shopfloor::storage::testing {
namespace {

using core::kSecond;

constexpr Timestamp kBase = 1'699'999'200LL * kSecond;  // a multiple of the 2 h block width
constexpr Timestamp T(int64_t seconds) { return kBase + seconds * kSecond; }

bool Stress() {
  const char* v = std::getenv("SHOPFLOOR_STRESS");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

struct SeriesSpec {
  const char* key;
  ValueType type;
};
constexpr SeriesSpec kSeries[] = {
    {"plant/line-1/temperature", ValueType::kDouble}, {"plant/line-1/count", ValueType::kInt64},
    {"plant/line-1/running", ValueType::kBool},       {"plant/line-1/state", ValueType::kString},
    {"plant/line-2/temperature", ValueType::kDouble},  // created after the first flush
};

Value MakeValue(ValueType type, int64_t seed) {
  switch (type) {
    case ValueType::kDouble: return 0.25 * static_cast<double>(seed) - 3.125;
    case ValueType::kInt64: return int64_t{seed * 1'000'003 - 7};
    case ValueType::kBool: return seed % 3 == 0;
    case ValueType::kString: return fmt::format("state-{}", seed);
  }
  return 0.0;
}

// Drives the fixed workload against one engine and records every outcome in the model.
class Workload {
 public:
  Workload(Storage* db, RecoveryModel* model, core::FaultEnv* env) : db_(db), model_(model), env_(env) {}

  // Runs the workload. With stop_at_first_error it stops like a crashed process would;
  // otherwise it carries on and checks that a failed write poisons every later one.
  void Run(bool stop_at_first_error) {
    stop_ = stop_at_first_error;
    for (size_t i = 0; i < 4 && Go(); ++i) Create(i);
    for (int b = 0; b < 6 && Go(); ++b) {
      // 4 series x 5 samples, spreading over two partitions.
      Batch([&](SampleBatch* batch) {
        for (size_t s = 0; s < 4; ++s) {
          for (int i = 0; i < 5; ++i) Add(batch, s, T(b * 1500 + i * 7));
        }
      });
    }
    if (Go()) Step([&] { return db_->Flush(); }, "flush 1");
    if (Go()) Create(4);
    // Nothing in the heads: this flush only trims the WAL, which holds series 4's creation.
    if (Go()) Step([&] { return db_->Flush(); }, "empty flush");
    if (Go()) {
      Batch([&](SampleBatch* batch) {
        for (int i = 0; i < 8; ++i) Add(batch, 4, T(9000 - i * 30));  // descending
        for (int i = 0; i < 4; ++i) Add(batch, 0, T(i * 7));           // overwrites flushed data
      });
    }
    if (Go()) {
      Batch([&](SampleBatch* batch) {
        for (int i = 0; i < 6; ++i) Add(batch, 0, T(3 + i * 11));  // out of order, into a flushed partition
        Add(batch, 3, T(1500));                                   // overwrite
        Add(batch, 3, T(1500));                                   // and again in the same batch
        Add(batch, 1, T(-3600));                                  // an older partition
      });
    }
    if (Go()) Step([&] { return db_->Flush(); }, "flush 2");
    if (Go()) Step([&] { return db_->Compact(); }, "compact 1");
    for (int b = 0; b < 3 && Go(); ++b) {
      Batch([&](SampleBatch* batch) {
        for (size_t s = 0; s < 5; ++s) Add(batch, s, T(b * 2000 + 14));  // overwrites compacted data
        Add(batch, 2, T(15000 + b));                                       // a new partition
      });
    }
    if (Go()) Step([&] { return db_->Flush(); }, "flush 3");
    if (Go()) Step([&] { return db_->Compact(); }, "compact 2");
    for (int b = 0; b < 2 && Go(); ++b) {
      Batch([&](SampleBatch* batch) {
        for (size_t s = 0; s < 5; ++s) Add(batch, s, T(7 + b));  // left in the WAL only
      });
    }
  }

  const std::vector<SeriesId>& ids() const { return ids_; }
  // After a failed fsync nothing may be acknowledged again (the default); after a full
  // disk, writing resumes once space is back.
  void AllowRecoveryAfterFailure() { failures_are_sticky_ = false; }

 private:
  bool Go() const { return !(stop_ && failed_); }
  bool failures_are_sticky_ = true;

  // Runs a flush or compaction. Failing is allowed; it must say what failed.
  template <typename Op>
  void Step(Op op, const char* what) {
    const Counts before = Now();
    Status s = op();
    spans_.push_back({before, Now(), s, what});
    if (s.ok()) return;
    failed_ = true;
    EXPECT_FALSE(s.message().empty()) << what;
  }

  void Create(size_t i) {
    if (ids_.size() <= i) ids_.resize(i + 1, SeriesId{});
    auto r = db_->GetOrCreateSeries(kSeries[i].key, kSeries[i].type);
    if (r.ok()) {
      ids_[i] = *r;
      model_->SeriesCreated(kSeries[i].key, *r, kSeries[i].type, true);
      EXPECT_FALSE(failures_are_sticky_ && write_failed_) << "series created after a failed write";
    } else {
      failed_ = true;
      write_failed_ = true;
    }
  }

  void Add(SampleBatch* batch, size_t series, Timestamp ts) {
    if (series >= ids_.size() || ids_[series] == SeriesId{}) return;  // its creation failed
    ++seed_;
    batch->Add(ids_[series], ts, MakeValue(kSeries[series].type, seed_),
               seed_ % 5 == 0 ? core::Quality::BadSensorFailure() : core::Quality::Good());
  }

  template <typename Fill>
  void Batch(Fill fill) {
    SampleBatch batch;
    fill(&batch);
    if (batch.empty()) return;
    const Counts before = Now();
    Status s = db_->Write(batch);
    spans_.push_back({before, Now(), s, "write"});
    model_->BatchWritten(batch, s.ok());
    if (s.ok()) {
      EXPECT_FALSE(failures_are_sticky_ && write_failed_) << "a write was acknowledged after an earlier write failed";
    } else {
      failed_ = true;
      write_failed_ = true;
    }
  }

 public:
  struct Counts {
    uint64_t syncs = 0, appends = 0;
  };
  // FaultEnv counts around each write, flush and compaction, and its result.
  struct Span {
    Counts before, after;
    Status status;
    const char* what;
  };
  const std::vector<Span>& spans() const { return spans_; }

 private:
  Counts Now() const { return {env_->sync_count(), env_->write_count()}; }

  std::vector<Span> spans_;
  Storage* const db_;
  RecoveryModel* const model_;
  core::FaultEnv* const env_;
  std::vector<SeriesId> ids_;
  int64_t seed_ = 0;
  bool stop_ = true;
  bool failed_ = false;
  bool write_failed_ = false;
};

class EngineCrashTest : public ::testing::Test {
 protected:
  EngineCrashTest() : clock_(kBase + core::kDay) { spdlog::set_level(spdlog::level::off); }
  ~EngineCrashTest() override { spdlog::set_level(spdlog::level::info); }

  void Fresh() {
    db_.reset();
    fault_.reset();
    mem_ = core::NewMemEnv();
    fault_ = std::make_unique<core::FaultEnv>(mem_.get());
    model_ = RecoveryModel();
  }

  Options MakeOptions() {
    Options o;
    o.env = fault_.get();
    o.clock = &clock_;
    o.dir = "/db";
    o.durability.mode = DurabilityPolicy::Mode::kAlways;
    o.background_maintenance = false;
    o.wal_segment_bytes = 1024;  // several segments, rotated inside writes too
    return o;
  }

  Status OpenDb() {
    db_.reset();
    auto r = Storage::Open(MakeOptions());
    if (!r.ok()) return r.status();
    db_ = std::move(r).value();
    return Status::OK();
  }

  // Opens the engine (a failure is the crash), runs the workload, and stops like a process.
  void RunCrashing(bool stop_at_first_error = true) {
    if (!OpenDb().ok()) return;
    Workload w(db_.get(), &model_, fault_.get());
    w.Run(stop_at_first_error);
    db_.reset();
  }

  // Power loss, then a clean reopen that must succeed and hold everything acknowledged;
  // then the recovered engine must take new writes, flush, and keep it all over a reopen.
  void PowerLossAndVerify(const std::string& where) {
    db_.reset();
    ASSERT_TRUE(fault_->DropUnsyncedData().ok());
    fault_->ClearFaults();
    Status s = OpenDb();
    ASSERT_TRUE(s.ok()) << where << ": reopen failed: " << s.ToString();
    ASSERT_EQ(model_.Verify(db_.get(), where), 0);
    ContinueAfterRecovery(where);
  }

  void ContinueAfterRecovery(const std::string& where) {
    SampleBatch batch;
    for (const SeriesSpec& spec : kSeries) {
      auto id = db_->GetOrCreateSeries(spec.key, spec.type);
      ASSERT_TRUE(id.ok()) << where << ": " << id.status().ToString();
      model_.SeriesCreated(spec.key, *id, spec.type, true);
      batch.Add(*id, T(50'000), MakeValue(spec.type, 999'999));
      batch.Add(*id, T(13), MakeValue(spec.type, 888'888));
    }
    Status s = db_->Write(batch);
    ASSERT_TRUE(s.ok()) << where << ": write after recovery: " << s.ToString();
    model_.BatchWritten(batch, true);
    s = db_->Flush();
    ASSERT_TRUE(s.ok()) << where << ": flush after recovery: " << s.ToString();
    ASSERT_TRUE(OpenDb().ok()) << where;
    ASSERT_EQ(model_.Verify(db_.get(), where + " (after more writes and a reopen)"), 0);
    db_.reset();
  }

  uint64_t CountWorkload(uint64_t (core::FaultEnv::*counter)() const) {
    Fresh();
    fault_->ResetCounters();
    RunCrashing();
    const uint64_t n = (fault_.get()->*counter)();
    EXPECT_GT(model_.acked_samples(), 100u);
    return n;
  }

  std::unique_ptr<core::Env> mem_;
  std::unique_ptr<core::FaultEnv> fault_;
  core::SimClock clock_;
  RecoveryModel model_;
  std::unique_ptr<Storage> db_;
};

// Fault points 1..n: every one up to `dense`, then every `stride`th and the last (every
// one with SHOPFLOOR_STRESS).
std::vector<uint64_t> FaultPoints(uint64_t n, uint64_t dense, uint64_t stride) {
  std::vector<uint64_t> points;
  if (Stress()) stride = 1;
  for (uint64_t k = 1; k <= n; k += (k < dense ? 1 : stride)) points.push_back(k);
  if (points.empty() || points.back() != n) points.push_back(n);
  return points;
}

TEST_F(EngineCrashTest, EveryCrashPointKeepsAcknowledgedWrites) {
  const uint64_t n = CountWorkload(&core::FaultEnv::mutation_count);
  ASSERT_GT(n, 50u);
  for (uint64_t k : FaultPoints(n, 400, 7)) {
    Fresh();
    fault_->CrashAfterNthMutation(k);
    RunCrashing();
    PowerLossAndVerify(fmt::format("crash after mutation {} of {}", k, n));
    if (HasFatalFailure() || HasFailure()) return;
  }
}

// A crash during recovery, at every point of it, and again during the recovery from that.
TEST_F(EngineCrashTest, CrashesDuringRecoveryKeepAcknowledgedWrites) {
  const uint64_t n = CountWorkload(&core::FaultEnv::mutation_count);
  const uint64_t stride = Stress() ? 1 : 9;
  for (uint64_t k = 3; k <= n; k += stride) {
    Fresh();
    fault_->CrashAfterNthMutation(k);
    RunCrashing();
    for (uint64_t j = 1; j < 64; ++j) {
      ASSERT_TRUE(fault_->DropUnsyncedData().ok());
      fault_->ClearFaults();
      fault_->CrashAfterNthMutation(j);
      const bool opened = OpenDb().ok();
      const bool crashed = fault_->crashed();
      db_.reset();
      if (opened && !crashed) break;
    }
    PowerLossAndVerify(fmt::format("crash after mutation {} of {}, then crashes in recovery", k, n));
    if (HasFatalFailure() || HasFailure()) return;
  }
}

// A failed fsync at every sync of the workload: the write it belonged to fails, no later
// write is acknowledged (the WAL's error is sticky), and after a power loss everything
// acknowledged is there.
TEST_F(EngineCrashTest, FailedSyncAtEveryPoint) {
  const uint64_t n = CountWorkload(&core::FaultEnv::sync_count);
  ASSERT_GT(n, 20u);
  for (uint64_t k = 1; k <= n; ++k) {
    Fresh();
    ASSERT_TRUE(OpenDb().ok());
    fault_->ResetCounters();
    fault_->FailNthSync(k, Status::IOError("injected fsync failure", "/db"));
    Workload w(db_.get(), &model_, fault_.get());
    w.Run(/*stop_at_first_error=*/false);
    for (const auto& span : w.spans()) {
      if (span.before.syncs < k && k <= span.after.syncs) {
        EXPECT_FALSE(span.status.ok()) << span.what << " succeeded although its fsync " << k << " failed";
      }
    }
    PowerLossAndVerify(fmt::format("fsync {} of {} failed", k, n));
    if (HasFatalFailure() || HasFailure()) return;
  }
}

// The disk fills up at every append of the workload: the error is a clear kNoSpace, and
// after the fault is gone and the engine reopened it accepts writes and lost nothing.
TEST_F(EngineCrashTest, DiskFullAtEveryAppend) {
  const uint64_t n = CountWorkload(&core::FaultEnv::write_count);
  ASSERT_GT(n, 20u);
  for (uint64_t k : FaultPoints(n, 100, 4)) {
    Fresh();
    ASSERT_TRUE(OpenDb().ok());
    fault_->ResetCounters();
    fault_->FailNthWrite(k, Status::NoSpace("injected: no space left on device", "/db"));
    Workload w(db_.get(), &model_, fault_.get());
    w.AllowRecoveryAfterFailure();
    w.Run(/*stop_at_first_error=*/false);
    for (const auto& span : w.spans()) {
      if (span.before.appends < k && k <= span.after.appends) {
        EXPECT_TRUE(span.status.IsNoSpace()) << span.what << ", append " << k << ": " << span.status.ToString();
      }
    }
    PowerLossAndVerify(fmt::format("append {} of {} found the disk full", k, n));
    if (HasFatalFailure() || HasFailure()) return;
  }
}

// A disk that stays full for a while: writes, flushes and compactions fail with kNoSpace;
// once space is back, writes are acknowledged again without a restart, and a power loss
// after that loses nothing acknowledged.
TEST_F(EngineCrashTest, DiskFullForAWhile) {
  Fresh();
  ASSERT_TRUE(OpenDb().ok());
  auto id = db_->GetOrCreateSeries("plant/press-1/pressure", ValueType::kDouble);
  ASSERT_TRUE(id.ok());
  model_.SeriesCreated("plant/press-1/pressure", *id, ValueType::kDouble, true);
  SampleBatch batch;
  for (int i = 0; i < 100; ++i) batch.Add(*id, T(i), 1.5 * i);
  ASSERT_TRUE(db_->Write(batch).ok());
  model_.BatchWritten(batch, true);

  fault_->SetNoSpace(true);
  batch.Clear();
  batch.Add(*id, T(200), 2.0);
  Status s = db_->Write(batch);
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_NE(s.message().find("/db/wal/"), std::string::npos) << s.ToString();
  model_.BatchWritten(batch, false);
  s = db_->Flush();
  EXPECT_FALSE(s.ok());
  batch.Clear();
  batch.Add(*id, T(199), 2.5);
  EXPECT_TRUE(db_->Write(batch).IsNoSpace());  // still full: still a clear error
  model_.BatchWritten(batch, false);
  fault_->SetNoSpace(false);
  // Space is back: the failed write left whole records only, so writing resumes at once.
  batch.Clear();
  batch.Add(*id, T(201), 3.0);
  s = db_->Write(batch);
  ASSERT_TRUE(s.ok()) << s.ToString();
  model_.BatchWritten(batch, true);
  EXPECT_EQ(model_.Verify(db_.get(), "after the disk was freed"), 0);
  ASSERT_TRUE(db_->Flush().ok());

  // Verifies everything acknowledged, then writes, flushes and reopens once more.
  PowerLossAndVerify("power lost after the disk was freed");
}

}  // namespace
}  // namespace shopfloor::storage::testing
