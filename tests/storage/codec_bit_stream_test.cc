#include "storage/codec/bit_stream.h"

#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace shopfloor::storage {
namespace {

TEST(BitStreamTest, WriterReaderRoundTripMixedWidths) {
  std::mt19937_64 rng(7);
  std::vector<std::pair<uint64_t, unsigned>> items;
  for (int i = 0; i < 5000; ++i) {
    unsigned width = static_cast<unsigned>(rng() % 65);
    items.emplace_back(rng() & LowMask(width), width);
  }
  std::string out;
  BitWriter writer(&out);
  uint64_t total_bits = 0;
  for (auto [v, w] : items) {
    writer.Write(v, w);
    total_bits += w;
  }
  writer.Finish();
  EXPECT_EQ(out.size(), (total_bits + 7) / 8);
  BitReader reader(reinterpret_cast<const uint8_t*>(out.data()), out.size());
  for (size_t i = 0; i < items.size(); ++i) ASSERT_EQ(reader.Read(items[i].second), items[i].first) << i;
  EXPECT_TRUE(reader.AtCleanEnd());
  EXPECT_FALSE(reader.overrun());
  reader.Read(9);
  EXPECT_TRUE(reader.overrun());
}

TEST(BitStreamTest, WriterIgnoresBitsAboveWidth) {
  std::string out;
  BitWriter writer(&out);
  writer.Write(0xFF, 3);
  writer.Finish();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(static_cast<uint8_t>(out[0]), 0x07);
}

TEST(BitStreamTest, ReaderDetectsNonzeroPaddingAndShortInput) {
  const uint8_t bytes[] = {0x81};
  BitReader reader(bytes, 1);
  EXPECT_EQ(reader.Read(1), 1u);
  EXPECT_FALSE(reader.AtCleanEnd());  // bit 7 set in the padding
  BitReader empty(nullptr, 0);
  EXPECT_EQ(empty.Read(64), 0u);
  EXPECT_TRUE(empty.overrun());
}

TEST(BitStreamTest, PackUnpackEveryWidthAndTail) {
  std::mt19937_64 rng(11);
  for (unsigned width = 0; width <= 64; ++width) {
    for (size_t n : {0, 1, 7, 8, 9, 63, 128, 1000, 1024}) {
      std::vector<uint64_t> values(n);
      for (auto& v : values) v = rng() & LowMask(width);
      std::string packed;
      PackBits(values.data(), n, width, &packed);
      ASSERT_EQ(packed.size(), PackedBytes(n, width));
      // Unpack from an exact-size heap copy so ASan catches any over-read.
      std::vector<uint8_t> exact(packed.begin(), packed.end());
      std::vector<uint64_t> got(n);
      UnpackBits(exact.data(), n, width, got.data());
      ASSERT_EQ(got, values) << "width " << width << " n " << n;
    }
  }
}

TEST(BitStreamTest, VarintRoundTripAndRejects) {
  std::string out;
  const uint64_t values[] = {0, 1, 127, 128, 300, 1ull << 35, UINT64_MAX, UINT64_MAX - 1};
  for (uint64_t v : values) {
    size_t before = out.size();
    PutVarint64(&out, v);
    EXPECT_EQ(out.size() - before, VarintLength(v));
  }
  ByteReader reader(out);
  for (uint64_t v : values) {
    uint64_t got;
    ASSERT_TRUE(reader.GetVarint64(&got));
    EXPECT_EQ(got, v);
  }
  EXPECT_EQ(reader.remaining(), 0u);
  uint64_t got;
  std::string overlong(10, '\xFF');
  overlong += '\x01';
  EXPECT_FALSE(ByteReader(overlong).GetVarint64(&got));
  std::string overflow(9, '\xFF');
  overflow += '\x02';  // a 65th bit
  EXPECT_FALSE(ByteReader(overflow).GetVarint64(&got));
  EXPECT_FALSE(ByteReader(std::string_view("\x80", 1)).GetVarint64(&got));
}

TEST(BitStreamTest, ZigZag) {
  const int64_t values[] = {0, -1, 1, -2, INT64_MAX, INT64_MIN, 123456789, -987654321};
  for (int64_t v : values) EXPECT_EQ(ZigZagDecode(ZigZagEncode(v)), v);
  EXPECT_EQ(ZigZagEncode(0), 0u);
  EXPECT_EQ(ZigZagEncode(-1), 1u);
  EXPECT_EQ(ZigZagEncode(1), 2u);
  EXPECT_EQ(ZigZagEncode(INT64_MIN), UINT64_MAX);
}

}  // namespace
}  // namespace shopfloor::storage
