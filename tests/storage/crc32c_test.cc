#include "storage/wal/crc32c.h"

#include <cstring>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace shopfloor::storage {
namespace {

// Test vectors from RFC 3720, appendix B.4.
TEST(Crc32cTest, Rfc3720Vectors) {
  char buf[32];
  std::memset(buf, 0, sizeof(buf));
  EXPECT_EQ(0x8a9136aau, Crc32c(buf, sizeof(buf)));
  std::memset(buf, 0xff, sizeof(buf));
  EXPECT_EQ(0x62a8ab43u, Crc32c(buf, sizeof(buf)));
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(i);
  EXPECT_EQ(0x46dd794eu, Crc32c(buf, sizeof(buf)));
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(31 - i);
  EXPECT_EQ(0x113fdb5cu, Crc32c(buf, sizeof(buf)));

  const unsigned char iscsi_read[48] = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
      0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(0xd9963a56u, Crc32c(iscsi_read, sizeof(iscsi_read)));
}

TEST(Crc32cTest, CheckValueAndEmpty) {
  EXPECT_EQ(0xe3069283u, Crc32c("123456789", 9));
  EXPECT_EQ(0u, Crc32c("", 0));
  EXPECT_EQ(0xe3069283u, Crc32cExtendPortable(0, "123456789", 9));
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  const std::string data = "hello world, this is a longer string for the extend check";
  for (size_t split = 0; split <= data.size(); ++split) {
    uint32_t whole = Crc32c(data.data(), data.size());
    uint32_t part = Crc32cExtend(Crc32c(data.data(), split), data.data() + split, data.size() - split);
    ASSERT_EQ(whole, part) << "split at " << split;
  }
  EXPECT_NE(Crc32c("a", 1), Crc32c("foo", 3));
}

// The hardware path (when present) and the tables agree on every length and alignment.
TEST(Crc32cTest, HardwareAndPortableAgree) {
  std::mt19937 rng(42);
  std::string data(4096 + 16, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t offset = 0; offset < 16; ++offset) {
    for (size_t len : {0u, 1u, 7u, 8u, 9u, 15u, 63u, 64u, 100u, 1000u, 4096u}) {
      uint32_t seed = static_cast<uint32_t>(rng());
      ASSERT_EQ(Crc32cExtendPortable(seed, data.data() + offset, len),
                Crc32cExtend(seed, data.data() + offset, len))
          << "offset " << offset << " len " << len;
    }
  }
  std::printf("crc32c hardware accelerated: %s\n", Crc32cHardwareAccelerated() ? "yes" : "no");
}

TEST(Crc32cTest, Mask) {
  uint32_t crc = Crc32c("foo", 3);
  EXPECT_NE(crc, Crc32cMask(crc));
  EXPECT_NE(crc, Crc32cMask(Crc32cMask(crc)));
  EXPECT_EQ(crc, Crc32cUnmask(Crc32cMask(crc)));
  EXPECT_EQ(crc, Crc32cUnmask(Crc32cUnmask(Crc32cMask(Crc32cMask(crc)))));
  EXPECT_EQ(Crc32cMask(crc), Crc32cMasked("foo", 3));
}

}  // namespace
}  // namespace shopfloor::storage
