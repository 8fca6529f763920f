#include "storage/codec/chunk.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codec_test_util.h"

namespace shopfloor::storage {
namespace {

using core::ValueType;
using testing::BitwiseEqual;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kBase = 1'700'000'000LL * kSecond;

std::vector<int64_t> RegularTimestamps(size_t n) {
  std::vector<int64_t> ts(n);
  for (size_t i = 0; i < n; ++i) ts[i] = kBase + static_cast<int64_t>(i) * kSecond;
  return ts;
}

void ExpectSameColumns(const ChunkColumns& want, const ChunkColumns& got) {
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.ts, want.ts);
  EXPECT_TRUE(BitwiseEqual(want.f64, got.f64));
  EXPECT_EQ(got.i64, want.i64);
  EXPECT_EQ(got.b, want.b);
  EXPECT_EQ(got.str, want.str);
  EXPECT_EQ(got.quality, want.quality);
}

ChunkColumns RoundTrip(const ChunkColumns& in, size_t* encoded_size = nullptr) {
  std::string encoded = "prefix";  // EncodeChunk appends
  EncodeChunk(in, &encoded);
  std::string_view chunk = std::string_view(encoded).substr(6);
  if (encoded_size) *encoded_size = chunk.size();
  ChunkColumns out;
  core::Status s = DecodeChunk(chunk, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::vector<ChunkColumns> SampleChunks() {
  std::vector<ChunkColumns> chunks;
  for (const auto& [name, values] : testing::DoubleTables()) {
    ChunkColumns c;
    c.type = ValueType::kDouble;
    c.ts = RegularTimestamps(values.size());
    c.f64 = values;
    chunks.push_back(c);
  }
  ChunkColumns ints;
  ints.type = ValueType::kInt64;
  ints.i64 = {std::numeric_limits<int64_t>::min(), -1, 0, 1, std::numeric_limits<int64_t>::max()};
  ints.ts = {std::numeric_limits<int64_t>::min(), -kSecond, 0, kSecond, std::numeric_limits<int64_t>::max()};
  ints.quality = {0, 0, 0x80050000u, 0, 0x40900000u};
  chunks.push_back(ints);
  ChunkColumns bools;
  bools.type = ValueType::kBool;
  bools.ts = RegularTimestamps(2000);
  for (size_t i = 0; i < 2000; ++i) bools.b.push_back((i / 100) % 2);
  chunks.push_back(bools);
  ChunkColumns strings;
  strings.type = ValueType::kString;
  strings.ts = RegularTimestamps(500);
  for (size_t i = 0; i < 500; ++i) strings.str.push_back(i % 3 ? "RUNNING" : "IDLE");
  strings.quality.assign(500, 0);
  chunks.push_back(strings);
  ChunkColumns long_strings;
  long_strings.type = ValueType::kString;
  long_strings.ts = RegularTimestamps(3);
  long_strings.str = {std::string(200000, 'x'), "", std::string(70000, '\0')};
  chunks.push_back(long_strings);
  for (ValueType type : {ValueType::kDouble, ValueType::kInt64, ValueType::kBool, ValueType::kString}) {
    ChunkColumns empty;
    empty.type = type;
    chunks.push_back(empty);
    ChunkColumns one;
    one.type = type;
    one.ts = {-42};
    one.quality = {0x808B0000u};
    if (type == ValueType::kDouble) one.f64 = {-0.0};
    if (type == ValueType::kInt64) one.i64 = {std::numeric_limits<int64_t>::min()};
    if (type == ValueType::kBool) one.b = {1};
    if (type == ValueType::kString) one.str = {"one"};
    chunks.push_back(one);
  }
  return chunks;
}

TEST(ChunkTest, RoundTripAllTypes) {
  for (const ChunkColumns& chunk : SampleChunks()) {
    SCOPED_TRACE(std::string(core::ValueTypeName(chunk.type)) + " n=" + std::to_string(chunk.ts.size()));
    ExpectSameColumns(chunk, RoundTrip(chunk));
  }
}

TEST(ChunkTest, HeaderRecordsRangeAndCodecs) {
  ChunkColumns c;
  c.type = ValueType::kDouble;
  c.ts = RegularTimestamps(1024);
  for (size_t i = 0; i < 1024; ++i) c.f64.push_back(20.0 + static_cast<double>(i % 50) / 10.0);
  std::string encoded;
  EncodeChunk(c, &encoded);
  ChunkHeader h;
  ASSERT_TRUE(ReadChunkHeader(encoded, &h).ok());
  EXPECT_EQ(h.version, kChunkFormatVersion);
  EXPECT_EQ(h.type, ValueType::kDouble);
  EXPECT_EQ(h.count, 1024u);
  EXPECT_EQ(h.min_ts, c.ts.front());
  EXPECT_EQ(h.max_ts, c.ts.back());
  EXPECT_EQ(h.ts_codec, ColumnCodec::kTsDeltaOfDelta);
  EXPECT_EQ(h.value_codec, ColumnCodec::kAlp);
  EXPECT_EQ(h.quality_codec, ColumnCodec::kNone);
  // ~6 bits per value (50 distinct tenths) plus well under one bit per timestamp.
  EXPECT_LT(encoded.size() * 8, 1024u * 8);

  std::vector<double> binary(1024);
  std::mt19937_64 rng(1);
  for (auto& v : binary) v = std::uniform_real_distribution<double>(0, 1)(rng);
  c.f64 = binary;
  encoded.clear();
  EncodeChunk(c, &encoded);
  ASSERT_TRUE(ReadChunkHeader(encoded, &h).ok());
  EXPECT_EQ(h.value_codec, ColumnCodec::kChimp);
  ExpectSameColumns(c, RoundTrip(c));
}

TEST(ChunkTest, ForcedReferenceCodecsRoundTrip) {
  for (const ChunkColumns& chunk : SampleChunks()) {
    if (chunk.type != ValueType::kDouble) continue;
    ChunkEncodeOptions options;
    options.double_codec = ColumnCodec::kGorilla;
    options.ts_codec = ColumnCodec::kTsGorilla;
    std::string encoded;
    EncodeChunk(chunk, options, &encoded);
    ChunkColumns out;
    ASSERT_TRUE(DecodeChunk(encoded, &out).ok());
    ExpectSameColumns(chunk, out);
  }
}

TEST(ChunkTest, RejectsEveryTruncationAndBitFlip) {
  for (const ChunkColumns& chunk : SampleChunks()) {
    if (chunk.ts.size() > 600) continue;  // keep the quadratic sweep quick
    std::string encoded;
    EncodeChunk(chunk, &encoded);
    ChunkColumns out;
    for (size_t len = 0; len < encoded.size(); len += 1 + encoded.size() / 1500) {
      std::vector<char> exact(encoded.begin(), encoded.begin() + static_cast<long>(len));
      core::Status s = DecodeChunk(std::string_view(exact.data(), len), &out);
      ASSERT_TRUE(s.IsCorruption()) << "truncated to " << len << ": " << s.ToString();
    }
    for (size_t bit = 0; bit < encoded.size() * 8; bit += 1 + encoded.size() / 512) {
      std::string flipped = encoded;
      flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
      core::Status s = DecodeChunk(flipped, &out);
      ASSERT_TRUE(s.IsCorruption()) << "bit " << bit << " flipped: " << s.ToString();
    }
    EXPECT_TRUE(DecodeChunk(encoded + "x", &out).IsCorruption());
  }
}

// Rewrites the checksum so that damage reaches the structural checks behind it.
std::string Reseal(std::string chunk) {
  uint32_t sum = ChunkChecksum(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size() - 4);
  std::memcpy(chunk.data() + chunk.size() - 4, &sum, 4);
  return chunk;
}

TEST(ChunkTest, StructuralChecksBehindTheChecksum) {
  for (const ChunkColumns& chunk : SampleChunks()) {
    if (chunk.ts.size() > 600) continue;
    std::string encoded;
    EncodeChunk(chunk, &encoded);
    ChunkColumns out;
    for (size_t bit = 0; bit < (encoded.size() - 4) * 8; bit += 1 + encoded.size() / 256) {
      std::string flipped = encoded;
      flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
      core::Status s = DecodeChunk(Reseal(flipped), &out);
      if (!s.ok()) { EXPECT_TRUE(s.IsCorruption()) << s.ToString(); }
    }
  }
  // Specific lies the header could tell.
  ChunkColumns c;
  c.type = ValueType::kInt64;
  c.ts = RegularTimestamps(3);
  c.i64 = {1, 2, 3};
  std::string encoded;
  EncodeChunk(c, &encoded);
  ChunkColumns out;
  std::string bad_version = encoded;
  bad_version[0] = 9;
  EXPECT_NE(DecodeChunk(Reseal(bad_version), &out).message().find("version"), std::string::npos);
  std::string bad_type = encoded;
  bad_type[1] = 7;
  EXPECT_TRUE(DecodeChunk(Reseal(bad_type), &out).IsCorruption());
  std::string wrong_codec = encoded;
  wrong_codec[1] = static_cast<char>(ValueType::kDouble);  // int codec under a double type
  core::Status s = DecodeChunk(Reseal(wrong_codec), &out);
  EXPECT_NE(s.message().find("does not fit"), std::string::npos) << s.ToString();
  std::string huge_count = encoded;
  huge_count[2] = 0x7F;  // count 127 with timestamps for 3
  s = DecodeChunk(Reseal(huge_count), &out);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_TRUE(s.context().offset.has_value());
}

// ---- Real series from /work/shared/data ----

std::filesystem::path SharedData() {
  const char* env = std::getenv("SHOPFLOOR_SHARED_DATA");
  return env ? std::filesystem::path(env) : std::filesystem::path(SHOPFLOOR_SOURCE_DIR) / ".." / "shared" / "data";
}

std::vector<double> ReadColumn(const std::filesystem::path& path, char sep, size_t column, bool header) {
  std::ifstream in(path);
  std::vector<double> values;
  std::string line;
  if (header) std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    if (sep == ' ') {
      std::istringstream fs(line);
      std::string f;
      while (fs >> f) fields.push_back(f);
    } else {
      std::stringstream fs(line);
      std::string f;
      while (std::getline(fs, f, sep)) fields.push_back(f);
    }
    if (column < fields.size()) values.push_back(std::strtod(fields[column].c_str(), nullptr));
  }
  return values;
}

TEST(ChunkRealDataTest, ExactAndSmallerThanGorilla) {
  std::filesystem::path root = SharedData();
  if (!std::filesystem::exists(root / "float-samples")) GTEST_SKIP() << "no shared data at " << root;
  struct Series {
    std::string name;
    std::vector<double> values;
  };
  std::vector<Series> series = {
      {"neon_air_pressure", ReadColumn(root / "float-samples/neon_air_pressure.csv", ',', 0, false)},
      {"city_temperature", ReadColumn(root / "float-samples/city_temperature_f.csv", ',', 0, false)},
      {"stocks_de", ReadColumn(root / "float-samples/stocks_de.csv", ',', 0, false)},
      {"poi_lat", ReadColumn(root / "float-samples/poi_lat.csv", ',', 0, false)},
      {"nab_machine_temperature",
       ReadColumn(root / "nab/data/realKnownCause/machine_temperature_system_failure.csv", ',', 1, true)},
      {"skab_temperature", ReadColumn(root / "skab/anomaly-free/anomaly-free.csv", ';', 5, true)},
      {"cmapss_fd001_s2", ReadColumn(root / "cmapss/train_FD001.txt", ' ', 6, false)},
  };
  for (const Series& s : series) {
    ASSERT_GE(s.values.size(), 1000u) << s.name;
    uint64_t ours = 0, gorilla = 0;
    for (size_t start = 0; start < s.values.size(); start += 1024) {
      ChunkColumns c;
      c.type = ValueType::kDouble;
      c.f64.assign(s.values.begin() + static_cast<long>(start),
                   s.values.begin() + static_cast<long>(std::min(start + 1024, s.values.size())));
      c.ts = RegularTimestamps(c.f64.size());
      size_t size;
      ChunkColumns out = RoundTrip(c, &size);
      ASSERT_TRUE(BitwiseEqual(c.f64, out.f64)) << s.name;
      ours += size;
      std::string reference;
      ChunkEncodeOptions options;
      options.double_codec = ColumnCodec::kGorilla;
      options.ts_codec = ColumnCodec::kTsGorilla;
      EncodeChunk(c, options, &reference);
      gorilla += reference.size();
    }
    double bits = 8.0 * static_cast<double>(ours) / static_cast<double>(s.values.size());
    double reference_bits = 8.0 * static_cast<double>(gorilla) / static_cast<double>(s.values.size());
    std::printf("%-26s ours %6.2f bits/sample, gorilla %6.2f\n", s.name.c_str(), bits, reference_bits);
    EXPECT_LT(ours, gorilla) << s.name;
  }
}

}  // namespace
}  // namespace shopfloor::storage
