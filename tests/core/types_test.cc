#include "core/types.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace shopfloor::core {
namespace {

using Severity = Quality::Severity;

TEST(QualityTest, SeverityAndSubCodeFromOpcUaStatus) {
  struct Case {
    uint32_t opcua;
    Severity severity;
    uint16_t sub_code;
  };
  const Case cases[] = {
      {0x00000000u, Severity::kGood, 0x0000},       // Good
      {0x80050000u, Severity::kBad, 0x0005},        // BadCommunicationError
      {0x808C0000u, Severity::kBad, 0x008C},        // BadSensorFailure
      {0x80310000u, Severity::kBad, 0x0031},        // BadNoCommunication
      {0x40900000u, Severity::kUncertain, 0x0090},  // UncertainLastUsableValue
      {0x40930000u, Severity::kUncertain, 0x0093},  // UncertainSensorNotAccurate
      {0x00A20000u, Severity::kGood, 0x00A2},       // GoodLocalOverride
      {0xC0000000u, Severity::kBad, 0x0000},        // reserved severity 11 counts as bad
  };
  for (const Case& c : cases) {
    Quality q = Quality::FromOpcUaStatus(c.opcua);
    EXPECT_EQ(q.severity(), c.severity) << std::hex << c.opcua;
    EXPECT_EQ(q.sub_code(), c.sub_code) << std::hex << c.opcua;
    EXPECT_EQ(q.opcua_status(), c.opcua);  // lossless round trip
  }
}

TEST(QualityTest, PredicatesAndNamedCodes) {
  EXPECT_TRUE(Quality().good());
  EXPECT_TRUE(Quality::Good().good());
  EXPECT_FALSE(Quality::Good().bad());
  EXPECT_TRUE(Quality::BadCommunicationError().bad());
  EXPECT_EQ(Quality::BadCommunicationError().opcua_status(), 0x80050000u);
  Quality uncertain = Quality::UncertainLastUsableValue();
  EXPECT_FALSE(uncertain.good());
  EXPECT_FALSE(uncertain.bad());
  EXPECT_EQ(uncertain.severity(), Severity::kUncertain);
}

TEST(QualityTest, MakeMatchesOpcUaLayout) {
  EXPECT_EQ(Quality::Bad(0x0005), Quality::BadCommunicationError());
  EXPECT_EQ(Quality::Uncertain(0x0090), Quality::UncertainLastUsableValue());
  EXPECT_EQ(Quality::Make(Severity::kBad, 0x008C).opcua_status(), 0x808C0000u);
  EXPECT_EQ(Quality::BadSensorFailure().opcua_status(), 0x808C0000u);
  // Sub-codes are 14 bits; higher bits cannot leak into the severity.
  Quality masked = Quality::Make(Severity::kGood, 0xFFFF);
  EXPECT_EQ(masked.severity(), Severity::kGood);
  EXPECT_EQ(masked.sub_code(), 0x3FFF);
}

TEST(QualityTest, ToStringFormats) {
  EXPECT_EQ(Quality::Good().ToString(), "good");
  EXPECT_EQ(Quality::BadCommunicationError().ToString(), "bad(0x80050000)");
  EXPECT_EQ(Quality::UncertainLastUsableValue().ToString(), "uncertain(0x40900000)");
}

TEST(FormatTimestampTest, Formats) {
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(1'700'000'000LL * kSecond), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatTimestamp(1'700'000'000LL * kSecond + 123 * kMillisecond), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FormatTimestamp(1'700'000'000LL * kSecond + 123'456'789), "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(FormatTimestamp(1'700'000'000LL * kSecond + 1), "2023-11-14T22:13:20.000000001Z");
  EXPECT_EQ(FormatTimestamp(951'782'400LL * kSecond), "2000-02-29T00:00:00Z");  // leap day
}

TEST(FormatTimestampTest, BeforeEpochBorrowsFromSeconds) {
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(FormatTimestamp(-kSecond), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatTimestamp(-kSecond - 500 * kMillisecond), "1969-12-31T23:59:58.5Z");
}

TEST(ValueTest, TypesAndAccessors) {
  EXPECT_EQ(Value().type(), ValueType::kDouble);
  EXPECT_EQ(Value(1.5).as_double(), 1.5);
  EXPECT_EQ(Value(7).type(), ValueType::kInt64);
  EXPECT_EQ(Value(int64_t{1} << 40).as_int(), int64_t{1} << 40);
  EXPECT_TRUE(Value(true).as_bool());
  EXPECT_EQ(Value("run").as_string(), "run");
  EXPECT_EQ(ValueTypeName(ValueType::kString), "string");
  EXPECT_EQ(ValueTypeName(ValueType::kInt64), "int64");

  double number = 0;
  EXPECT_TRUE(Value(true).ToNumber(&number));
  EXPECT_EQ(number, 1.0);
  EXPECT_TRUE(Value(-3).ToNumber(&number));
  EXPECT_EQ(number, -3.0);
  EXPECT_FALSE(Value("x").ToNumber(&number));
  EXPECT_EQ(Value(false).ToString(), "false");
  EXPECT_EQ(Value(42).ToString(), "42");
}

TEST(ValueTest, IdenticalToIsBitwiseForDoubles) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(Value(nan) == Value(nan));  // IEEE equality
  EXPECT_TRUE(Value(nan).IdenticalTo(Value(nan)));
  EXPECT_FALSE(Value(nan).IdenticalTo(Value(-nan)));  // sign bit differs

  EXPECT_TRUE(Value(0.0) == Value(-0.0));
  EXPECT_FALSE(Value(0.0).IdenticalTo(Value(-0.0)));
  EXPECT_TRUE(Value(-0.0).IdenticalTo(Value(-0.0)));
  EXPECT_TRUE(Value(2.5).IdenticalTo(Value(2.5)));
}

TEST(ValueTest, IdenticalToRequiresSameType) {
  EXPECT_FALSE(Value(1).IdenticalTo(Value(1.0)));
  EXPECT_FALSE(Value(true).IdenticalTo(Value(1)));
  EXPECT_TRUE(Value("a").IdenticalTo(Value("a")));
  EXPECT_FALSE(Value("a").IdenticalTo(Value("b")));
  EXPECT_TRUE(Value(5).IdenticalTo(Value(int64_t{5})));
}

}  // namespace
}  // namespace shopfloor::core
