#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "model/plant_config.h"

namespace shopfloor::model {
namespace {

using core::kDay;
using core::kHour;
using core::kMillisecond;
using core::kMinute;
using core::kSecond;

TEST(ParseDuration, AcceptsEveryUnit) {
  EXPECT_EQ(*ParseDuration("7ns"), 7);
  EXPECT_EQ(*ParseDuration("3us"), 3'000);
  EXPECT_EQ(*ParseDuration("500ms"), 500 * kMillisecond);
  EXPECT_EQ(*ParseDuration("10s"), 10 * kSecond);
  EXPECT_EQ(*ParseDuration("5m"), 5 * kMinute);
  EXPECT_EQ(*ParseDuration("2h"), 2 * kHour);
  EXPECT_EQ(*ParseDuration("30d"), 30 * kDay);
  EXPECT_EQ(*ParseDuration("1w"), 7 * kDay);
  EXPECT_EQ(*ParseDuration("0"), 0);
  EXPECT_EQ(*ParseDuration("0s"), 0);
}

TEST(ParseDuration, AcceptsCompoundsInDecreasingOrder) {
  EXPECT_EQ(*ParseDuration("1h30m"), 90 * kMinute);
  EXPECT_EQ(*ParseDuration("1d2h3m4s5ms"), kDay + 2 * kHour + 3 * kMinute + 4 * kSecond + 5 * kMillisecond);
}

TEST(ParseDuration, RejectsGarbageWithReason) {
  for (const char* text : {"", "s", "10", "10x", "-5s", "1.5s", " 5s", "5s ", "5 s", "5S", "1e3s", "ms5", "5sec"}) {
    auto result = ParseDuration(text);
    ASSERT_FALSE(result.ok()) << text;
    EXPECT_TRUE(result.status().IsInvalidArgument()) << text;
    EXPECT_NE(result.status().message().find("invalid duration"), std::string::npos) << result.status().ToString();
  }
  EXPECT_EQ(ParseDuration("10x").status().message(),
            "invalid duration \"10x\": unknown unit \"x\" (expected one of ns, us, ms, s, m, h, d, w)");
  EXPECT_EQ(ParseDuration("10").status().message(),
            "invalid duration \"10\": missing unit (expected one of ns, us, ms, s, m, h, d, w)");
}

TEST(ParseDuration, RejectsUnorderedOrRepeatedUnits) {
  EXPECT_FALSE(ParseDuration("30m1h").ok());
  EXPECT_FALSE(ParseDuration("1s1s").ok());
  EXPECT_FALSE(ParseDuration("1ms1s").ok());
}

TEST(ParseDuration, DetectsOverflow) {
  // INT64_MAX ns is 9223372036854775807 ns, about 106751 days.
  EXPECT_EQ(*ParseDuration("9223372036854775807ns"), std::numeric_limits<int64_t>::max());
  EXPECT_FALSE(ParseDuration("9223372036854775808ns").ok());
  EXPECT_TRUE(ParseDuration("106751d").ok());
  EXPECT_FALSE(ParseDuration("106752d").ok());
  EXPECT_FALSE(ParseDuration("99999999999999999999999s").ok());
  EXPECT_FALSE(ParseDuration("106751d23h59m59s999ms999us808ns").ok());
  EXPECT_TRUE(ParseDuration("106751d23h47m16s854ms775us807ns").ok());
  EXPECT_NE(ParseDuration("106752d").status().message().find("too large"), std::string::npos);
}

TEST(ParseByteSize, AcceptsBinaryAndDecimalUnits) {
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("4096B"), 4096u);
  EXPECT_EQ(*ParseByteSize("512KiB"), 512u * 1024);
  EXPECT_EQ(*ParseByteSize("256MiB"), 256ull << 20);
  EXPECT_EQ(*ParseByteSize("20GiB"), 20ull << 30);
  EXPECT_EQ(*ParseByteSize("2TiB"), 2ull << 40);
  EXPECT_EQ(*ParseByteSize("500kB"), 500'000u);
  EXPECT_EQ(*ParseByteSize("2MB"), 2'000'000u);
  EXPECT_EQ(*ParseByteSize("1GB"), 1'000'000'000u);
  EXPECT_EQ(*ParseByteSize("3TB"), 3'000'000'000'000u);
  EXPECT_EQ(*ParseByteSize("0"), 0u);
}

TEST(ParseByteSize, RejectsGarbageAndOverflow) {
  for (const char* text : {"", "MiB", "1.5GiB", "-1", "10 MiB", "10mib", "10KB", "10Ki", "0x10"}) {
    EXPECT_FALSE(ParseByteSize(text).ok()) << text;
  }
  EXPECT_EQ(*ParseByteSize("18446744073709551615"), std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(ParseByteSize("18446744073709551616").ok());
  EXPECT_TRUE(ParseByteSize("16777215TiB").ok());
  EXPECT_FALSE(ParseByteSize("16777216TiB").ok());
  EXPECT_EQ(ParseByteSize("10mib").status().message(),
            "invalid size \"10mib\": unknown unit \"mib\" (expected one of B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)");
}

TEST(IsValidName, FollowsPathSegmentRules) {
  EXPECT_TRUE(IsValidName("press-1"));
  EXPECT_TRUE(IsValidName("weld_current"));
  EXPECT_TRUE(IsValidName("v1.2"));
  EXPECT_TRUE(IsValidName(std::string(128, 'a')));
  EXPECT_FALSE(IsValidName(std::string(129, 'a')));
  EXPECT_FALSE(IsValidName(""));
  EXPECT_FALSE(IsValidName("."));
  EXPECT_FALSE(IsValidName(".."));
  EXPECT_FALSE(IsValidName("a/b"));
  EXPECT_FALSE(IsValidName("a b"));
  EXPECT_FALSE(IsValidName("temp\xc2\xb0"));
}


}  // namespace
}  // namespace shopfloor::model
