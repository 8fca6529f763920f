#include <bit>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/codec/alp_codec.h"
#include "storage/codec/xor_codecs.h"
#include "codec_test_util.h"

namespace shopfloor::storage {
namespace {

using testing::BitwiseEqual;
using testing::DoubleTables;

using Encoder = void (*)(std::span<const double>, std::string*);
using Decoder = core::Status (*)(std::string_view, size_t, double*);

void EncodeAlpVoid(std::span<const double> v, std::string* out) { EncodeAlp(v, out); }

struct FloatCodec {
  const char* name;
  Encoder encode;
  Decoder decode;
};
const FloatCodec kCodecs[] = {{"alp", &EncodeAlpVoid, &DecodeAlp},
                              {"chimp", &EncodeChimp, &DecodeChimp},
                              {"gorilla", &EncodeGorilla, &DecodeGorilla}};

TEST(FloatCodecTest, RoundTripTables) {
  for (const auto& codec : kCodecs) {
    for (const auto& [name, values] : DoubleTables()) {
      std::string encoded;
      codec.encode(values, &encoded);
      std::vector<double> got(values.size());
      core::Status s = codec.decode(encoded, values.size(), got.data());
      ASSERT_TRUE(s.ok()) << codec.name << "/" << name << ": " << s.ToString();
      EXPECT_TRUE(BitwiseEqual(values, got)) << codec.name << "/" << name;
    }
  }
}

TEST(FloatCodecTest, AlpCompressesDecimalsAndCountsExceptions) {
  for (const auto& [name, values] : DoubleTables()) {
    std::string encoded;
    size_t exceptions = EncodeAlp(values, &encoded);
    if (name.rfind("decimal_", 0) == 0) {
      EXPECT_EQ(exceptions, 0u) << name;
      // A random walk with step 0.3 and d decimals needs about log2(range * 10^d) bits.
      EXPECT_LT(encoded.size() * 8, values.size() * 24) << name;
    }
    if (name == "constant" || name == "zeros") { EXPECT_LT(encoded.size() * 8, values.size()) << name; }
    if (name == "specials") { EXPECT_GT(exceptions, 5u); }  // NaNs, infinities, -0.0 at least
  }
}

TEST(FloatCodecTest, ChimpAndGorillaCostOneOrTwoBitsForRepeats) {
  std::vector<double> values(1000, 42.125);
  std::string chimp, gorilla;
  EncodeChimp(values, &chimp);
  EncodeGorilla(values, &gorilla);
  EXPECT_LE(gorilla.size(), 8 + 1000 / 8 + 1);
  EXPECT_LE(chimp.size(), 8 + 1000 / 4 + 1);
}

// Every truncation and many bit flips must decode to OK or Corruption, never crash (ASan).
TEST(FloatCodecTest, DecodersSurviveTruncationAndBitFlips) {
  for (const auto& codec : kCodecs) {
    for (const auto& [name, values] : DoubleTables()) {
      if (values.empty()) continue;
      std::string encoded;
      codec.encode(values, &encoded);
      std::vector<double> got(values.size());
      for (size_t len = 0; len < encoded.size(); len += 1 + encoded.size() / 64) {
        std::vector<char> truncated(encoded.begin(), encoded.begin() + static_cast<long>(len));
        core::Status s = codec.decode(std::string_view(truncated.data(), len), values.size(), got.data());
        EXPECT_FALSE(s.ok()) << codec.name << "/" << name << " truncated to " << len;
        if (!s.ok()) { EXPECT_TRUE(s.IsCorruption()) << s.ToString(); }
      }
      for (size_t bit = 0; bit < encoded.size() * 8; bit += 1 + encoded.size() / 16) {
        std::string flipped = encoded;
        flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
        core::Status s = codec.decode(flipped, values.size(), got.data());
        if (!s.ok()) { EXPECT_TRUE(s.IsCorruption()) << s.ToString(); }
      }
      std::string longer = encoded + '\0';
      EXPECT_FALSE(codec.decode(longer, values.size(), got.data()).ok()) << codec.name << "/" << name;
    }
  }
}

TEST(FloatCodecTest, AlpRejectsBadHeaderFields) {
  std::vector<double> values = {1.5, 2.25, 3.125};
  std::string encoded;
  EncodeAlp(values, &encoded);
  std::vector<double> got(3);
  std::string bad_exponent = encoded;
  bad_exponent[0] = 19;
  EXPECT_TRUE(DecodeAlp(bad_exponent, 3, got.data()).IsCorruption());
  std::string bad_factor = encoded;
  bad_factor[1] = static_cast<char>(encoded[0] + 1);
  EXPECT_TRUE(DecodeAlp(bad_factor, 3, got.data()).IsCorruption());
  std::string bad_width = encoded;
  bad_width[2] = 65;
  EXPECT_TRUE(DecodeAlp(bad_width, 3, got.data()).IsCorruption());
}

}  // namespace
}  // namespace shopfloor::storage
