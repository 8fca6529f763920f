// lp_loader: feeds a dataset as line protocol over HTTP to InfluxDB or Shopfloor, checks
// that a sample of it reads back exactly, and times the benchmark queries. The same binary
// and the same bytes go to either system; scripts/bench storage drives it.
//
//   lp_loader --system influxdb|shopfloor --port P [--host 127.0.0.1] [--db bench]
//             [--label "InfluxDB 1.6.7"] --dataset factory|real [--size smoke|full]
//             [--series N --duration-s S] [--data-root DIR] [--connections 2]
//             [--batch-lines 5000] [--query-runs 5] [--out results.jsonl]
//             --steps count,load,verify,query
//
// Steps: count prints the dataset's number of points; load posts it and records points/s;
// verify compares a sample of series point by point (timestamps and value bits) and fails
// on any difference; query times the raw, 1-minute-average and latest-value queries and
// checks their answers. Exit status 0 on success, 1 on any error, 2 on bad flags.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "bench/storage/factory_dataset.h"
#include "bench/storage/line_protocol.h"
#include "bench/storage/real_dataset.h"
#include "bench/storage/results.h"
#include "bench/storage/tsdb_client.h"

namespace shopfloor::bench {
namespace {

using core::Result;
using core::Status;
using core::Duration;
using core::Timestamp;

struct Flags {
  std::string system;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string db = "bench";
  std::string label;
  std::string dataset;
  std::string size = "smoke";
  int series = 0;          // factory: 0 = by size
  int64_t duration_s = 0;  // factory: 0 = by size
  std::string data_root = "/work/shared/data";
  int connections = 2;
  int batch_lines = 5000;
  int query_runs = 5;
  std::string out = "-";
  std::set<std::string> steps;
};

Result<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  std::map<std::string, std::string> values;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) return Status::InvalidArgument("unexpected argument '" + arg + "'");
    std::string key = arg.substr(2), value;
    if (auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return Status::InvalidArgument("flag --" + key + " needs a value");
    }
    values[key] = value;
  }
  auto take_int = [&](const std::string& key, int64_t min, int64_t max, auto* out) -> Status {
    auto it = values.find(key);
    if (it == values.end()) return Status::OK();
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    if (ec != std::errc() || ptr != it->second.data() + it->second.size() || v < min || v > max) {
      return Status::InvalidArgument(fmt::format("--{} must be an integer in [{}, {}]", key, min, max));
    }
    *out = static_cast<std::remove_pointer_t<decltype(out)>>(v);
    values.erase(it);
    return Status::OK();
  };
  auto take = [&](const std::string& key, std::string* out) {
    if (auto it = values.find(key); it != values.end()) {
      *out = it->second;
      values.erase(it);
    }
  };
  SF_RETURN_IF_ERROR(take_int("port", 1, 65535, &f.port));
  SF_RETURN_IF_ERROR(take_int("series", 1, 10'000'000, &f.series));
  SF_RETURN_IF_ERROR(take_int("duration-s", 1, 366 * 86400, &f.duration_s));
  SF_RETURN_IF_ERROR(take_int("connections", 1, 64, &f.connections));
  SF_RETURN_IF_ERROR(take_int("batch-lines", 1, 1'000'000, &f.batch_lines));
  SF_RETURN_IF_ERROR(take_int("query-runs", 1, 1000, &f.query_runs));
  take("system", &f.system);
  take("host", &f.host);
  take("db", &f.db);
  take("label", &f.label);
  take("dataset", &f.dataset);
  take("size", &f.size);
  take("data-root", &f.data_root);
  take("out", &f.out);
  std::string steps;
  take("steps", &steps);
  if (!values.empty()) return Status::InvalidArgument("unknown flag --" + values.begin()->first);
  for (size_t pos = 0; pos <= steps.size();) {
    size_t comma = std::min(steps.find(',', pos), steps.size());
    std::string step = steps.substr(pos, comma - pos);
    if (step != "count" && step != "load" && step != "verify" && step != "query") {
      return Status::InvalidArgument("unknown step '" + step + "' (count, load, verify, query)");
    }
    f.steps.insert(step);
    pos = comma + 1;
  }
  if (f.system != "influxdb" && f.system != "shopfloor") return Status::InvalidArgument("--system must be influxdb or shopfloor");
  if (f.dataset != "factory" && f.dataset != "real") return Status::InvalidArgument("--dataset must be factory or real");
  if (f.size != "smoke" && f.size != "full") return Status::InvalidArgument("--size must be smoke or full");
  if (f.port == 0 && (f.steps.size() > 1 || !f.steps.count("count"))) return Status::InvalidArgument("--port is required");
  if (f.label.empty()) f.label = f.system == "influxdb" ? "InfluxDB" : "Shopfloor";
  return f;
}

Result<std::unique_ptr<Dataset>> MakeDataset(const Flags& f) {
  bool full = f.size == "full";
  if (f.dataset == "factory") {
    int series = f.series > 0 ? f.series : (full ? 1000 : 20);
    int64_t seconds = f.duration_s > 0 ? f.duration_s : (full ? 86'400 : 600);
    SF_ASSIGN_OR_RETURN(auto ds, FactoryDataset::Create(series, seconds * core::kSecond));
    return std::unique_ptr<Dataset>(std::move(ds));
  }
  SF_ASSIGN_OR_RETURN(auto ds, RealDataset::Load(f.data_root, full ? RealDataset::Size::kFull : RealDataset::Size::kSmoke));
  return std::unique_ptr<Dataset>(std::move(ds));
}

std::unique_ptr<TsdbClient> MakeClient(const Flags& f) {
  if (f.system == "influxdb") return NewInfluxClient(f.host, f.port, f.db);
  return NewShopfloorClient(f.host, f.port);
}

std::string SpanLabel(Duration span) {
  if (span % core::kDay == 0) return fmt::format("{} d", span / core::kDay);
  if (span % core::kHour == 0) return fmt::format("{} h", span / core::kHour);
  if (span % core::kMinute == 0) return fmt::format("{} min", span / core::kMinute);
  return fmt::format("{} s", span / core::kSecond);
}

std::string FormatValue(const core::Value& v) {
  return fmt::format("{}({})", core::ValueTypeName(v.type()), v.ToString());
}

double Seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A bounded queue of line-protocol batches between the generator and the senders.
class BatchQueue {
 public:
  explicit BatchQueue(size_t capacity) : capacity_(capacity) {}
  // False when the queue was aborted.
  bool Push(std::string batch) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return aborted_ || items_.size() < capacity_; });
    if (aborted_) return false;
    items_.push_back(std::move(batch));
    not_empty_.notify_one();
    return true;
  }
  // False at the end (closed and drained) or when aborted.
  bool Pop(std::string* batch) {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return aborted_ || closed_ || !items_.empty(); });
    if (aborted_ || items_.empty()) return false;
    *batch = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return true;
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }
  void Abort() {
    std::lock_guard lock(mu_);
    aborted_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<std::string> items_;
  size_t capacity_;
  bool closed_ = false;
  bool aborted_ = false;
};

Status Load(const Flags& f, Dataset& ds, ResultWriter& results) {
  BatchQueue queue(static_cast<size_t>(f.connections) * 2);
  std::mutex error_mu;
  Status first_error;
  auto fail = [&](Status s) {
    std::lock_guard lock(error_mu);
    if (first_error.ok()) first_error = std::move(s);
    queue.Abort();
  };
  std::atomic<uint64_t> bytes_sent{0};
  auto start = std::chrono::steady_clock::now();

  std::thread producer([&] {
    LineProtocolWriter writer(ds.groups());
    Record record;
    std::string batch;
    int lines = 0;
    ds.Rewind();
    while (ds.Next(&record)) {
      writer.Append(record, &batch);
      if (++lines == f.batch_lines) {
        if (!queue.Push(std::move(batch))) return;
        batch.clear();
        lines = 0;
      }
    }
    if (lines > 0 && !queue.Push(std::move(batch))) return;
    queue.Close();
  });
  std::vector<std::thread> senders;
  for (int c = 0; c < f.connections; ++c) {
    senders.emplace_back([&] {
      auto client = MakeClient(f);
      std::string batch;
      while (queue.Pop(&batch)) {
        Status s = client->Write(batch);
        if (!s.ok()) return fail(std::move(s));
        bytes_sent += batch.size();
      }
    });
  }
  producer.join();
  for (auto& t : senders) t.join();
  double elapsed = Seconds(std::chrono::steady_clock::now() - start);
  SF_RETURN_IF_ERROR(first_error);

  double rate = static_cast<double>(ds.points()) / elapsed;
  std::fprintf(stderr, "[%s] loaded %llu points (%.1f MB of line protocol) in %.2f s: %.0f points/s\n",
               f.label.c_str(), static_cast<unsigned long long>(ds.points()),
               static_cast<double>(bytes_sent.load()) / 1e6, elapsed, rate);
  return results.Add(fmt::format("ingest over HTTP ({} connections, {}-line batches)", f.connections, f.batch_lines),
                     f.label, ds.label(), "throughput", rate, "points/s");
}

std::string SeriesName(const SeriesGroup& g, int field) {
  std::string name = g.measurement;
  for (const auto& [k, v] : g.tags) name += "," + k + "=" + v;
  return name + "/" + g.fields[field];
}

// Compares what the store returned with what was written; the error names the first
// differences.
Status CompareSamples(const SeriesGroup& g, int field, const std::vector<core::Sample>& expected,
                      const std::vector<core::Sample>& got) {
  std::string problems;
  int shown = 0;
  size_t n = std::max(expected.size(), got.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < n; ++i) {
    bool have_e = i < expected.size(), have_g = i < got.size();
    if (have_e && have_g && expected[i].ts == got[i].ts && expected[i].value.IdenticalTo(got[i].value)) continue;
    ++mismatches;
    if (shown++ < 3) {
      problems += fmt::format("\n  #{}: expected {} got {}", i,
                              have_e ? fmt::format("{} {}", core::FormatTimestamp(expected[i].ts),
                                                   FormatValue(expected[i].value))
                                     : "nothing",
                              have_g ? fmt::format("{} {}", core::FormatTimestamp(got[i].ts), FormatValue(got[i].value))
                                     : "nothing");
    }
  }
  if (mismatches == 0) return Status::OK();
  return Status::Corruption(fmt::format("{}: {} of {} points differ (got {} points){}", SeriesName(g, field),
                                        mismatches, expected.size(), got.size(), problems),
                            "", 0);
}

// The series the verify step reads back: for a factory dataset the first and the last
// machine; for the real dataset the first group of each measurement and about ten more
// spread over the rest.
std::vector<int> SampleGroups(const Dataset& ds) {
  std::set<int> picked;
  const auto& groups = ds.groups();
  int n = static_cast<int>(groups.size());
  std::set<std::string> seen_measurements;
  for (int g = 0; g < n; ++g) {
    if (seen_measurements.insert(groups[g].measurement).second) picked.insert(g);
  }
  picked.insert(n - 1);
  int stride = std::max(1, n / 10);
  for (int g = stride / 2; g < n; g += stride) picked.insert(g);
  return {picked.begin(), picked.end()};
}

Status Verify(const Flags& f, const Dataset& ds, ResultWriter& results) {
  auto client = MakeClient(f);
  Timestamp from = ds.first_ts(), to = ds.last_ts() + 1;
  if (f.dataset == "factory" && f.size == "full") {  // one hour in the middle of the day
    from = ds.first_ts() + 12 * core::kHour;
    to = from + core::kHour;
  }
  uint64_t checked = 0;
  size_t series = 0;
  for (int g : SampleGroups(ds)) {
    const SeriesGroup& group = ds.groups()[g];
    for (int field = 0; field < static_cast<int>(group.fields.size()); ++field) {
      std::vector<core::Sample> expected = ds.Expected(SeriesRef{g, field}, from, to);
      SF_ASSIGN_OR_RETURN(std::vector<core::Sample> got, client->ReadRaw(group, field, from, to));
      SF_RETURN_IF_ERROR(CompareSamples(group, field, expected, got).WithPrefix("read-back check"));
      checked += expected.size();
      ++series;
    }
  }
  std::fprintf(stderr, "[%s] verified %llu points of %zu series: all identical\n", f.label.c_str(),
               static_cast<unsigned long long>(checked), series);
  return results.Add("read-back check (timestamps and value bits)", f.label, ds.label(), "points verified",
                     static_cast<double>(checked), "points");
}

// Runs `query` once (first) and then `runs` times; records first and median latency.
template <typename Fn>
Status TimeQuery(const Flags& f, const Dataset& ds, ResultWriter& results, const std::string& name,
                 TsdbClient& client, Fn query) {
  std::vector<double> latencies;
  for (int run = 0; run <= f.query_runs; ++run) {
    SF_RETURN_IF_ERROR(query(run == 0));
    latencies.push_back(client.last_latency_seconds() * 1e3);
  }
  double first = latencies.front();
  std::vector<double> rest(latencies.begin() + 1, latencies.end());
  std::sort(rest.begin(), rest.end());
  double median = rest.size() % 2 ? rest[rest.size() / 2] : (rest[rest.size() / 2 - 1] + rest[rest.size() / 2]) / 2;
  std::fprintf(stderr, "[%s] %s: first %.2f ms, median of %d %.2f ms\n", f.label.c_str(), name.c_str(), first,
               f.query_runs, median);
  SF_RETURN_IF_ERROR(results.Add(name, f.label, ds.label(), "first run", first, "ms"));
  return results.Add(name, f.label, ds.label(), fmt::format("median of {} runs", f.query_runs), median, "ms");
}

Status Query(const Flags& f, const Dataset& ds, ResultWriter& results) {
  auto client = MakeClient(f);
  const auto& groups = ds.groups();
  Timestamp from = ds.first_ts();
  Timestamp to = std::min(ds.last_ts() + core::kSecond, from + core::kDay);  // factory: 1 s steps
  if (f.dataset == "real") {  // a day of the NAB machine temperature (group 0)
    const auto all = ds.Expected(SeriesRef{0, 0}, std::numeric_limits<Timestamp>::min(),
                                 std::numeric_limits<Timestamp>::max());
    from = all.empty() ? 0 : all.front().ts;
    to = from + core::kDay;
  }
  Duration span = f.dataset == "factory" ? to - from : core::kDay;

  // Raw: one series over (up to) a day, compared exactly on the first run.
  std::vector<core::Sample> expected_raw = ds.Expected(SeriesRef{0, 0}, from, to);
  SF_RETURN_IF_ERROR(TimeQuery(f, ds, results, fmt::format("query: raw, 1 series, {}", SpanLabel(span)), *client,
                               [&](bool check) -> Status {
                                 SF_ASSIGN_OR_RETURN(auto got, client->ReadRaw(groups[0], 0, from, to));
                                 if (check) return CompareSamples(groups[0], 0, expected_raw, got);
                                 return Status::OK();
                               }));

  // 1-minute averages of every numeric series (factory data: every series covers the range).
  if (f.dataset == "factory") {
    size_t numeric = 0;
    for (const auto& g : groups) {
      for (auto t : g.types) numeric += (t == core::ValueType::kDouble || t == core::ValueType::kInt64);
    }
    std::set<Timestamp> minutes;
    for (const auto& s : expected_raw) minutes.insert(s.ts - (s.ts - from) % core::kMinute);
    auto check = [&](const std::vector<std::vector<std::vector<TsdbClient::Window>>>& got) -> Status {
      for (size_t g = 0; g < groups.size(); ++g) {
        for (size_t field = 0; field < groups[g].fields.size(); ++field) {
          auto t = groups[g].types[field];
          bool is_numeric = t == core::ValueType::kDouble || t == core::ValueType::kInt64;
          size_t want = is_numeric ? minutes.size() : 0;
          if (got[g][field].size() != want) {
            return Status::Corruption(fmt::format("1-min avg of {}: {} windows, expected {}",
                                                  SeriesName(groups[g], static_cast<int>(field)),
                                                  got[g][field].size(), want),
                                      "", 0);
          }
        }
      }
      // Means of the first machine, recomputed from the data written.
      for (size_t field = 0; field < groups[0].fields.size(); ++field) {
        if (got[0][field].empty()) continue;
        auto samples = ds.Expected(SeriesRef{0, static_cast<int>(field)}, from, to);
        std::map<Timestamp, std::pair<double, uint64_t>> sums;
        for (const auto& s : samples) {
          double v = 0;
          s.value.ToNumber(&v);
          auto& [sum, count] = sums[s.ts - (s.ts - from) % core::kMinute];
          sum += v;
          ++count;
        }
        for (const auto& w : got[0][field]) {
          auto it = sums.find(w.start);
          double want = it == sums.end() ? std::nan("") : it->second.first / static_cast<double>(it->second.second);
          if (!(std::abs(w.mean - want) <= 1e-9 * std::max(1.0, std::abs(want)))) {
            return Status::Corruption(fmt::format("1-min avg of {} at {}: got {}, expected {}",
                                                  SeriesName(groups[0], static_cast<int>(field)),
                                                  core::FormatTimestamp(w.start), w.mean, want),
                                      "", 0);
          }
        }
      }
      return Status::OK();
    };
    SF_RETURN_IF_ERROR(TimeQuery(f, ds, results,
                                 fmt::format("query: 1-min avg, {} numeric series, {}", numeric, SpanLabel(span)),
                                 *client, [&](bool first) -> Status {
                                   SF_ASSIGN_OR_RETURN(auto got, client->Avg1m(groups, from, to));
                                   return first ? check(got) : Status::OK();
                                 }));
  }

  // Latest value of every series, compared exactly.
  std::vector<std::vector<std::optional<core::Value>>> expected_latest(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    for (size_t field = 0; field < groups[g].fields.size(); ++field) {
      Timestamp last_from = f.dataset == "factory" ? ds.last_ts() : std::numeric_limits<Timestamp>::min();
      auto samples = ds.Expected(SeriesRef{static_cast<int>(g), static_cast<int>(field)}, last_from,
                                 std::numeric_limits<Timestamp>::max());
      expected_latest[g].push_back(samples.empty() ? std::nullopt : std::optional(samples.back().value));
    }
  }
  Status latest = TimeQuery(f, ds, results, fmt::format("query: latest value, {} series", ds.series_count()), *client,
                   [&](bool first) -> Status {
                     SF_ASSIGN_OR_RETURN(auto got, client->Latest(groups));
                     if (!first) return Status::OK();
                     for (size_t g = 0; g < groups.size(); ++g) {
                       for (size_t field = 0; field < groups[g].fields.size(); ++field) {
                         const auto& want = expected_latest[g][field];
                         const auto& have = got[g][field];
                         if (want.has_value() != have.has_value() || (want && !want->IdenticalTo(*have))) {
                           return Status::Corruption(
                               fmt::format("latest of {}: got {}, expected {}",
                                           SeriesName(groups[g], static_cast<int>(field)),
                                           have ? FormatValue(*have) : "nothing", want ? FormatValue(*want) : "nothing"),
                               "", 0);
                         }
                       }
                     }
                     return Status::OK();
                   });
  if (latest.code() == core::StatusCode::kUnimplemented) {  // the system has no such API
    std::fprintf(stderr, "[%s] latest-value query not measured: %s\n", f.label.c_str(), latest.ToString().c_str());
    return Status::OK();
  }
  return latest;
}

int Main(int argc, char** argv) {
  auto flags = ParseFlags(argc, argv);
  if (!flags.ok()) {
    std::fprintf(stderr, "lp_loader: %s\n", flags.status().ToString().c_str());
    return 2;
  }
  const Flags& f = *flags;
  auto dataset = MakeDataset(f);
  if (!dataset.ok()) {
    std::fprintf(stderr, "lp_loader: dataset: %s\n", dataset.status().ToString().c_str());
    return 1;
  }
  Dataset& ds = **dataset;
  if (f.steps.count("count")) std::printf("%llu\n", static_cast<unsigned long long>(ds.points()));
  ResultWriter results(f.out);
  Status s;
  if (f.steps.count("load")) s = Load(f, ds, results);
  if (s.ok() && f.steps.count("verify")) s = Verify(f, ds, results);
  if (s.ok() && f.steps.count("query")) s = Query(f, ds, results);
  if (!s.ok()) {
    std::fprintf(stderr, "lp_loader [%s, %s]: %s\n", f.label.c_str(), ds.label().c_str(), s.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace shopfloor::bench

int main(int argc, char** argv) { return shopfloor::bench::Main(argc, argv); }
