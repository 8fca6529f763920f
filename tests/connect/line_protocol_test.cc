#include "connect/lineproto/line_protocol.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace shopfloor::connect {
namespace {

using core::Value;

constexpr core::Timestamp kServerTime = 1'700'000'000'123'456'789LL;

LineProtocolOptions Opts(Precision p = Precision::kNanoseconds) {
  LineProtocolOptions o;
  o.precision = p;
  o.default_time = kServerTime;
  return o;
}

// Renders a parsed batch as one string per field: "<series key> <type>:<value> <ts>".
std::vector<std::string> Render(const LineBatch& batch) {
  std::vector<std::string> out;
  for (const LinePoint& p : batch.points()) {
    for (const LineField& f : batch.fields(p)) {
      out.push_back(batch.SeriesKey(p, f) + " " + std::string(core::ValueTypeName(f.value.type())) + ":" +
                    f.value.ToString() + " " + std::to_string(p.ts));
    }
  }
  return out;
}

struct ValidCase {
  std::string input;
  std::vector<std::string> want;
  Precision precision = Precision::kNanoseconds;
};

TEST(LineProtocolTest, ValidLines) {
  const std::vector<ValidCase> cases = {
      {"cpu value=1 10", {"cpu/value double:1 10"}},
      {"cpu,host=a,region=eu usage=98.5,busy=2i 20", {"cpu,host=a,region=eu/usage double:98.5 20",
                                                       "cpu,host=a,region=eu/busy int64:2 20"}},
      // Tags are sorted by key.
      {"cpu,zone=z,host=a v=1 1", {"cpu,host=a,zone=z/v double:1 1"}},
      // Every number form.
      {"m a=-1.5,b=.5,c=1.,d=1e3,e=1.5E-3,f=-0i,g=12u,h=007i 1",
       {"m/a double:-1.5 1", "m/b double:0.5 1", "m/c double:1 1", "m/d double:1000 1",
        "m/e double:0.0015 1", "m/f int64:0 1", "m/g int64:12 1", "m/h int64:7 1"}},
      {"m a=9223372036854775807i,b=-9223372036854775808i,c=9223372036854775807u 1",
       {"m/a int64:9223372036854775807 1", "m/b int64:-9223372036854775808 1",
        "m/c int64:9223372036854775807 1"}},
      // Booleans.
      {"m a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE 1",
       {"m/a bool:true 1", "m/b bool:true 1", "m/c bool:true 1", "m/d bool:true 1", "m/e bool:true 1",
        "m/f bool:false 1", "m/g bool:false 1", "m/h bool:false 1", "m/i bool:false 1", "m/j bool:false 1"}},
      // Strings: escapes, separators and newlines inside quotes.
      {"m s=\"a \\\"q\\\" \\\\ \\n, b=c\" 1", {"m/s string:a \"q\" \\ \\n, b=c 1"}},
      {"m s=\"two\nlines\",v=1 5", {"m/s string:two\nlines 5", "m/v double:1 5"}},
      {"m s=\"\" 1", {"m/s string: 1"}},
      // Escapes in names: the series key keeps them, field keys are unescaped.
      {"my\\ meas\\,x,ta\\=g=v\\ 1\\,2 f\\ k\\=\\,=1 7", {"my\\ meas\\,x,ta\\=g=v\\ 1\\,2/f k=, double:1 7"}},
      // '=' needs no escape in a measurement; an unknown escape stays literal.
      {"a=b,t=x\\y v=1 1", {"a=b,t=x\\y/v double:1 1"}},
      // Missing timestamp: server time.
      {"m v=1", {"m/v double:1 1700000000123456789"}},
      {"m v=1   ", {"m/v double:1 1700000000123456789"}},
      // Comments, blank lines, leading whitespace, CRLF.
      {"# comment\n\n   \n  m v=1 1\r\nm v=2 2\r\n# end", {"m/v double:1 1", "m/v double:2 2"}},
      // Negative timestamps and multiple spaces.
      {"m  v=1  -5", {"m/v double:1 -5"}},
      // Precision.
      {"m v=1 3", {"m/v double:1 3000"}, Precision::kMicroseconds},
      {"m v=1 3", {"m/v double:1 3000000"}, Precision::kMilliseconds},
      {"m v=1 3", {"m/v double:1 3000000000"}, Precision::kSeconds},
      {"m v=1 2", {"m/v double:1 120000000000"}, Precision::kMinutes},
      // Server time is truncated to the precision.
      {"m v=1", {"m/v double:1 1700000000000000000"}, Precision::kSeconds},
      {"", {}},
      {"\n\n# only comments\n", {}},
  };
  for (const ValidCase& c : cases) {
    LineBatch batch;
    core::Status s = ParseLineProtocol(c.input, Opts(c.precision), &batch);
    ASSERT_TRUE(s.ok()) << c.input << " -> " << s.ToString();
    EXPECT_EQ(Render(batch), c.want) << c.input;
  }
}

struct InvalidCase {
  std::string input;
  std::string want_message;  // substring of the message
  int line;
  int column;
};

TEST(LineProtocolTest, InvalidLines) {
  const std::vector<InvalidCase> cases = {
      {"cpu", "line 1: missing fields", 1, 4},
      {"cpu ", "missing fields", 1, 5},
      {",host=a v=1", "missing measurement", 1, 1},
      {"cpu, v=1", "missing tag key", 1, 5},
      {"cpu,host v=1", "missing tag value for tag key \"host\"", 1, 9},
      {"cpu,host= v=1", "missing tag value for tag key \"host\"", 1, 10},
      {"cpu,host=a=b v=1", "unescaped '='", 1, 11},
      {"cpu,host=a,host=b v=1", "duplicate tag key \"host\"", 1, 1},
      {"cpu,host=a", "missing fields", 1, 11},
      {"m =1", "missing field key", 1, 3},
      {"m v", "missing '=' and value after field key \"v\"", 1, 4},
      {"m v=", "missing value for field key \"v\"", 1, 5},
      {"m v=,w=1", "missing value for field key \"v\"", 1, 5},
      {"m v=1,", "missing field key after ','", 1, 7},
      {"m v=1,w=2,v=3", "duplicate field key \"v\"", 1, 1},
      {"m\nm v=1 1\nm temp=abc", "line 1: missing fields", 1, 2},
      {"m v=1 1\nm v=2 2\nm temp=abc", "line 3: invalid field value for key \"temp\": expected a number, bool or "
                                      "quoted string", 3, 8},
      {"m v=1.1.1", "invalid number \"1.1.1\"", 1, 5},
      {"m v=1e", "invalid number", 1, 5},
      {"m v=-", "invalid number", 1, 5},
      {"m v=-inf", "invalid number", 1, 5},
      {"m v=NaN", "expected a number, bool or quoted string", 1, 5},
      {"m v=+1", "expected a number, bool or quoted string", 1, 5},
      {"m v=1.5i", "invalid integer \"1.5i\"", 1, 5},
      {"m v=1e3i", "invalid integer", 1, 5},
      {"m v=9i9", "invalid number", 1, 5},
      {"m v=-1u", "invalid unsigned integer", 1, 5},
      {"m v=9223372036854775808i", "out of range", 1, 5},
      {"m v=-9223372036854775809i", "out of range", 1, 5},
      {"m v=9223372036854775808u", "exceeds the int64 range", 1, 5},
      {"m v=18446744073709551616u", "out of range", 1, 5},
      {"m v=1e400", "float \"1e400\" for field key \"v\" is out of range", 1, 5},
      {"m v=tru", "invalid boolean \"tru\"", 1, 5},
      {"m v=truee", "invalid boolean", 1, 5},
      {"m v=\"abc", "unterminated string value for field key \"v\"", 1, 5},
      {"m v=1 1\nm s=\"abc\\\"", "line 2: unterminated string", 2, 5},
      {"m v=\"a\"x", "unexpected character 'x' after the value of field \"v\"", 1, 8},
      {"m v=1 12a", "invalid timestamp \"12a\"", 1, 7},
      {"m v=1 1.5", "invalid timestamp", 1, 7},
      {"m v=1 1 2", "unexpected characters after the timestamp", 1, 9},
      {"m v=1 1 garbage", "unexpected characters after the timestamp", 1, 9},
      {"m v=1 99999999999999999999", "out of range", 1, 7},
  };
  for (const InvalidCase& c : cases) {
    LineBatch batch;
    core::Status s = ParseLineProtocol(c.input, Opts(), &batch);
    ASSERT_FALSE(s.ok()) << c.input;
    EXPECT_TRUE(s.IsInvalidArgument()) << c.input;
    EXPECT_NE(s.message().find(c.want_message), std::string::npos) << c.input << " -> " << s.message();
    EXPECT_EQ(s.context().line, c.line) << c.input << " -> " << s.message();
    EXPECT_EQ(s.context().column, c.column) << c.input << " -> " << s.message();
    EXPECT_TRUE(batch.empty()) << c.input;
  }
}

TEST(LineProtocolTest, TimestampOverflowAfterScaling) {
  LineBatch batch;
  EXPECT_TRUE(ParseLineProtocol("m v=1 9223372036854775807", Opts(), &batch).ok());
  core::Status s = ParseLineProtocol("m v=1 9223372036854775807", Opts(Precision::kSeconds), &batch);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("out of range"), std::string::npos);
}

TEST(LineProtocolTest, BadLineLeavesBatchEmptyAndNamesLine) {
  LineBatch batch;
  ASSERT_TRUE(ParseLineProtocol("m v=1 1\nm v=2 2", Opts(), &batch).ok());
  EXPECT_EQ(batch.points().size(), 2u);
  core::Status s = ParseLineProtocol("m v=1 1\nm v=2 2\nm v=oops 3\nm v=4 4", Opts(), &batch);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("line 3: ", 0), 0u) << s.message();
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(batch.total_fields(), 0u);
}

TEST(LineProtocolTest, PointsExposeUnescapedNamesAndLines) {
  LineBatch batch;
  ASSERT_TRUE(ParseLineProtocol("\n# c\nweather\\ now,b\\ k=v\\,1,a=x temp=1,\"q\"=2 1", Opts(), &batch).ok());
  ASSERT_EQ(batch.points().size(), 1u);
  const LinePoint& p = batch.points()[0];
  EXPECT_EQ(p.line, 3);
  EXPECT_EQ(p.measurement, "weather now");
  EXPECT_EQ(p.raw_measurement, "weather\\ now");
  auto tags = batch.tags(p);
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[0].key, "a");
  EXPECT_EQ(tags[1].key, "b k");
  EXPECT_EQ(tags[1].value, "v,1");
  auto fields = batch.fields(p);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[1].key, "\"q\"");
  EXPECT_TRUE(fields[1].value.IdenticalTo(Value(2.0)));
}

TEST(LineProtocolTest, TinyFloatUnderflowsToZeroLikeInfluxDB) {
  LineBatch batch;
  ASSERT_TRUE(ParseLineProtocol("m v=1e-400 1", Opts(), &batch).ok());
  const LineField& f = batch.fields(batch.points()[0])[0];
  ASSERT_TRUE(f.value.is_double());
  EXPECT_LT(std::fabs(f.value.as_double()), 1e-300);
}

TEST(LineProtocolTest, ManyFieldsDuplicateDetection) {
  std::string line = "m ";
  for (int i = 0; i < 100; ++i) line += "f" + std::to_string(i) + "=" + std::to_string(i) + ",";
  std::string ok_line = line.substr(0, line.size() - 1) + " 1";
  LineBatch batch;
  ASSERT_TRUE(ParseLineProtocol(ok_line, Opts(), &batch).ok());
  EXPECT_EQ(batch.total_fields(), 100u);
  core::Status s = ParseLineProtocol(line + "f42=1 1", Opts(), &batch);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("duplicate field key \"f42\""), std::string::npos);
}

TEST(LineProtocolTest, ParsePrecisionNames) {
  EXPECT_EQ(*ParsePrecision("ns"), Precision::kNanoseconds);
  EXPECT_EQ(*ParsePrecision("n"), Precision::kNanoseconds);
  EXPECT_EQ(*ParsePrecision("us"), Precision::kMicroseconds);
  EXPECT_EQ(*ParsePrecision("u"), Precision::kMicroseconds);
  EXPECT_EQ(*ParsePrecision("ms"), Precision::kMilliseconds);
  EXPECT_EQ(*ParsePrecision("s"), Precision::kSeconds);
  EXPECT_FALSE(ParsePrecision("sec").ok());
  EXPECT_FALSE(ParsePrecision("").ok());
  EXPECT_EQ(PrecisionUnit(Precision::kHours), core::kHour);
}

}  // namespace
}  // namespace shopfloor::connect
