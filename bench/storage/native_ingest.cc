// native_ingest: ingest rate of the storage engine through its C++ API (no HTTP), with 1
// and 2 writer threads, on the factory dataset; then reads a sample back exactly.
//
//   native_ingest --dir DIR [--size smoke|full] [--series N --duration-s S]
//                 [--threads 1,2] [--batch 5000] [--out results.jsonl]
//
// Each thread count runs on a fresh engine in DIR/threads-<n> (removed afterwards) with the
// durability policy interval=100ms, as `shopfloor serve --durability interval=100`.
// Writer k of n writes machines k, k+n, ... so writers never share a series.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "bench/storage/factory_dataset.h"
#include "bench/storage/results.h"
#include "storage/storage.h"

namespace shopfloor::bench {
namespace {

using core::Result;
using core::Status;

struct Flags {
  std::string dir;
  std::string size = "smoke";
  int series = 0;
  int64_t duration_s = 0;
  std::vector<int> threads = {1, 2};
  int batch = 5000;
  std::string out = "-";
};

Result<int64_t> ToInt(const std::string& key, const std::string& text, int64_t min, int64_t max) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v < min || v > max) {
    return Status::InvalidArgument(fmt::format("--{} must be an integer in [{}, {}], got '{}'", key, min, max, text));
  }
  return v;
}

Result<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || i + 1 >= argc) return Status::InvalidArgument("expected --flag value, got '" + arg + "'");
    std::string key = arg.substr(2), value = argv[++i];
    if (key == "dir") {
      f.dir = value;
    } else if (key == "size") {
      if (value != "smoke" && value != "full") return Status::InvalidArgument("--size must be smoke or full");
      f.size = value;
    } else if (key == "series") {
      SF_ASSIGN_OR_RETURN(int64_t v, ToInt(key, value, 10, 10'000'000));
      f.series = static_cast<int>(v);
    } else if (key == "duration-s") {
      SF_ASSIGN_OR_RETURN(f.duration_s, ToInt(key, value, 1, 366 * 86400));
    } else if (key == "batch") {
      SF_ASSIGN_OR_RETURN(int64_t v, ToInt(key, value, 1, 10'000'000));
      f.batch = static_cast<int>(v);
    } else if (key == "threads") {
      f.threads.clear();
      for (size_t pos = 0; pos <= value.size();) {
        size_t comma = std::min(value.find(',', pos), value.size());
        SF_ASSIGN_OR_RETURN(int64_t n, ToInt(key, value.substr(pos, comma - pos), 1, 64));
        f.threads.push_back(static_cast<int>(n));
        pos = comma + 1;
      }
    } else if (key == "out") {
      f.out = value;
    } else {
      return Status::InvalidArgument("unknown flag --" + key);
    }
  }
  if (f.dir.empty()) return Status::InvalidArgument("--dir is required");
  return f;
}

std::string KeyOf(const SeriesGroup& g, size_t field) {
  std::string key = g.measurement;
  for (const auto& [k, v] : g.tags) key += "," + k + "=" + v;
  return key + "/" + g.fields[field];
}

// Loads the dataset into a fresh engine with `threads` writers; returns points/s.
Result<double> RunOnce(const Flags& f, const FactoryDataset& ds, int threads, const std::string& dir) {
  storage::Options options;
  options.env = core::Env::Posix();
  options.clock = core::Clock::System();
  options.dir = dir;
  SF_ASSIGN_OR_RETURN(options.durability, storage::DurabilityPolicy::Parse("interval=100"));
  SF_ASSIGN_OR_RETURN(std::unique_ptr<storage::Storage> db, storage::Storage::Open(options));

  const auto& groups = ds.groups();
  std::vector<std::vector<core::SeriesId>> ids(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    for (size_t field = 0; field < groups[g].fields.size(); ++field) {
      SF_ASSIGN_OR_RETURN(core::SeriesId id, db->GetOrCreateSeries(KeyOf(groups[g], field), groups[g].types[field]));
      ids[g].push_back(id);
    }
  }

  std::mutex error_mu;
  Status first_error;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> writers;
  for (int w = 0; w < threads; ++w) {
    writers.emplace_back([&, w] {
      Record record;
      core::SampleBatch batch;
      auto flush = [&]() -> bool {
        Status s = db->Write(batch);
        batch.Clear();
        if (s.ok()) return true;
        std::lock_guard lock(error_mu);
        if (first_error.ok()) first_error = std::move(s);
        return false;
      };
      for (int64_t second = 0; second < ds.seconds(); ++second) {
        for (int machine = w; machine < ds.machines(); machine += threads) {
          ds.RecordAt(machine, second, &record);
          for (size_t field = 0; field < record.values.size(); ++field) {
            batch.Add(ids[machine][field], record.ts, record.values[field]);
          }
          if (static_cast<int>(batch.size()) >= f.batch && !flush()) return;
        }
      }
      if (!batch.empty()) flush();
    });
  }
  for (auto& t : writers) t.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  SF_RETURN_IF_ERROR(first_error);

  // Read back the first and the last machine over the whole range, bit for bit.
  uint64_t checked = 0;
  for (int g : {0, static_cast<int>(groups.size()) - 1}) {
    for (size_t field = 0; field < groups[g].fields.size(); ++field) {
      auto expected = ds.Expected(SeriesRef{g, static_cast<int>(field)}, ds.first_ts(), ds.last_ts() + 1);
      SF_ASSIGN_OR_RETURN(auto it, db->ReadRaw(ids[g][field], ds.first_ts(), ds.last_ts() + 1));
      core::Sample sample;
      size_t i = 0;
      while (it->Next(&sample)) {
        if (i >= expected.size() || sample.ts != expected[i].ts || !sample.value.IdenticalTo(expected[i].value)) {
          return Status::Corruption(fmt::format("{}: point #{} does not read back as written", KeyOf(groups[g], field), i),
                                    dir, 0);
        }
        ++i;
      }
      SF_RETURN_IF_ERROR(it->status());
      if (i != expected.size()) {
        return Status::Corruption(fmt::format("{}: read {} points, wrote {}", KeyOf(groups[g], field), i, expected.size()),
                                  dir, 0);
      }
      checked += i;
    }
  }
  std::fprintf(stderr, "[native, %d writer%s] %llu points in %.2f s: %.0f points/s; %llu points read back exactly\n",
               threads, threads == 1 ? "" : "s", static_cast<unsigned long long>(ds.points()), elapsed,
               static_cast<double>(ds.points()) / elapsed, static_cast<unsigned long long>(checked));
  return static_cast<double>(ds.points()) / elapsed;
}

int Main(int argc, char** argv) {
  auto flags = ParseFlags(argc, argv);
  if (!flags.ok()) {
    std::fprintf(stderr, "native_ingest: %s\n", flags.status().ToString().c_str());
    return 2;
  }
  const Flags& f = *flags;
  bool full = f.size == "full";
  int series = f.series > 0 ? f.series : (full ? 1000 : 20);
  int64_t seconds = f.duration_s > 0 ? f.duration_s : (full ? 86'400 : 600);
  auto ds = FactoryDataset::Create(series, seconds * core::kSecond);
  if (!ds.ok()) {
    std::fprintf(stderr, "native_ingest: %s\n", ds.status().ToString().c_str());
    return 2;
  }
  ResultWriter results(f.out);
  for (int threads : f.threads) {
    std::string dir = core::JoinPath(f.dir, fmt::format("threads-{}", threads));
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    auto rate = RunOnce(f, **ds, threads, dir);
    std::filesystem::remove_all(dir, ec);
    Status s = rate.status();
    if (s.ok()) {
      s = results.Add(fmt::format("ingest via C++ API ({} writer thread{}, {}-sample batches)", threads,
                                  threads == 1 ? "" : "s", f.batch),
                      "Shopfloor engine", (*ds)->label(), "throughput", *rate, "points/s");
    }
    if (!s.ok()) {
      std::fprintf(stderr, "native_ingest (%d threads): %s\n", threads, s.ToString().c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace shopfloor::bench

int main(int argc, char** argv) { return shopfloor::bench::Main(argc, argv); }
