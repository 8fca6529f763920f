// The server over real sockets: keep-alive, limits, timeouts, concurrency, end to end.
#include "server/server.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fake_storage.h"
#include "http_test_client.h"

namespace shopfloor::server {
namespace {

using boost::beast::http::verb;
using testing::TestHttpClient;

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    options.port = 0;
    auto server = HttpServer::Start(options, &storage_, core::Clock::System());
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    ASSERT_NE(server_->port(), 0);
  }

  testing::FakeStorage storage_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, WriteThenQueryOverHttp) {
  StartServer();
  TestHttpClient client(server_->port());
  auto w = client.Request(verb::post, "/write?db=telegraf&precision=s", "m,h=a v=1.5 10\nm,h=a v=2.5 20\n");
  ASSERT_EQ(w.status, 204) << w.body;
  auto q = client.Request(verb::get, "/api/v1/query?series=m,h%3Da/v&from=0&to=30&precision=s");
  ASSERT_EQ(q.status, 200) << q.body;
  EXPECT_EQ(q.body, R"({"series":"m,h=a/v","type":"double","points":[[10,1.5],[20,2.5]]})");
  auto bad = client.Request(verb::post, "/write", "m v=1 1\nm v=2 2\nm v=\"x 3\n");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("line 3: unterminated string"), std::string::npos) << bad.body;
  EXPECT_EQ(storage_.total_samples(), 2u);
}

TEST_F(HttpServerTest, ErrorStatusesHaveJsonBodies) {
  StartServer();
  TestHttpClient client(server_->port());
  auto r = client.Request(verb::get, "/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"error":{"code":404,"message":"no such endpoint: /nothing"}})");
  r = client.Request(verb::put, "/write", "m v=1");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "POST");
  r = client.Request(verb::get, "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ok"})");
  EXPECT_TRUE(r.keep_alive);
}

TEST_F(HttpServerTest, BodyOverLimitIs413AndConnectionCloses) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);
  TestHttpClient client(server_->port());
  std::string body;
  while (body.size() < 4096) body += "m v=1 1\n";
  auto r = client.Request(verb::post, "/write", body);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_NE(r.body.find("1024"), std::string::npos);
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(storage_.total_samples(), 0u);
  TestHttpClient ok(server_->port());
  EXPECT_EQ(ok.Request(verb::post, "/write", "m v=1 1").status, 204);
}

TEST_F(HttpServerTest, MalformedHttpIs400) {
  StartServer();
  TestHttpClient client(server_->port());
  auto r = client.Raw("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  StartServer();
  TestHttpClient client(server_->port());
  for (int i = 0; i < 500; ++i) {
    auto r = client.Request(verb::post, "/write?precision=ms", "k v=" + std::to_string(i) + " " + std::to_string(i));
    ASSERT_EQ(r.status, 204) << i << " " << r.body;
    ASSERT_TRUE(r.keep_alive);
  }
  EXPECT_EQ(storage_.total_samples(), 500u);
  auto last = client.Request(verb::get, "/healthz", {}, /*keep_alive=*/false);
  EXPECT_EQ(last.status, 200);
  EXPECT_TRUE(client.ReadsEof());
}

TEST_F(HttpServerTest, IdleConnectionIsClosedAfterTimeout) {
  HttpServerOptions options;
  options.request_timeout_ms = 200;
  StartServer(options);
  TestHttpClient client(server_->port());
  ASSERT_EQ(client.Request(verb::get, "/healthz").status, 200);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.ReadsEof());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(HttpServerTest, ConcurrentClients) {
  HttpServerOptions options;
  options.threads = 4;
  StartServer(options);
  constexpr int kClients = 8;
  constexpr int kRequests = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      TestHttpClient client(server_->port());
      for (int i = 0; i < kRequests; ++i) {
        std::string body = "c,client=" + std::to_string(c) + " v=" + std::to_string(i) + ",shared=1 " +
                           std::to_string(c * kRequests + i);
        if (client.Request(verb::post, "/write", body).status != 204) failures++;
        if (i % 10 == 0 && client.Request(verb::get, "/api/v1/series?match=c,client%3D*/v").status != 200) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(storage_.total_samples(), static_cast<size_t>(kClients * kRequests * 2));
  EXPECT_EQ(storage_.stats().series, static_cast<uint64_t>(kClients * 2));
}

TEST_F(HttpServerTest, StartFailsWithClearStatusWhenPortIsTaken) {
  StartServer();
  HttpServerOptions options;
  options.port = server_->port();
  auto second = HttpServer::Start(options, &storage_, core::Clock::System());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find(std::to_string(server_->port())), std::string::npos);
  options.host = "not an address";
  EXPECT_FALSE(HttpServer::Start(options, &storage_, core::Clock::System()).ok());
}

TEST_F(HttpServerTest, StopIsIdempotent) {
  StartServer();
  server_->Stop();
  server_->Stop();
}

}  // namespace
}  // namespace shopfloor::server
