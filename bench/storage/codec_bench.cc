// codec_bench: compression and speed of the chunk codecs on the real data sets.
//
//   codec_bench [--data=<dir holding float-samples/, nab/, skab/, cmapss/, cwru/>]
//               [--chunk=1024] [--repeat=20]
//
// Every series is cut into chunks of --chunk points with 1 s timestamps and encoded twice:
// by EncodeChunk (system "shopfloor") and with the reference Gorilla codecs forced (system
// "gorilla": Gorilla XOR values, Gorilla delta-of-delta timestamps, same header).
// Prints JSON lines, one per figure:
//   bits_per_value   value column bits / values (what float papers report)
//   bits_per_sample  whole chunk (header, timestamps, values, checksum) bits / samples
// and, over all data, encode/decode throughput of whole chunks and of the ALP and
// timestamp decoders alone (values per second of thread CPU time, i.e. per core).
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "storage/codec/alp_codec.h"
#include "storage/codec/chunk.h"
#include "storage/codec/timestamp_codec.h"

namespace {

namespace fs = std::filesystem;
using shopfloor::storage::ChunkColumns;
using shopfloor::storage::ChunkEncodeOptions;
using shopfloor::storage::ChunkHeader;
using shopfloor::storage::ColumnCodec;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStart = 1'767'225'600LL * kSecond;  // 2026-01-01T00:00:00Z

struct Dataset {
  std::string name;
  std::vector<std::vector<double>> series;
};

std::vector<std::string> Split(const std::string& line, char sep) {
  std::vector<std::string> fields;
  if (sep == ' ') {
    std::istringstream in(line);
    std::string f;
    while (in >> f) fields.push_back(f);
  } else {
    std::stringstream in(line);
    std::string f;
    while (std::getline(in, f, sep)) fields.push_back(f);
  }
  return fields;
}

// Numeric columns [first_column, ...) of a delimited text file, one vector per column.
std::vector<std::vector<double>> ReadColumns(const fs::path& path, char sep, size_t first_column, bool header,
                                             const std::vector<std::string>& skip_names = {}) {
  std::ifstream in(path);
  std::string line;
  std::vector<bool> skip;
  if (header && std::getline(in, line)) {
    for (const std::string& name : Split(line, sep)) {
      skip.push_back(std::find(skip_names.begin(), skip_names.end(), name) != skip_names.end());
    }
  }
  std::vector<std::vector<double>> columns;
  while (std::getline(in, line)) {
    std::vector<std::string> fields = Split(line, sep);
    if (fields.size() <= first_column) continue;
    if (columns.size() < fields.size() - first_column) columns.resize(fields.size() - first_column);
    for (size_t c = first_column; c < fields.size(); ++c) {
      if (c < skip.size() && skip[c]) continue;
      columns[c - first_column].push_back(std::strtod(fields[c].c_str(), nullptr));
    }
  }
  columns.erase(std::remove_if(columns.begin(), columns.end(), [](const auto& c) { return c.empty(); }),
                columns.end());
  return columns;
}

std::vector<fs::path> Files(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ext) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<Dataset> LoadAll(const fs::path& root) {
  std::vector<Dataset> out;
  for (const fs::path& f : Files(root / "float-samples", ".csv")) {
    if (f.stem() == "bits_per_value_double") continue;
    out.push_back({"float-samples/" + f.stem().string(), ReadColumns(f, ',', 0, false)});
  }
  for (const fs::path& f : Files(root / "nab/data/realKnownCause", ".csv")) {
    out.push_back({"nab/" + f.stem().string(), ReadColumns(f, ',', 1, true)});
  }
  Dataset skab{"skab", {}};
  std::vector<fs::path> skab_files = Files(root / "skab/anomaly-free", ".csv");
  for (const fs::path& f : Files(root / "skab/valve1", ".csv")) skab_files.push_back(f);
  for (const fs::path& f : skab_files) {
    for (auto& column : ReadColumns(f, ';', 1, true, {"anomaly", "changepoint"})) skab.series.push_back(column);
  }
  out.push_back(std::move(skab));
  for (const char* file : {"train_FD001.txt", "train_FD002.txt"}) {
    // Columns 6..26 are the 21 sensors; each column runs across all units of the file.
    Dataset d{std::string("cmapss/") + fs::path(file).stem().string(), ReadColumns(root / "cmapss" / file, ' ', 5, false)};
    out.push_back(std::move(d));
  }
  Dataset cwru{"cwru", {}};
  for (const fs::path& f : Files(root / "cwru", ".f32")) {
    std::ifstream in(f, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<float> samples(bytes.size() / 4);
    std::memcpy(samples.data(), bytes.data(), samples.size() * 4);
    cwru.series.emplace_back(samples.begin(), samples.end());
  }
  out.push_back(std::move(cwru));
  out.erase(std::remove_if(out.begin(), out.end(), [](const Dataset& d) { return d.series.empty(); }), out.end());
  return out;
}

void Emit(const char* benchmark, const char* system, const std::string& dataset, const char* metric, double value,
          const char* unit) {
  std::printf("{\"benchmark\":\"%s\",\"system\":\"%s\",\"dataset\":\"%s\",\"metric\":\"%s\",\"value\":%.6g,\"unit\":\"%s\"}\n",
              benchmark, system, dataset.c_str(), metric, value, unit);
}

struct Encoded {
  std::vector<std::string> chunks;
  uint64_t values = 0, value_bytes = 0, chunk_bytes = 0;
  double encode_seconds = 0;
};

// Thread CPU time: the figures are per core even while other work shares the machine.
double CpuNow() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

Encoded EncodeDataset(const Dataset& d, size_t chunk_size, const ChunkEncodeOptions& options) {
  Encoded e;
  ChunkColumns c;
  c.type = shopfloor::core::ValueType::kDouble;
  for (const auto& series : d.series) {
    for (size_t start = 0; start < series.size(); start += chunk_size) {
      size_t n = std::min(chunk_size, series.size() - start);
      c.f64.assign(series.begin() + static_cast<long>(start), series.begin() + static_cast<long>(start + n));
      c.ts.resize(n);
      for (size_t i = 0; i < n; ++i) c.ts[i] = kStart + static_cast<int64_t>(start + i) * kSecond;
      std::string out;
      double t0 = CpuNow();
      shopfloor::storage::EncodeChunk(c, options, &out);
      e.encode_seconds += (CpuNow() - t0);
      ChunkHeader h;
      if (!shopfloor::storage::ReadChunkHeader(out, &h).ok()) std::abort();
      e.values += n;
      e.value_bytes += h.value_bytes;
      e.chunk_bytes += out.size();
      e.chunks.push_back(std::move(out));
    }
  }
  return e;
}

// Decodes every chunk `repeat` times; verifies the first pass against the input.
double DecodeSeconds(const Encoded& e, int repeat) {
  ChunkColumns out;
  double t0 = CpuNow();
  for (int r = 0; r < repeat; ++r) {
    for (const std::string& chunk : e.chunks) {
      if (!shopfloor::storage::DecodeChunk(chunk, &out).ok()) {
        std::fprintf(stderr, "decode failed\n");
        std::exit(1);
      }
    }
  }
  return (CpuNow() - t0);
}

bool VerifyExact(const Dataset& d, const Encoded& e, size_t chunk_size) {
  ChunkColumns out;
  size_t chunk_index = 0;
  for (const auto& series : d.series) {
    for (size_t start = 0; start < series.size(); start += chunk_size) {
      if (!shopfloor::storage::DecodeChunk(e.chunks[chunk_index++], &out).ok()) return false;
      size_t n = std::min(chunk_size, series.size() - start);
      if (out.f64.size() != n || std::memcmp(out.f64.data(), series.data() + start, n * sizeof(double)) != 0) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path root = fs::path(SHOPFLOOR_SOURCE_DIR) / ".." / "shared" / "data";
  if (const char* env = std::getenv("SHOPFLOOR_SHARED_DATA")) root = env;
  size_t chunk_size = 1024;
  int repeat = 20;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--data=", 7) == 0) root = argv[i] + 7;
    if (std::strncmp(argv[i], "--chunk=", 8) == 0) chunk_size = std::strtoul(argv[i] + 8, nullptr, 10);
    if (std::strncmp(argv[i], "--repeat=", 9) == 0) repeat = std::atoi(argv[i] + 9);
  }
  if (chunk_size == 0 || chunk_size > shopfloor::storage::kMaxChunkSamples) {
    std::fprintf(stderr, "--chunk must be in 1..%llu\n",
                 static_cast<unsigned long long>(shopfloor::storage::kMaxChunkSamples));
    return 2;
  }
  std::vector<Dataset> datasets = LoadAll(root);
  if (datasets.empty()) {
    std::fprintf(stderr, "no data sets under %s\n", root.string().c_str());
    return 1;
  }

  ChunkEncodeOptions gorilla_options;
  gorilla_options.double_codec = ColumnCodec::kGorilla;
  gorilla_options.ts_codec = ColumnCodec::kTsGorilla;
  struct Totals {
    uint64_t values = 0, value_bytes = 0, chunk_bytes = 0;
    double encode_seconds = 0, decode_seconds = 0;
  };
  std::map<std::string, Totals> totals;
  for (const Dataset& d : datasets) {
    for (const char* system : {"shopfloor", "gorilla"}) {
      bool ours = std::strcmp(system, "shopfloor") == 0;
      Encoded e = EncodeDataset(d, chunk_size, ours ? ChunkEncodeOptions{} : gorilla_options);
      if (!VerifyExact(d, e, chunk_size)) {
        std::fprintf(stderr, "%s: %s round trip is not exact\n", d.name.c_str(), system);
        return 1;
      }
      double values = static_cast<double>(e.values);
      Emit("compression", system, d.name, "bits_per_value", 8.0 * static_cast<double>(e.value_bytes) / values, "bits");
      Emit("compression", system, d.name, "bits_per_sample", 8.0 * static_cast<double>(e.chunk_bytes) / values, "bits");
      Totals& t = totals[system];
      t.values += e.values;
      t.value_bytes += e.value_bytes;
      t.chunk_bytes += e.chunk_bytes;
      t.encode_seconds += e.encode_seconds;
      t.decode_seconds += DecodeSeconds(e, repeat) / repeat;
    }
  }
  for (const auto& [system, t] : totals) {
    double values = static_cast<double>(t.values);
    Emit("compression", system.c_str(), "all", "bits_per_value", 8.0 * static_cast<double>(t.value_bytes) / values, "bits");
    Emit("compression", system.c_str(), "all", "bits_per_sample", 8.0 * static_cast<double>(t.chunk_bytes) / values, "bits");
    Emit("codec_speed", system.c_str(), "all", "chunk_encode", values / t.encode_seconds, "samples/s");
    Emit("codec_speed", system.c_str(), "all", "chunk_decode", values / t.decode_seconds, "samples/s");
  }

  // The two hot decoders alone: ALP on the decimal time-series samples, timestamps of a
  // regular 1 s series.
  std::vector<std::string> alp_columns;
  std::vector<size_t> alp_counts;
  uint64_t alp_values = 0;
  for (const Dataset& d : datasets) {
    if (d.name.rfind("float-samples/", 0) != 0 && d.name != "skab" && d.name.rfind("cmapss/", 0) != 0) continue;
    for (const auto& series : d.series) {
      for (size_t start = 0; start < series.size(); start += chunk_size) {
        size_t n = std::min(chunk_size, series.size() - start);
        std::string column;
        size_t exceptions = shopfloor::storage::EncodeAlp({series.data() + start, n}, &column);
        if (exceptions * 20 > n) continue;  // ALP-friendly vectors only (< 5% exceptions)
        alp_columns.push_back(std::move(column));
        alp_counts.push_back(n);
        alp_values += n;
      }
    }
  }
  std::vector<double> decoded(chunk_size);
  double t0 = CpuNow();
  for (int r = 0; r < repeat; ++r) {
    for (size_t i = 0; i < alp_columns.size(); ++i) {
      if (!shopfloor::storage::DecodeAlp(alp_columns[i], alp_counts[i], decoded.data()).ok()) return 1;
    }
  }
  double alp_seconds = (CpuNow() - t0);
  Emit("codec_speed", "shopfloor", "alp-friendly", "alp_decode", static_cast<double>(alp_values) * repeat / alp_seconds,
       "values/s");

  std::vector<int64_t> ts(chunk_size), ts_out(chunk_size);
  for (size_t i = 0; i < chunk_size; ++i) ts[i] = kStart + static_cast<int64_t>(i) * kSecond;
  std::string ts_column;
  shopfloor::storage::EncodeTimestamps(ts, &ts_column);
  const int ts_repeat = repeat * 2000;
  t0 = CpuNow();
  for (int r = 0; r < ts_repeat; ++r) {
    if (!shopfloor::storage::DecodeTimestamps(ts_column, chunk_size, ts[0], ts_out.data()).ok()) return 1;
  }
  double ts_seconds = (CpuNow() - t0);
  if (ts_out != ts) return 1;
  Emit("codec_speed", "shopfloor", "regular-1s", "timestamp_decode",
       static_cast<double>(chunk_size) * ts_repeat / ts_seconds, "values/s");
  Emit("compression", "shopfloor", "regular-1s", "bits_per_timestamp",
       8.0 * static_cast<double>(ts_column.size()) / static_cast<double>(chunk_size), "bits");
  return 0;
}
