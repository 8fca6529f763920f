// Tests of the storage benchmark's building blocks: the JSON reader, line protocol output,
// the datasets and the parsers of the real data files and of InfluxDB answers.
#include <bit>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "bench/storage/factory_dataset.h"
#include "bench/storage/json_reader.h"
#include "bench/storage/line_protocol.h"
#include "bench/storage/real_dataset.h"
#include "bench/storage/tsdb_client.h"

namespace shopfloor::bench {
namespace {

using core::Value;

TEST(JsonReader, KeepsNumberTextAndStructure) {
  auto v = ParseJson(R"( {"a":[1,-0,2.50,1e-3,true,null,"x\"\u00e9\ud83d\ude00"],"b":{}} )");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const JsonValue* a = v->Find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->items.size(), 7u);
  EXPECT_EQ(a->items[1].text, "-0");
  EXPECT_EQ(a->items[2].text, "2.50");
  EXPECT_TRUE(a->items[4].boolean);
  EXPECT_TRUE(a->items[5].is_null());
  EXPECT_EQ(a->items[6].text, "x\"\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_TRUE(v->Find("b")->is_object());
  EXPECT_EQ(v->Find("c"), nullptr);

  auto minus_zero = JsonToDouble(a->items[1]);
  ASSERT_TRUE(minus_zero.ok());
  EXPECT_TRUE(std::signbit(*minus_zero));
  EXPECT_FALSE(JsonToInt64(a->items[2]).ok());
  EXPECT_EQ(*JsonToInt64(a->items[0]), 1);
}

TEST(JsonReader, RejectsMalformedInputWithOffset) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\x\"", "\"\\ud800\"", "[1] 2",
                          "tru", "\"a\nb\"", "{1:2}"}) {
    auto v = ParseJson(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_TRUE(v.status().IsInvalidArgument());
    EXPECT_TRUE(v.status().context().offset.has_value()) << bad;
  }
  std::string deep(kMaxJsonDepth + 1, '[');
  deep += std::string(kMaxJsonDepth + 1, ']');
  EXPECT_FALSE(ParseJson(deep).ok());
  std::string ok_depth(kMaxJsonDepth - 1, '[');
  ok_depth += std::string(kMaxJsonDepth - 1, ']');
  EXPECT_TRUE(ParseJson(ok_depth).ok());
}

TEST(LineProtocol, FormatsRecordsWithTypesAndEscapes) {
  std::vector<SeriesGroup> groups(1);
  groups[0].measurement = "m x,y";
  groups[0].tags = {{"a=b", "c d"}};
  groups[0].fields = {"f", "i", "b", "s"};
  groups[0].types = {core::ValueType::kDouble, core::ValueType::kInt64, core::ValueType::kBool,
                     core::ValueType::kString};
  LineProtocolWriter writer(groups);
  Record record{0, 1'704'326'400'000'000'000, {Value(21.3), Value(int64_t{-7}), Value(true), Value("q\"\\")}};
  std::string out;
  writer.Append(record, &out);
  EXPECT_EQ(out, "m\\ x\\,y,a\\=b=c\\ d f=21.3,i=-7i,b=true,s=\"q\\\"\\\\\" 1704326400000000000\n");
}

TEST(LineProtocol, DoublesRoundTripBitForBit) {
  std::mt19937_64 rng(42);
  std::vector<double> values = {0.0, -0.0, 0.1, 1e300, 5e-324, -123.456, 1e21, 2.2250738585072014e-308};
  for (int i = 0; i < 20000; ++i) {
    double d = std::bit_cast<double>(rng());
    if (std::isfinite(d)) values.push_back(d);
  }
  for (double d : values) {
    std::string text = FormatDouble(d);
    JsonValue number;
    number.kind = JsonValue::Kind::kNumber;
    number.text = text;
    auto back = JsonToDouble(number);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(std::bit_cast<uint64_t>(*back), std::bit_cast<uint64_t>(d)) << text;
  }
  EXPECT_EQ(FormatDouble(-0.0), "-0");
  EXPECT_EQ(FormatDouble(21.3), "21.3");
}

TEST(FactoryDataset, StreamMatchesExpectedAndIsQuantized) {
  auto ds = FactoryDataset::Create(30, 20 * core::kMinute);
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ((*ds)->points(), 30u * 1200u);
  EXPECT_EQ((*ds)->series_count(), 30u);
  EXPECT_EQ((*ds)->label(), "factory 30 series x 20 min @1s");
  // The stream, series by series.
  std::vector<std::vector<std::vector<core::Sample>>> seen(3, std::vector<std::vector<core::Sample>>(10));
  Record r;
  uint64_t points = 0;
  int states_seen = 0;
  std::set<int64_t> states;
  while ((*ds)->Next(&r)) {
    for (size_t f = 0; f < r.values.size(); ++f) {
      seen[r.group][f].push_back(core::Sample{r.ts, r.values[f], core::Quality::Good()});
      ++points;
    }
    double t = r.values[0].as_double();
    EXPECT_EQ(std::round(t * 10), t * 10) << t;  // 0.1 degC resolution
    EXPECT_GT(t, 10.0);
    EXPECT_LT(t, 80.0);
    states.insert(r.values[7].as_int());
  }
  states_seen = static_cast<int>(states.size());
  EXPECT_EQ(points, (*ds)->points());
  EXPECT_GE(states_seen, 2);
  for (int g = 0; g < 3; ++g) {
    for (int f = 0; f < 10; ++f) {
      auto expected = (*ds)->Expected(SeriesRef{g, f}, (*ds)->first_ts(), (*ds)->last_ts() + 1);
      ASSERT_EQ(expected.size(), seen[g][f].size());
      for (size_t i = 0; i < expected.size(); ++i) {
        ASSERT_EQ(expected[i].ts, seen[g][f][i].ts);
        ASSERT_TRUE(expected[i].value.IdenticalTo(seen[g][f][i].value)) << g << "/" << f << " #" << i;
      }
    }
  }
  // The part counter never goes down; a sub-range of Expected is a slice of the whole.
  const auto counts = (*ds)->Expected(SeriesRef{1, 6}, (*ds)->first_ts(), (*ds)->last_ts() + 1);
  for (size_t i = 1; i < counts.size(); ++i) EXPECT_GE(counts[i].value.as_int(), counts[i - 1].value.as_int());
  auto slice = (*ds)->Expected(SeriesRef{1, 6}, (*ds)->first_ts() + 10 * core::kSecond + 1,
                               (*ds)->first_ts() + 20 * core::kSecond);
  ASSERT_EQ(slice.size(), 9u);
  EXPECT_EQ(slice[0].ts, (*ds)->first_ts() + 11 * core::kSecond);
  (*ds)->Rewind();
  ASSERT_TRUE((*ds)->Next(&r));
  EXPECT_EQ(r.ts, kFactoryStart);

  EXPECT_FALSE(FactoryDataset::Create(15, core::kMinute).ok());
  EXPECT_FALSE(FactoryDataset::Create(10, core::kMillisecond).ok());
}

TEST(RealDataParsers, ParseGoodFiles) {
  RecordTable table;
  ASSERT_TRUE(ParseNabCsv("timestamp,value\r\n2014-07-01 00:00:00,10844\n2014-07-01 00:30:00,-0.5\n", "taxi", &table).ok());
  ASSERT_TRUE(ParseSkabCsv("datetime;Acc RMS;Current;anomaly;changepoint\n2020-03-09 10:14:33;0.02;-0.0;0.0;1.0\n",
                           "valve1_0", &table)
                  .ok());
  std::string cmapss;
  for (int unit = 1; unit <= 3; ++unit) {
    for (int cycle = 1; cycle <= 2; ++cycle) {
      cmapss += fmt::format("{} {} -0.0007 -0.0004 100.0", unit, cycle);
      for (int s = 0; s < 21; ++s) cmapss += " -0.0000";
      cmapss += "  \n";
    }
  }
  ASSERT_TRUE(ParseCmapss(cmapss, "train_FD001", 2, kFactoryStart, &table).ok());
  ASSERT_EQ(table.groups.size(), 4u);
  EXPECT_EQ(table.groups[1].fields, (std::vector<std::string>{"acc_rms", "current"}));
  EXPECT_EQ(table.groups[3].tags[0].second, "train_FD001_u002");
  ASSERT_EQ(table.records.size(), 2u + 1u + 4u);
  EXPECT_EQ(table.records[0].ts, 1'404'172'800LL * core::kSecond);
  EXPECT_EQ(table.records[0].values[0].as_double(), 10844.0);
  EXPECT_TRUE(std::signbit(table.records[2].values[1].as_double()));
  EXPECT_EQ(table.records[3].group, 2);
  EXPECT_EQ(table.records[6].group, 3);
  EXPECT_EQ(table.records[6].ts, kFactoryStart + 2 * core::kSecond);
  EXPECT_EQ(table.records[6].values.size(), 24u);
}

TEST(RealDataParsers, BadInputNamesFileAndLine) {
  RecordTable table;
  auto s = ParseNabCsv("timestamp,value\n2014-07-01 00:00:00,1\n2014-07-01 25:00:00,1\n", "f", &table);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.context().file, "f");
  EXPECT_EQ(s.context().line, 3);
  EXPECT_FALSE(ParseNabCsv("time,value\n", "f", &table).ok());
  EXPECT_FALSE(ParseNabCsv("timestamp,value\n2014-07-01 00:00:00,nan\n", "f", &table).ok());
  EXPECT_FALSE(ParseNabCsv("timestamp,value\n2014-07-01 00:00:00,1,2\n", "f", &table).ok());
  EXPECT_FALSE(ParseSkabCsv("datetime;a;a\n", "f", &table).ok());
  EXPECT_FALSE(ParseSkabCsv("datetime;a\n2020-03-09 10:14:33;1;2\n", "f", &table).ok());
  EXPECT_FALSE(ParseCmapss("1 1 2 3\n", "f", 0, 0, &table).ok());
  EXPECT_FALSE(ParseDateTime("2014-13-01 00:00:00").ok());
  EXPECT_FALSE(ParseDateTime("2014-01-01T00:00:00").ok());
  EXPECT_FALSE(ParseDateTime("9999-01-01 00:00:00").ok());
  EXPECT_TRUE(table.groups.empty());
  EXPECT_TRUE(table.records.empty());
}

TEST(RealDataset, LoadsSmokeSubsetFromSharedData) {
  std::string root = SHOPFLOOR_SHARED_DATA;
  if (!std::filesystem::exists(root + "/nab")) GTEST_SKIP() << "no shared data at " << root;
  auto ds = RealDataset::Load(root, RealDataset::Size::kSmoke);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  // NAB machine temperature (1 series), SKAB valve1/0 (8), C-MAPSS FD001 units 1-5 (5 x 24).
  EXPECT_EQ((*ds)->series_count(), 1u + 8u + 120u);
  // machine_temperature has duplicate timestamps: the expectation keeps one sample per ts.
  auto nab = (*ds)->Expected(SeriesRef{0, 0}, std::numeric_limits<core::Timestamp>::min(),
                             std::numeric_limits<core::Timestamp>::max());
  EXPECT_GT(nab.size(), 22000u);
  EXPECT_LT(nab.size(), 22695u);
}

TEST(InfluxResponse, ParsesTablesAndErrors) {
  auto tables = ParseInfluxQueryResponse(
      R"({"results":[{"statement_id":0,"series":[{"name":"machine","tags":{"machine":"M0000"},)"
      R"("columns":["time","last_temp","last_n"],"values":[[0,-0,7]]}]}]})");
  ASSERT_TRUE(tables.ok()) << tables.status().ToString();
  ASSERT_EQ(tables->size(), 1u);
  EXPECT_EQ((*tables)[0].tags[0].second, "M0000");
  auto v = JsonToValue((*tables)[0].rows[0][1], core::ValueType::kDouble);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->IdenticalTo(Value(-0.0)));
  EXPECT_FALSE(JsonToValue((*tables)[0].rows[0][1], core::ValueType::kBool).ok());
  EXPECT_TRUE(ParseInfluxQueryResponse(R"({"results":[{"statement_id":0}]})")->empty());

  auto err = ParseInfluxQueryResponse(R"({"results":[{"statement_id":0,"error":"database not found: x"}]})");
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.status().message().find("database not found"), std::string::npos);
  EXPECT_FALSE(ParseInfluxQueryResponse(R"({"error":"bad"})").ok());
  EXPECT_FALSE(ParseInfluxQueryResponse(
                   R"({"results":[{"series":[{"columns":["time","a"],"values":[[1]]}]}]})")
                   .ok());
}

TEST(ShopfloorKey, FollowsTheLineProtocolMapping) {
  SeriesGroup g;
  g.measurement = "machine";
  g.tags = {{"line", "L00"}, {"machine", "M 1"}};
  g.fields = {"temp_motor"};
  EXPECT_EQ(ShopfloorSeriesKey(g, 0), "machine,line=L00,machine=M\\ 1/temp_motor");
}

}  // namespace
}  // namespace shopfloor::bench
