// Round-trip and corruption tables for the timestamp, int64, bool, quality and string codecs.
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/codec/int_blocks.h"
#include "storage/codec/int_codec.h"
#include "storage/codec/rle_codecs.h"
#include "storage/codec/string_codec.h"
#include "storage/codec/timestamp_codec.h"
#include "storage/codec/xor_codecs.h"

namespace shopfloor::storage {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kBase = 1'700'000'000LL * kSecond;

std::vector<std::pair<std::string, std::vector<int64_t>>> TimestampTables() {
  std::mt19937_64 rng(3);
  std::vector<std::pair<std::string, std::vector<int64_t>>> t;
  auto make = [&](const std::string& name, size_t n, auto gen) {
    std::vector<int64_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = gen(i);
    t.emplace_back(name, std::move(v));
  };
  make("empty", 0, [](size_t) { return int64_t{0}; });
  make("one", 1, [](size_t) { return kBase; });
  make("two", 2, [](size_t i) { return kBase + static_cast<int64_t>(i) * 7; });
  make("regular_1s", 5000, [](size_t i) { return kBase + static_cast<int64_t>(i) * kSecond; });
  make("regular_with_gaps", 3000, [](size_t i) { return kBase + static_cast<int64_t>(i + (i / 700) * 3600) * kSecond; });
  int64_t t_jitter = kBase;
  make("jitter_ms", 3000, [&](size_t) { return t_jitter += kSecond + static_cast<int64_t>(rng() % 2'000'000) - 1'000'000; });
  int64_t t_random = -5 * kSecond;
  make("random_increasing", 2000, [&](size_t) { return t_random += 1 + static_cast<int64_t>(rng() % (1ull << 40)); });
  make("extremes", 3, [](size_t i) {
    const int64_t v[] = {std::numeric_limits<int64_t>::min(), 0, std::numeric_limits<int64_t>::max()};
    return v[i];
  });
  return t;
}

TEST(TimestampCodecTest, RoundTripAndSize) {
  for (const auto& [name, ts] : TimestampTables()) {
    std::string encoded;
    EncodeTimestamps(ts, &encoded);
    std::vector<int64_t> got(ts.size());
    core::Status s = DecodeTimestamps(encoded, ts.size(), ts.empty() ? 0 : ts[0], got.data());
    ASSERT_TRUE(s.ok()) << name << ": " << s.ToString();
    EXPECT_EQ(got, ts) << name;
    if (name == "regular_1s") { EXPECT_LT(encoded.size() * 8, ts.size() / 4) << "well under a bit per timestamp"; }
    if (name == "regular_with_gaps") { EXPECT_LT(encoded.size() * 8, ts.size()) << "gaps cost exceptions, not widths"; }

    std::string gorilla;
    EncodeGorillaTimestamps(ts, &gorilla);
    s = DecodeGorillaTimestamps(gorilla, ts.size(), got.data());
    ASSERT_TRUE(s.ok()) << "gorilla " << name << ": " << s.ToString();
    EXPECT_EQ(got, ts) << "gorilla " << name;
  }
}

TEST(IntCodecTest, RoundTripTables) {
  std::mt19937_64 rng(5);
  std::vector<std::vector<int64_t>> tables = {
      {},
      {42},
      {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(), 0,
       -1, 1, std::numeric_limits<int64_t>::max()},
  };
  tables.emplace_back(3000, 7);
  std::vector<int64_t> counter(3000), noisy(3000), random(3000);
  int64_t c = 1000;
  for (size_t i = 0; i < counter.size(); ++i) counter[i] = c += static_cast<int64_t>(rng() % 5);
  for (size_t i = 0; i < noisy.size(); ++i) noisy[i] = 500 + static_cast<int64_t>(rng() % 100) - 50;
  for (auto& v : random) v = static_cast<int64_t>(rng());
  tables.push_back(counter);
  tables.push_back(noisy);
  tables.push_back(random);
  for (size_t t = 0; t < tables.size(); ++t) {
    const auto& values = tables[t];
    std::string encoded;
    EncodeInts(values, &encoded);
    std::vector<int64_t> got(values.size());
    core::Status s = DecodeInts(encoded, values.size(), got.data());
    ASSERT_TRUE(s.ok()) << t << ": " << s.ToString();
    EXPECT_EQ(got, values) << t;
  }
  std::string counter_encoded;
  EncodeInts(counter, &counter_encoded);
  EXPECT_LT(counter_encoded.size() * 8, counter.size() * 4);  // deltas 0..4: 3 bits each
}

TEST(ForBlocksTest, OneOutlierBecomesAnException) {
  std::vector<uint64_t> values(128, 3);
  values[77] = uint64_t{1} << 60;
  std::string encoded;
  EncodeForBlocks(values.data(), values.size(), &encoded);
  EXPECT_LT(encoded.size(), 128u * 2 / 8 + 16);
  std::vector<uint64_t> got(values.size());
  ByteReader reader(encoded);
  ASSERT_TRUE(DecodeForBlocks(&reader, values.size(), got.data(), "test").ok());
  EXPECT_EQ(got, values);
}

TEST(BoolCodecTest, RoundTripRunsAndBitmap) {
  std::mt19937_64 rng(9);
  std::vector<std::vector<uint8_t>> tables = {{}, {1}, {0}, std::vector<uint8_t>(5000, 1)};
  std::vector<uint8_t> runs(4000), flapping(4000);
  for (size_t i = 0; i < runs.size(); ++i) runs[i] = (i / 300) % 2;
  for (auto& v : flapping) v = rng() & 1;
  tables.push_back(runs);
  tables.push_back(flapping);
  for (size_t t = 0; t < tables.size(); ++t) {
    std::string encoded;
    BoolCodec codec = EncodeBools(tables[t], &encoded);
    std::vector<uint8_t> got(tables[t].size());
    core::Status s = DecodeBools(codec, encoded, got.size(), got.data());
    ASSERT_TRUE(s.ok()) << t << ": " << s.ToString();
    EXPECT_EQ(got, tables[t]) << t;
    if (t == 3) { EXPECT_LE(encoded.size(), 3u); }
    if (t == 5) { EXPECT_EQ(codec, BoolCodec::kBitmap); }
  }
}

TEST(QualityCodecTest, RoundTrip) {
  std::vector<uint32_t> codes(4000, 0);
  for (size_t i = 1000; i < 1010; ++i) codes[i] = 0x80050000u;
  codes[3999] = 0xFFFFFFFFu;
  std::string encoded;
  EncodeQualityRuns(codes, &encoded);
  EXPECT_LT(encoded.size(), 20u);
  std::vector<uint32_t> got(codes.size());
  ASSERT_TRUE(DecodeQualityRuns(encoded, got.size(), got.data()).ok());
  EXPECT_EQ(got, codes);
}

TEST(StringCodecTest, RoundTripDictionaryAndPlain) {
  std::mt19937_64 rng(13);
  std::vector<std::vector<std::string>> tables = {{}, {""}, {"only"}};
  std::vector<std::string> states(3000), unique(2000), long_strings(20);
  const char* kStates[] = {"RUNNING", "IDLE", "STOPPED", "FAULT", ""};
  for (auto& s : states) s = kStates[rng() % 5];
  for (size_t i = 0; i < unique.size(); ++i) unique[i] = "batch-" + std::to_string(rng());
  for (size_t i = 0; i < long_strings.size(); ++i) long_strings[i] = std::string(100000 + i, static_cast<char>('a' + i));
  tables.push_back(states);
  tables.push_back(unique);
  tables.push_back(long_strings);
  for (size_t t = 0; t < tables.size(); ++t) {
    std::string encoded;
    StringCodec codec = EncodeStrings(tables[t], &encoded);
    std::vector<std::string> got(tables[t].size());
    core::Status s = DecodeStrings(codec, encoded, got.size(), got.data());
    ASSERT_TRUE(s.ok()) << t << ": " << s.ToString();
    EXPECT_EQ(got, tables[t]) << t;
    if (t == 3) {
      EXPECT_EQ(codec, StringCodec::kDictionary);
      EXPECT_LT(encoded.size(), states.size() * 3 / 8 + 64);
    }
    if (t == 4) { EXPECT_EQ(codec, StringCodec::kPlain); }
  }
}

// Truncations must fail cleanly; bit flips must yield OK or Corruption (never a crash).
template <typename Decode>
void CheckDamage(const std::string& encoded, Decode decode, const std::string& what) {
  for (size_t len = 0; len < encoded.size(); len += 1 + encoded.size() / 64) {
    std::vector<char> exact(encoded.begin(), encoded.begin() + static_cast<long>(len));
    core::Status s = decode(std::string_view(exact.data(), len));
    EXPECT_TRUE(s.IsCorruption()) << what << " truncated to " << len << ": " << s.ToString();
  }
  for (size_t bit = 0; bit < encoded.size() * 8; bit += 1 + encoded.size() / 32) {
    std::string flipped = encoded;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    core::Status s = decode(flipped);
    if (!s.ok()) { EXPECT_TRUE(s.IsCorruption()) << s.ToString(); }
  }
}

TEST(ColumnCodecDamageTest, AllDecodersRejectDamage) {
  for (const auto& [name, ts] : TimestampTables()) {
    if (ts.size() < 2) continue;
    std::string encoded;
    EncodeTimestamps(ts, &encoded);
    std::vector<int64_t> got(ts.size());
    CheckDamage(encoded, [&](std::string_view in) { return DecodeTimestamps(in, ts.size(), ts[0], got.data()); }, name);
    std::string gorilla;
    EncodeGorillaTimestamps(ts, &gorilla);
    CheckDamage(gorilla, [&](std::string_view in) { return DecodeGorillaTimestamps(in, ts.size(), got.data()); },
                "gorilla " + name);
  }
  std::vector<int64_t> ints = {5, -3, std::numeric_limits<int64_t>::max(), 0, 1, 2, 3, 1000000};
  std::string encoded;
  EncodeInts(ints, &encoded);
  std::vector<int64_t> int_out(ints.size());
  CheckDamage(encoded, [&](std::string_view in) { return DecodeInts(in, ints.size(), int_out.data()); }, "ints");

  std::vector<uint8_t> bools(300);
  for (size_t i = 0; i < bools.size(); ++i) bools[i] = (i / 7) % 2;
  encoded.clear();
  BoolCodec bool_codec = EncodeBools(bools, &encoded);
  std::vector<uint8_t> bool_out(bools.size());
  CheckDamage(encoded, [&](std::string_view in) { return DecodeBools(bool_codec, in, bools.size(), bool_out.data()); },
              "bools");

  std::vector<uint32_t> codes = {0, 0, 0, 0x80050000u, 0x80050000u, 0, 0x40900000u};
  encoded.clear();
  EncodeQualityRuns(codes, &encoded);
  std::vector<uint32_t> code_out(codes.size());
  CheckDamage(encoded, [&](std::string_view in) { return DecodeQualityRuns(in, codes.size(), code_out.data()); },
              "quality");

  std::vector<std::string> strings = {"a", "bb", "a", "ccc", "a", "bb", "a", "a"};
  for (const auto& values : {strings, std::vector<std::string>{"x1", "y22", "z333"}}) {
    encoded.clear();
    StringCodec string_codec = EncodeStrings(values, &encoded);
    std::vector<std::string> string_out(values.size());
    CheckDamage(
        encoded, [&](std::string_view in) { return DecodeStrings(string_codec, in, values.size(), string_out.data()); },
        "strings");
  }
}

}  // namespace
}  // namespace shopfloor::storage
