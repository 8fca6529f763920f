// `shopfloor sim --backfill`: hours (in production: days) of history written into a data directory as fast as the
// machine allows, under the keys the live collectors use; `serve` then answers from it.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "serve_harness.h"

namespace shopfloor::app {
namespace {

using json = nlohmann::json;
using testing::Bearer;
using testing::HttpCall;
using testing::Sh;
using testing::TempDir;
using testing::UrlEncode;

TEST(SimCliTest, BackfillWritesHistoryThatServeAnswers) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const auto t0 = std::chrono::steady_clock::now();
  auto run = Sh("$SF sim --backfill 6h --data " + data + " --seed 3 2>&1");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("sim.backfill_done"), std::string::npos) << run.output;
  std::printf("backfill of 6 h took %.1f s\n", seconds);

  ASSERT_EQ(Sh("echo 'backfill-admin-pw' | $SF admin create-user --data " + data + " --name ada --role admin").exit_code, 0);
  auto token = Sh("$SF admin create-token --data " + data + " --user ada");
  ASSERT_EQ(token.exit_code, 0) << token.output;
  std::string secret = token.output.substr(0, token.output.find_first_of("\r\n"));
  testing::ServeProcess serve;
  std::string error;
  ASSERT_TRUE(serve.Start("", data, dir.path() + "/serve.log", &error)) << error;
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const std::string key : {"demo-works/stuttgart/utilities/compressor-1/discharge_pressure",
                                "demo-works/stuttgart/bottling/bottling-line/filler/fill_volume",
                                "sim/press-1/bearing_health"}) {
    SCOPED_TRACE(key);
    auto r = HttpCall(serve.port(), "GET",
                      "/api/v1/query?series=" + UrlEncode(key) + "&from=" + std::to_string(now_ms - 7 * 3600'000LL) +
                          "&to=" + std::to_string(now_ms) + "&step=1h&agg=count",
                      {}, Bearer(secret));
    ASSERT_EQ(r.status, 200) << r.body;
    const json rows = json::parse(r.body)["rows"];
    EXPECT_GE(rows.size(), 6u) << r.body;  // every hour of the 6 has data
    for (const auto& row : rows) EXPECT_GT(row[1].get<int64_t>(), 0) << r.body;
  }
  // The waveform bursts are there at their sample rate.
  auto burst = HttpCall(serve.port(), "GET",
                        "/api/v1/latest?series=" + UrlEncode("demo-works/stuttgart/body-shop/body-line/press-1/"
                                                             "vibration_waveform"),
                        {}, Bearer(secret));
  EXPECT_NE(burst.body.find("\"value\""), std::string::npos) << burst.body;
  EXPECT_EQ(serve.Stop(), 0);
}

TEST(SimCliTest, BackfillNeedsADataDirectoryAndAGoodDuration) {
  auto run = Sh("$SF sim --backfill 2h 2>&1");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--data"), std::string::npos) << run.output;
  run = Sh("$SF sim --backfill 2 parsecs --data /tmp/x 2>&1");
  EXPECT_NE(run.exit_code, 0) << run.output;
  run = Sh("$SF sim --backfill forever --data /tmp/x 2>&1");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--backfill"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace shopfloor::app
