// A loopback TCP proxy for connection-loss tests: forwards to 127.0.0.1:target until told
// to black-hole (bytes in both directions are dropped, as on a dead link, and new
// connections are closed at once), then Restore() closes those connections and forwards
// new ones again. The server never notices anything but silence and a closed socket.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <mutex>
#include <thread>
#include <vector>

namespace shopfloor::connect::opcua {

class TcpProxy {
 public:
  // Listens on a free loopback port; false if that fails.
  bool Start(int target_port) {
    target_port_ = target_port;
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return false;
    if (::listen(listen_fd_, 16) != 0) return false;
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
    return true;
  }
  ~TcpProxy() {
    stop_.store(true);
    if (accept_thread_.joinable()) accept_thread_.join();  // no new pumps after this
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }

  void Blackhole() { blackholed_.store(true); }
  void Restore() {
    ++generation_;  // connections of earlier generations close themselves
    blackholed_.store(false);
  }
  int port() const { return port_; }
  std::string url() const { return "opc.tcp://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }

 private:
  void AcceptLoop() {
    while (!stop_.load()) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      if (blackholed_.load()) {
        ::close(client);
        continue;
      }
      int server = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(target_port_));
      if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(client);
        ::close(server);
        continue;
      }
      ++connections_;
      const int generation = generation_.load();
      std::lock_guard<std::mutex> lock(mu_);
      threads_.emplace_back([this, client, server, generation] { Pump(client, server, generation); });
    }
  }

  void Pump(int client, int server, int generation) {
    char buf[16384];
    while (!stop_.load() && generation_.load() == generation) {
      pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (::poll(p, 2, 20) <= 0) continue;
      bool closed = false;
      for (int i = 0; i < 2 && !closed; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const ssize_t n = ::read(p[i].fd, buf, sizeof(buf));
        if (n <= 0) {
          closed = true;
          break;
        }
        if (blackholed_.load()) continue;  // a dead link: the bytes vanish
        const int to = i == 0 ? server : client;
        for (ssize_t off = 0; off < n;) {
          const ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
          if (w <= 0) {
            closed = true;
            break;
          }
          off += w;
        }
      }
      if (closed) break;
    }
    ::close(client);
    ::close(server);
  }

  int target_port_ = 0;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> blackholed_{false};
  std::atomic<int> generation_{0};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<std::thread> threads_;
  std::thread accept_thread_;
};

}  // namespace shopfloor::connect::opcua
