#include "sim/line_push.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "core/log.h"

namespace shopfloor::sim {

namespace {

constexpr int kIoTimeoutMs = 10'000;

bool WaitFd(int fd, short events) {
  pollfd p{fd, events, 0};
  return poll(&p, 1, kIoTimeoutMs) == 1;
}

}  // namespace

LinePush::LinePush(std::string host, uint16_t port, std::string token, size_t max_queue, size_t max_queue_bytes)
    : host_(std::move(host)), port_(port), token_(std::move(token)), max_queue_(std::max<size_t>(max_queue, 1)),
      max_queue_bytes_(max_queue_bytes) {
  thread_ = std::thread([this] { Run(); });
}

LinePush::~LinePush() { Stop(); }

void LinePush::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LinePush::Send(std::string body) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // The front may be in flight (busy_); it stays until its POST ends.
    const size_t keep = busy_ ? 1 : 0;
    while (queue_.size() > keep &&
           (queue_.size() >= max_queue_ || stats_.queued_bytes + body.size() > max_queue_bytes_)) {
      auto oldest = queue_.begin() + static_cast<std::ptrdiff_t>(keep);
      stats_.queued_bytes -= oldest->size();
      queue_.erase(oldest);
      ++stats_.dropped;
    }
    stats_.queued_bytes += body.size();
    queue_.push_back(std::move(body));
  }
  cv_.notify_all();
}

bool LinePush::Flush(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return queue_.empty() && !busy_; });
}

LinePushStats LinePush::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void LinePush::Run() {
  int backoff_ms = 200;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    std::string body = queue_.front();
    busy_ = true;
    lock.unlock();
    std::string error;
    const int status = Post(host_, port_, token_, body, &error);
    lock.lock();
    busy_ = false;
    if (status / 100 == 2 || (status / 100 == 4 && status != 408 && status != 429)) {
      if (!queue_.empty()) {  // the front is the body just posted: Send never drops it while busy_
        stats_.queued_bytes -= queue_.front().size();
        queue_.pop_front();
      }
      if (status / 100 == 2) {
        ++stats_.posted;
      } else {
        ++stats_.refused;
        stats_.last_error = fmt::format("HTTP {}: {}", status, error);
        SF_LOG(warn, "sim.push_refused", "status={} error=\"{}\"", status, error);
      }
      backoff_ms = 200;
      cv_.notify_all();
      continue;
    }
    ++stats_.retries;
    stats_.last_error = error;
    cv_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [&] { return stop_; });
    backoff_ms = std::min(backoff_ms * 2, 5000);
  }
}

int LinePush::Post(const std::string& host, uint16_t port, const std::string& token, const std::string& body,
                   std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || res == nullptr) {
    *error = fmt::format("cannot resolve {}", host);
    return 0;
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool connected = fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0;
  freeaddrinfo(res);
  if (!connected) {
    *error = fmt::format("connect {}:{}: {}", host, port, std::strerror(errno));
    if (fd >= 0) close(fd);
    return 0;
  }
  std::string request = fmt::format(
      "POST /write?precision=ns HTTP/1.1\r\nHost: {}:{}\r\nAuthorization: Bearer {}\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
      host, port, token, body.size());
  request += body;
  size_t sent = 0;
  while (sent < request.size()) {
    if (!WaitFd(fd, POLLOUT)) break;
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[4096];
  while (sent == request.size() && WaitFd(fd, POLLIN)) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
    if (response.size() > 65536) break;
  }
  close(fd);
  int status = 0;
  if (response.rfind("HTTP/1.", 0) == 0 && response.size() >= 12) status = std::atoi(response.c_str() + 9);
  if (status == 0) {
    *error = sent < request.size() ? "could not send the request" : "no HTTP answer";
  } else if (status / 100 != 2) {
    size_t at = response.find("\r\n\r\n");
    *error = at == std::string::npos ? "" : response.substr(at + 4, 300);
  }
  return status;
}

}  // namespace shopfloor::sim
