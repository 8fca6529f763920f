#include "server/query_params.h"

#include <gtest/gtest.h>

namespace shopfloor::server {
namespace {

TEST(QueryParamsTest, SplitsAndDecodes) {
  auto p = QueryParams::Parse("/api/v1/query?series=a%2Fb+c&empty=&flag&x=1&x=2");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->path(), "/api/v1/query");
  EXPECT_EQ(*p->Get("series"), "a/b c");
  EXPECT_EQ(*p->Get("empty"), "");
  EXPECT_EQ(*p->Get("flag"), "");
  EXPECT_EQ(*p->Get("x"), "1");
  EXPECT_EQ(p->Get("missing"), nullptr);
  EXPECT_FALSE(QueryParams::Parse("/q?a=%4").ok());
  EXPECT_FALSE(QueryParams::Parse("/q?a=%G0").ok());
  EXPECT_FALSE(QueryParams::Parse("/q?a%=1").ok());
}

TEST(QueryParamsTest, Rfc3339) {
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseRfc3339("2023-11-14T22:13:20Z"), 1'700'000'000LL * core::kSecond);
  EXPECT_EQ(*ParseRfc3339("2023-11-14T23:13:20.5+01:00"), 1'700'000'000LL * core::kSecond + 500'000'000);
  EXPECT_EQ(*ParseRfc3339("1969-12-31T23:59:59.999999999Z"), -1);
  EXPECT_EQ(*ParseRfc3339("2024-02-29T00:00:00z"), 1'709'164'800LL * core::kSecond);
  for (const char* bad : {"2023-02-29T00:00:00Z", "2023-11-14", "2023-11-14T25:00:00Z", "2023-11-14T22:13:20",
                          "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20Zx", "9999-01-01T00:00:00Z", "",
                          "2023-11-14T22:13:20+1:00"}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
  }
}

TEST(QueryParamsTest, TimeAndStepParams) {
  EXPECT_EQ(*ParseTimeParam("from", "1500", core::kMillisecond), 1'500'000'000);
  EXPECT_EQ(*ParseTimeParam("from", "-2", core::kSecond), -2 * core::kSecond);
  EXPECT_EQ(*ParseTimeParam("from", "1970-01-01T00:00:01Z", core::kMillisecond), core::kSecond);
  auto bad = ParseTimeParam("from", "12x", core::kMillisecond);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"from\""), std::string::npos);
  EXPECT_FALSE(ParseTimeParam("to", "99999999999999999", core::kSecond).ok());

  EXPECT_EQ(*ParseStepParam("step", "1m", core::kMillisecond), core::kMinute);
  EXPECT_EQ(*ParseStepParam("step", "3600s", core::kMillisecond), core::kHour);
  EXPECT_EQ(*ParseStepParam("step", "500ms", core::kSecond), 500 * core::kMillisecond);
  EXPECT_EQ(*ParseStepParam("step", "250", core::kMillisecond), 250 * core::kMillisecond);
  EXPECT_EQ(*ParseStepParam("step", "1d", core::kMillisecond), core::kDay);
  for (const char* b : {"", "0", "0s", "-1m", "m", "1.5m", "99999999999999h"}) {
    EXPECT_FALSE(ParseStepParam("step", b, core::kSecond).ok()) << b;
  }
  EXPECT_EQ(*ParseUintParam("max_points", "10"), 10u);
  EXPECT_FALSE(ParseUintParam("max_points", "1e3").ok());
}

}  // namespace
}  // namespace shopfloor::server
