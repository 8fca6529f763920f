// kill -9 on the real file system: a child process writes with durability kAlways (and
// flushes and compacts now and then) and reports each acknowledged batch through a pipe;
// the parent kills it at a random moment, reopens the engine and checks that every
// acknowledged sample is there with its value. The cycles share one directory, so each
// recovery starts from the state the previous recoveries and kills left.
// SHOPFLOOR_STRESS=1 runs 300 cycles instead of 50.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "core/core.h"
#include "storage/storage.h"

namespace shopfloor::storage {
namespace {

using core::kMillisecond;
using core::kSecond;

constexpr Timestamp kBase = 1'699'999'200LL * kSecond;
constexpr int kSeriesCount = 3;
constexpr const char* kKeys[kSeriesCount] = {"plant/kiln/temperature", "plant/kiln/cycles", "plant/kiln/state"};
constexpr ValueType kTypes[kSeriesCount] = {ValueType::kDouble, ValueType::kInt64, ValueType::kString};
constexpr int kBatchRows = 40;  // timestamps per batch, each written to every series

// Cycle c writes timestamps kBase + c days + seq * 10 ms, so cycles never overlap.
Timestamp TsOf(int cycle, uint64_t seq) {
  return kBase + cycle * core::kDay + static_cast<int64_t>(seq) * 10 * kMillisecond;
}
Value ValueOf(int series, Timestamp ts) {
  const int64_t x = ts / kMillisecond;
  switch (kTypes[series]) {
    case ValueType::kDouble: return static_cast<double>(x % 100'003) * 0.5;
    case ValueType::kInt64: return int64_t{x * 31 + series};
    case ValueType::kString: return fmt::format("s{}", x % 977);
    default: return 0.0;
  }
}

// One acknowledged batch: rows [first_seq, first_seq + count) of every series.
struct AckRecord {
  uint64_t first_seq;
  uint64_t count;
};
// Sent once the child has opened the engine and resolved its series.
constexpr uint64_t kReadySeq = UINT64_MAX;

Options MakeOptions(const std::string& dir) {
  Options o;
  o.env = core::Env::Posix();
  o.clock = core::Clock::System();
  o.dir = dir;
  o.durability.mode = DurabilityPolicy::Mode::kAlways;
  o.background_maintenance = false;
  o.wal_segment_bytes = 64 << 10;
  return o;
}

[[noreturn]] void ChildFail(const char* what, const Status& s) {
  std::string msg = fmt::format("kill9 child: {}: {}\n", what, s.ToString());
  (void)!write(2, msg.data(), msg.size());
  _exit(3);
}

// The child: writes until killed. Never returns.
[[noreturn]] void RunChild(const std::string& dir, int cycle, int fd) {
  auto db = Storage::Open(MakeOptions(dir));
  if (!db.ok()) ChildFail("open", db.status());
  SeriesId ids[kSeriesCount];
  for (int s = 0; s < kSeriesCount; ++s) {
    auto id = (*db)->GetOrCreateSeries(kKeys[s], kTypes[s]);
    if (!id.ok()) ChildFail("create series", id.status());
    ids[s] = *id;
  }
  const AckRecord ready{kReadySeq, 0};
  if (write(fd, &ready, sizeof(ready)) != static_cast<ssize_t>(sizeof(ready))) _exit(4);
  std::mt19937_64 rng(static_cast<uint64_t>(cycle) * 7919 + 1);
  uint64_t next_seq = 0;
  for (uint64_t batch_no = 1;; ++batch_no) {
    uint64_t first = next_seq;
    // Every 5th batch rewrites (same values) an earlier stretch, out of order.
    if (batch_no % 5 == 0 && next_seq > kBatchRows) first = rng() % (next_seq - kBatchRows);
    SampleBatch batch;
    for (int row = kBatchRows - 1; row >= 0; --row) {  // descending within the batch
      for (int s = 0; s < kSeriesCount; ++s) {
        const Timestamp ts = TsOf(cycle, first + static_cast<uint64_t>(row));
        batch.Add(ids[s], ts, ValueOf(s, ts));
      }
    }
    Status st = (*db)->Write(batch);
    if (!st.ok()) ChildFail("write", st);
    if (first == next_seq) next_seq += kBatchRows;
    const AckRecord rec{first, kBatchRows};
    if (write(fd, &rec, sizeof(rec)) != static_cast<ssize_t>(sizeof(rec))) _exit(4);
    if (batch_no % 4 == 0) {
      st = (*db)->Flush();
      if (!st.ok()) ChildFail("flush", st);
    }
    if (batch_no % 12 == 0) {
      st = (*db)->Compact();
      if (!st.ok()) ChildFail("compact", st);
    }
  }
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sf_kill9_XXXXXX";
    const char* p = mkdtemp(tmpl);
    path_ = p != nullptr ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Reads AckRecords from fd until the deadline (time_point::max(): until EOF), or until the
// child says it is ready when stop_when_ready is set.
void ReadAcks(int fd, std::chrono::steady_clock::time_point deadline, bool stop_when_ready,
              std::vector<AckRecord>* acks, std::string* partial) {
  char buf[4096];
  for (;;) {
    int timeout_ms = -1;
    if (deadline != std::chrono::steady_clock::time_point::max()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      timeout_ms = static_cast<int>(left.count());
    }
    pollfd p{fd, POLLIN, 0};
    const int r = poll(&p, 1, timeout_ms);
    if (r == 0) return;
    if (r < 0) {
      if (errno == EINTR) continue;
      return;
    }
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return;  // EOF: the child is gone
    partial->append(buf, static_cast<size_t>(n));
    size_t used = 0;
    bool ready = false;
    while (partial->size() - used >= sizeof(AckRecord)) {
      AckRecord rec;
      std::memcpy(&rec, partial->data() + used, sizeof(rec));
      if (rec.first_seq == kReadySeq) {
        ready = true;
      } else {
        acks->push_back(rec);
      }
      used += sizeof(rec);
    }
    partial->erase(0, used);
    if (ready && stop_when_ready) return;
  }
}

// Checks the samples of `cycle`: every acknowledged row is there, and every row read has
// the value its timestamp determines. Returns the number of acknowledged rows.
uint64_t VerifyCycle(Storage* db, int cycle, const std::vector<AckRecord>& acks) {
  std::vector<bool> acked;
  for (const AckRecord& a : acks) {
    if (acked.size() < a.first_seq + a.count) acked.resize(a.first_seq + a.count, false);
    for (uint64_t s = a.first_seq; s < a.first_seq + a.count; ++s) acked[s] = true;
  }
  uint64_t acked_rows = 0;
  for (bool b : acked) acked_rows += b ? 1 : 0;
  for (int series = 0; series < kSeriesCount; ++series) {
    auto info = db->FindSeries(kKeys[series]);
    if (!info.ok()) {
      EXPECT_EQ(acked_rows, 0u) << "cycle " << cycle << ": series " << kKeys[series] << " is gone";
      continue;
    }
    auto it = db->ReadRaw(info->id, TsOf(cycle, 0), TsOf(cycle + 1, 0) - core::kDay / 2);
    if (!it.ok()) {
      ADD_FAILURE() << "cycle " << cycle << ": ReadRaw: " << it.status().ToString();
      continue;
    }
    std::vector<bool> seen(acked.size(), false);
    Sample s;
    int bad = 0;
    while ((*it)->Next(&s)) {
      const int64_t offset = s.ts - TsOf(cycle, 0);
      const bool on_grid = offset % (10 * kMillisecond) == 0;
      if (!on_grid || !s.value.IdenticalTo(ValueOf(series, s.ts))) {
        if (++bad <= 5) ADD_FAILURE() << "cycle " << cycle << " " << kKeys[series] << " @" << s.ts << " reads " << s.value.ToString();
        continue;
      }
      const auto seq = static_cast<uint64_t>(offset / (10 * kMillisecond));
      if (seq < seen.size()) seen[seq] = true;
    }
    EXPECT_TRUE((*it)->status().ok()) << (*it)->status().ToString();
    uint64_t missing = 0, first_missing = 0;
    for (uint64_t q = 0; q < acked.size(); ++q) {
      if (acked[q] && !seen[q] && missing++ == 0) first_missing = q;
    }
    EXPECT_EQ(missing, 0u) << "cycle " << cycle << " " << kKeys[series] << ": " << missing
                           << " acknowledged rows missing, first seq " << first_missing;
  }
  return acked_rows;
}

TEST(EngineKill9Test, AcknowledgedWritesSurviveKill9) {
  const char* stress = std::getenv("SHOPFLOOR_STRESS");
  const int cycles = (stress != nullptr && *stress != '\0' && std::string(stress) != "0") ? 300 : 50;
  spdlog::set_level(spdlog::level::warn);
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string db_dir = dir.path() + "/db";
  std::mt19937 rng(20240611);
  std::map<int, std::vector<AckRecord>> acks_by_cycle;
  uint64_t total_rows = 0;
  int killed_busy = 0;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      RunChild(db_dir, cycle, fds[1]);
    }
    close(fds[1]);
    std::vector<AckRecord>& acks = acks_by_cycle[cycle];
    std::string partial;
    // Every 4th kill counts from the fork, so it may land in the child's recovery; the
    // others count from when the child starts writing.
    if (cycle % 4 != 0) {
      ReadAcks(fds[0], std::chrono::steady_clock::now() + std::chrono::seconds(10), true, &acks, &partial);
    }
    const int delay_ms = 3 + static_cast<int>(rng() % 98);
    ReadAcks(fds[0], std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms), false, &acks, &partial);
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ReadAcks(fds[0], std::chrono::steady_clock::time_point::max(), false, &acks, &partial);
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "cycle " << cycle << ": the child ended on its own (status " << status << "), see its stderr";
    killed_busy += acks.empty() ? 0 : 1;

    auto db = Storage::Open(MakeOptions(db_dir));
    ASSERT_TRUE(db.ok()) << "cycle " << cycle << ": reopen after kill -9: " << db.status().ToString();
    total_rows += VerifyCycle(db->get(), cycle, acks);
    EXPECT_EQ((*db)->stats().corruptions, 0u) << "cycle " << cycle;
    if (cycle + 1 == cycles) {  // the end: everything from every cycle is still there
      for (const auto& [c, list] : acks_by_cycle) VerifyCycle(db->get(), c, list);
    }
    if (::testing::Test::HasFailure()) return;
  }
  // Most kills must land while the child was writing, or the test proves little.
  EXPECT_GT(killed_busy, cycles / 2);
  EXPECT_GT(total_rows, static_cast<uint64_t>(cycles) * kBatchRows);
  std::printf("kill9: %d cycles, %d killed mid-write, %llu acknowledged rows x %d series verified\n", cycles,
              killed_busy, static_cast<unsigned long long>(total_rows), kSeriesCount);
}

}  // namespace
}  // namespace shopfloor::storage
