// LinePush: bodies reach the HTTP endpoint in order with the bearer token; a 4xx is dropped,
// an unreachable endpoint is retried; the queue is bounded by bytes.
#include "sim/line_push.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace shopfloor::sim {
namespace {

// A tiny HTTP server: answers each request with `status` and records the request.
class FakeIngest {
 public:
  explicit FakeIngest(int status) : status_(status) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 8);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeIngest() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Run() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[65536];
      size_t need = std::string::npos;
      while (need == std::string::npos || req.size() < need) {
        ssize_t n = recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
        size_t head = req.find("\r\n\r\n");
        size_t cl = req.find("Content-Length: ");
        if (head != std::string::npos && cl != std::string::npos) need = head + 4 + std::stoul(req.substr(cl + 16));
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(req);
      }
      std::string answer = "HTTP/1.1 " + std::to_string(status_) + " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno";
      send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
      close(c);
    }
  }
  int status_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

TEST(LinePushTest, PostsInOrderWithTheToken) {
  FakeIngest ingest(204);
  LinePush push("127.0.0.1", ingest.port(), "sft_secret");
  push.Send("m a=1 1\n");
  push.Send("m a=2 2\n");
  ASSERT_TRUE(push.Flush(5000));
  auto requests = ingest.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_NE(requests[0].find("POST /write?precision=ns"), std::string::npos) << requests[0];
  EXPECT_NE(requests[0].find("Authorization: Bearer sft_secret"), std::string::npos);
  EXPECT_NE(requests[0].find("m a=1 1"), std::string::npos);
  EXPECT_NE(requests[1].find("m a=2 2"), std::string::npos);
  EXPECT_EQ(push.stats().posted, 2u);
  EXPECT_EQ(push.stats().queued_bytes, 0u);
}

TEST(LinePushTest, ARefusedBodyIsDroppedNotRetried) {
  FakeIngest ingest(400);
  LinePush push("127.0.0.1", ingest.port(), "t");
  push.Send("bad line\n");
  ASSERT_TRUE(push.Flush(5000));
  EXPECT_EQ(ingest.requests().size(), 1u);
  EXPECT_EQ(push.stats().refused, 1u);
  EXPECT_NE(push.stats().last_error.find("400"), std::string::npos);
}

TEST(LinePushTest, AnUnreachableEndpointIsRetriedAndTheQueueStaysBounded) {
  int probe = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len);
  close(probe);  // nothing listens there now
  LinePush push("127.0.0.1", ntohs(addr.sin_port), "t", 256, 4u << 20);
  const std::string mib(1u << 20, 'x');
  for (int i = 0; i < 10; ++i) push.Send(mib);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const LinePushStats stats = push.stats();
  EXPECT_LE(stats.queued_bytes, 4u << 20);
  EXPECT_GE(stats.dropped, 6u);
  EXPECT_GE(stats.retries, 1u);
  EXPECT_EQ(stats.posted, 0u);
  EXPECT_FALSE(push.Flush(100));
}

}  // namespace
}  // namespace shopfloor::sim
