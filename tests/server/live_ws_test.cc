// /api/v1/live over real sockets: a server with a bus and a writer, Beast WebSocket
// clients, writes through POST /write.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fake_storage.h"
#include "http_test_client.h"
#include "ingest/bus.h"
#include "ingest/writer.h"
#include "server/server.h"
#include "ws_test_client.h"

namespace shopfloor::server {
namespace {

using boost::beast::http::verb;
using Json = nlohmann::json;
using testing::TestHttpClient;
using testing::UpgradeRequest;
using testing::WsTestClient;
using Clock = std::chrono::steady_clock;

// Resident set size of this process (the server runs in it).
int64_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

class LiveWsTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    options.port = 0;
    options.allow_anonymous = true;
    Services services;
    services.storage = &storage_;
    services.clock = core::Clock::System();
    services.bus = &bus_;
    services.writer = &writer_;
    auto server = HttpServer::Start(options, services);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }
  void Post(TestHttpClient* http, const std::string& lines) {
    auto r = http->Request(verb::post, "/write?precision=ns", lines);
    ASSERT_EQ(r.status, 204) << r.body;
  }
  static Json Next(WsTestClient* ws, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto text = ws->Read(timeout);
    if (!text) return Json();
    return Json::parse(*text);
  }

  testing::FakeStorage storage_;
  ingest::Bus bus_;
  ingest::Writer writer_{&storage_, &bus_};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(LiveWsTest, PlainGetIsNotAnUpgrade) {
  StartServer();
  TestHttpClient http(server_->port());
  auto r = http.Request(verb::get, "/api/v1/live");
  EXPECT_EQ(r.status, 426);
  EXPECT_NE(r.body.find("WebSocket"), std::string::npos);
}

TEST_F(LiveWsTest, WithoutABusLiveDataIsUnavailable) {
  HttpServerOptions options;
  options.port = 0;
  auto server = HttpServer::Start(options, &storage_, core::Clock::System());
  ASSERT_TRUE(server.ok());
  WsTestClient ws((*server)->port());
  EXPECT_NE(ws.error().find("declined"), std::string::npos) << ws.error();
  auto [status, body] = UpgradeRequest((*server)->port(), "/api/v1/live");
  EXPECT_EQ(status, 503);
  EXPECT_NE(body.find("live data is not enabled"), std::string::npos) << body;
}

TEST_F(LiveWsTest, SubscriberSeesWritesWithin50Ms) {
  StartServer();
  TestHttpClient http(server_->port());
  Post(&http, "line,cell=c1 temp=0 1\n");
  WsTestClient ws(server_->port());
  ASSERT_EQ(ws.error(), "");
  ASSERT_TRUE(ws.Send(R"({"op":"subscribe","id":"c1","series":["line,cell=c1/temp","no/such"]})"));
  Json ack = Next(&ws);
  ASSERT_EQ(ack["type"], "ack") << ack;
  EXPECT_EQ(ack["series"], 1);
  EXPECT_EQ(ack["unknown"], Json::array({"no/such"}));
  Json snapshot = Next(&ws);
  ASSERT_EQ(snapshot["type"], "snapshot") << snapshot;
  EXPECT_EQ(snapshot["samples"][0]["value"], 0.0);

  std::vector<double> latency_ms;
  for (int i = 1; i <= 100; ++i) {
    const auto start = Clock::now();
    Post(&http, fmt::format("line,cell=c1 temp={} {}\n", i, 1 + i));
    bool seen = false;
    while (!seen) {
      Json update = Next(&ws, std::chrono::seconds(2));
      ASSERT_EQ(update["type"], "update") << update << " " << ws.error();
      for (const Json& s : update["samples"]) seen |= s["value"] == double(i);
    }
    latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(latency_ms.begin(), latency_ms.end());
  const double p50 = latency_ms[49], p99 = latency_ms[98];
  std::printf("write -> live update latency over 100 writes: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", p50, p99,
              latency_ms.back());
  EXPECT_LT(p99, 50.0);
}

TEST_F(LiveWsTest, BadMessagesGetErrorsAndTheSessionContinues) {
  StartServer();
  TestHttpClient http(server_->port());
  Post(&http, "m v=1 1\n");
  WsTestClient ws(server_->port());
  ASSERT_TRUE(ws.Send("{\"op\":\"subscribe\",\"id\":7}"));
  Json error = Next(&ws);
  EXPECT_EQ(error["type"], "error");
  EXPECT_NE(error["message"].get<std::string>().find("field \"id\""), std::string::npos) << error;
  ASSERT_TRUE(ws.Send(R"({"op":"subscribe","id":"a","asset":"m"})"));
  EXPECT_EQ(Next(&ws)["type"], "ack");
  EXPECT_EQ(Next(&ws)["type"], "snapshot");
  // Over the 64 KiB message limit: the server closes the connection.
  ASSERT_TRUE(ws.Send(std::string(70 << 10, ' ')));
  EXPECT_TRUE(Next(&ws).is_null());
  EXPECT_FALSE(ws.error().empty());
}

TEST_F(LiveWsTest, SlowClientCostsBoundedMemoryAndSeesMissedAndLatest) {
  HttpServerOptions options;
  options.ws_ping_ms = 120'000;  // the client does not answer pings while it is not reading
  StartServer(options);
  constexpr int kSeries = 1000;
  constexpr int kRounds = 200;  // 200k samples
  TestHttpClient http(server_->port());
  std::string lines;
  for (int s = 0; s < kSeries; ++s) lines += fmt::format("slow,machine=m{} v=0 1\n", s);
  Post(&http, lines);

  WsTestClient ws(server_->port(), "/api/v1/live", /*rcvbuf=*/4096);
  ASSERT_EQ(ws.error(), "");
  ASSERT_TRUE(ws.Send(R"({"op":"subscribe","id":"all","asset":"slow,machine=m0"})"));
  ASSERT_EQ(Next(&ws)["type"], "ack");
  ASSERT_TRUE(ws.Send(R"({"op":"subscribe","id":"rest","series":[)" + [&] {
    std::string keys;
    for (int s = 0; s < kSeries; ++s) keys += fmt::format("{}\"slow,machine=m{}/v\"", s ? "," : "", s);
    return keys;
  }() + "]}"));

  // The client stops reading; the server keeps publishing.
  const int64_t rss_before = RssBytes();
  int64_t rss_peak = rss_before;
  for (int round = 1; round <= kRounds; ++round) {
    lines.clear();
    for (int s = 0; s < kSeries; ++s) lines += fmt::format("slow,machine=m{} v={} {}\n", s, round, 1 + round);
    Post(&http, lines);
    if (round % 20 == 0) rss_peak = std::max(rss_peak, RssBytes());
  }
  const int64_t growth = rss_peak - rss_before;
  std::printf("slow client: 200k samples written, server RSS growth %.1f MiB\n", double(growth) / (1 << 20));
#ifndef __SANITIZE_ADDRESS__  // ASan's quarantine keeps freed memory resident
  EXPECT_LT(growth, 64 << 20);
#endif

  // Now it reads: acks and snapshots, then updates whose last values are the newest.
  std::map<std::string, double> latest;
  uint64_t missed = 0;
  int updates = 0;
  auto done = [&] {
    if (latest.size() < size_t(kSeries)) return false;
    for (const auto& [key, value] : latest) {
      if (value != double(kRounds)) return false;
    }
    return true;
  };
  while (!done()) {
    Json message = Next(&ws, std::chrono::seconds(10));
    ASSERT_FALSE(message.is_null()) << ws.error() << " after " << updates << " updates";
    if (message["type"] == "update") {
      ++updates;
      missed += message["missed"].get<uint64_t>();
    }
    if (message.contains("samples")) {
      for (const Json& s : message["samples"]) latest[s["series"]] = s["value"].get<double>();
    }
  }
  std::printf("slow client: %d updates, missed %llu\n", updates, static_cast<unsigned long long>(missed));
  EXPECT_GT(missed, 0u);
  EXPECT_LT(updates, kRounds);  // coalesced: fewer updates than write rounds
}

}  // namespace
}  // namespace shopfloor::server
