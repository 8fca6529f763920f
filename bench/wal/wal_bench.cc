// wal_bench: measures the WAL on the real file system.
//
//   wal_bench --dir=<scratch dir> [--seconds=2] [--record-bytes=100]
//
// Prints one line per measurement: CRC32C throughput (hardware and table paths), appends/s
// under kNone, kInterval (100 ms) and kAlways with 1 and 8 threads (with the fsync count,
// so the group-commit factor is visible), and replay speed. The scratch dir is emptied.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/env.h"
#include "storage/wal/crc32c.h"
#include "storage/wal/wal.h"

namespace {

using namespace shopfloor;
using Mode = storage::DurabilityPolicy::Mode;
using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

void Die(const core::Status& s) {
  std::fprintf(stderr, "wal_bench: %s\n", s.ToString().c_str());
  std::exit(1);
}

void EmptyDir(core::Env* env, const std::string& dir) {
  auto segments = storage::ListWalSegments(env, dir);
  if (!segments.ok()) Die(segments.status());
  for (uint64_t n : *segments) {
    core::Status s = env->RemoveFile(core::JoinPath(dir, storage::wal_format::SegmentFileName(n)));
    if (!s.ok()) Die(s);
  }
}

void BenchCrc() {
  std::string buf(1 << 20, 'x');
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<char>(i * 131);
  for (bool hw : {true, false}) {
    if (hw && !storage::Crc32cHardwareAccelerated()) continue;
    uint32_t crc = 0;
    const int rounds = hw ? 2000 : 300;
    auto start = SteadyClock::now();
    for (int r = 0; r < rounds; ++r) {
      crc = hw ? storage::Crc32cExtend(crc, buf.data(), buf.size())
               : storage::Crc32cExtendPortable(crc, buf.data(), buf.size());
    }
    double secs = SecondsSince(start);
    std::printf("crc32c %-9s %8.0f MB/s (crc %08x)\n", hw ? "sse4.2" : "portable",
                rounds * (buf.size() / 1e6) / secs, crc);
  }
  std::string small(100, 'y');
  uint32_t crc = 0;
  auto start = SteadyClock::now();
  const int n = 2'000'000;
  for (int i = 0; i < n; ++i) crc = storage::Crc32cExtend(crc, small.data(), small.size());
  std::printf("crc32c 100-byte calls %8.1f M/s (crc %08x)\n", n / SecondsSince(start) / 1e6, crc);
}

void BenchAppends(core::Env* env, const std::string& dir, const char* label, Mode mode, int threads,
                  double seconds, size_t record_bytes) {
  EmptyDir(env, dir);
  storage::WalOptions options;
  options.env = env;
  options.clock = core::Clock::System();
  options.dir = dir;
  options.durability.mode = mode;
  options.durability.interval = 100 * core::kMillisecond;
  auto wal = storage::Wal::Open(options);
  if (!wal.ok()) Die(wal.status());
  const std::string payload(record_bytes, 'r');
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> appends{0};
  std::vector<std::thread> workers;
  auto start = SteadyClock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      uint64_t mine = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        // Check the time in batches so the clock does not dominate kNone.
        for (int i = 0; i < 64; ++i) {
          auto r = (*wal)->Append(payload);
          if (!r.ok()) Die(r.status());
          ++mine;
        }
      }
      appends += mine;
    });
  }
  while (SecondsSince(start) < seconds) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stop = true;
  for (auto& w : workers) w.join();
  double secs = SecondsSince(start);
  const uint64_t syncs = (*wal)->syncs();
  core::Status s = (*wal)->Close();
  if (!s.ok()) Die(s);
  std::printf("append %-10s %d thread%s %10.0f appends/s  %7.1f MB/s  fsyncs %llu (%.1f appends per fsync)\n",
              label, threads, threads == 1 ? " " : "s", appends / secs, appends * (record_bytes + 7) / secs / 1e6,
              static_cast<unsigned long long>(syncs), syncs ? static_cast<double>(appends) / syncs : 0.0);
}

void BenchReplay(core::Env* env, const std::string& dir, size_t record_bytes) {
  EmptyDir(env, dir);
  storage::WalOptions options;
  options.env = env;
  options.clock = core::Clock::System();
  options.dir = dir;
  options.durability.mode = Mode::kNone;
  auto wal = storage::Wal::Open(options);
  if (!wal.ok()) Die(wal.status());
  const std::string payload(record_bytes, 'r');
  const int n = 2'000'000;
  for (int i = 0; i < n; ++i) {
    auto r = (*wal)->Append(payload);
    if (!r.ok()) Die(r.status());
  }
  core::Status s = (*wal)->Close();
  if (!s.ok()) Die(s);
  uint64_t bytes = 0;
  auto start = SteadyClock::now();
  storage::WalReplayReport report;
  s = storage::ReplayWal(
      env, dir,
      [&](uint64_t, std::string_view p) {
        bytes += p.size();
        return core::Status::OK();
      },
      &report);
  if (!s.ok()) Die(s);
  double secs = SecondsSince(start);
  std::printf("replay %llu records in %.2f s: %.0f records/s, %.1f MB/s of payload\n",
              static_cast<unsigned long long>(report.records), secs, report.records / secs, bytes / secs / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  double seconds = 2;
  size_t record_bytes = 100;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--dir=", 6) == 0) {
      dir = argv[i] + 6;
    } else if (std::strncmp(argv[i], "--seconds=", 10) == 0) {
      seconds = std::atof(argv[i] + 10);
    } else if (std::strncmp(argv[i], "--record-bytes=", 15) == 0) {
      record_bytes = std::strtoull(argv[i] + 15, nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: wal_bench --dir=<scratch dir> [--seconds=2] [--record-bytes=100]\n");
      return 2;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr, "wal_bench: --dir is required\n");
    return 2;
  }
  core::Env* env = core::Env::Posix();
  core::Status s = env->CreateDirs(dir);
  if (!s.ok()) Die(s);

  BenchCrc();
  BenchAppends(env, dir, "none", Mode::kNone, 1, seconds, record_bytes);
  BenchAppends(env, dir, "interval", Mode::kInterval, 1, seconds, record_bytes);
  BenchAppends(env, dir, "always", Mode::kAlways, 1, seconds, record_bytes);
  BenchAppends(env, dir, "always", Mode::kAlways, 8, seconds, record_bytes);
  BenchReplay(env, dir, record_bytes);
  EmptyDir(env, dir);
  return 0;
}
