// A blocking MQTT client over a raw socket for the broker tests: sends packets encoded by
// our codec or raw bytes, and reads packets back with a timeout.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "connect/mqtt/codec.h"

namespace shopfloor::connect::mqtt::testing {

class TestClient {
 public:
  explicit TestClient(uint16_t port, uint8_t version = kMqtt5) : version_(version) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~TestClient() { Close(); }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return connected_; }
  int fd_for_test() const { return fd_; }
  uint8_t version() const { return version_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  void SendBytes(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }
  void Send(const Packet& packet) {
    std::string bytes;
    Encode(packet, version_, &bytes);
    SendBytes(bytes);
  }

  // The next whole packet's bytes; empty on timeout or when the connection closed.
  std::string ReadFrame(int timeout_ms = 3000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      Frame frame;
      CodecError error;
      if (NextFrame(buffer_, 0, &frame, &error) == FrameStatus::kFrame) {
        std::string bytes = buffer_.substr(0, frame.size);
        buffer_.erase(0, frame.size);
        return bytes;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !Fill(static_cast<int>(left.count()))) return {};
    }
  }
  // The next packet, decoded at the client's version.
  bool Read(Packet* packet, int timeout_ms = 3000) {
    const std::string bytes = ReadFrame(timeout_ms);
    if (bytes.empty()) return false;
    Frame frame;
    CodecError error;
    if (NextFrame(bytes, 0, &frame, &error) != FrameStatus::kFrame) return false;
    const bool ok = Decode(frame, version_, packet, &error);
    EXPECT_TRUE(ok) << error.message;
    return ok;
  }
  template <typename T>
  T Expect(int timeout_ms = 3000) {
    Packet packet;
    if (!Read(&packet, timeout_ms)) {
      ADD_FAILURE() << "no packet within " << timeout_ms << " ms";
      return T{};
    }
    if (!std::holds_alternative<T>(packet)) {
      ADD_FAILURE() << "got " << PacketTypeName(TypeOf(packet));
      return T{};
    }
    return std::get<T>(std::move(packet));
  }
  // Whether the peer closes the connection within the timeout (bytes before the close are
  // returned in `*rest`).
  bool WaitClosed(int timeout_ms = 3000, std::string* rest = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      if (!Fill(static_cast<int>(left.count()))) {
        if (rest != nullptr) *rest = buffer_;
        return eof_;
      }
    }
  }

  Connack ConnectAs(const std::string& client_id, bool clean = true, Properties properties = {},
                    std::optional<Will> will = std::nullopt, uint16_t keep_alive = 60) {
    Connect c;
    c.protocol_level = version_;
    c.client_id = client_id;
    c.clean_start = clean;
    c.keep_alive = keep_alive;
    c.properties = std::move(properties);
    c.will = std::move(will);
    Send(c);
    return Expect<Connack>();
  }
  void SubscribeTo(const std::string& filter, uint8_t qos, uint16_t packet_id = 1, uint32_t identifier = 0) {
    Subscribe s;
    s.packet_id = packet_id;
    SubscribeOptions o;
    o.max_qos = qos;
    s.filters.emplace_back(filter, o);
    if (identifier != 0) s.properties.subscription_identifiers.push_back(identifier);
    Send(s);
    const auto suback = Expect<SubResponse>();
    EXPECT_EQ(suback.packet_id, packet_id);
  }

 private:
  // Reads more bytes; false on timeout or close (eof_ set).
  bool Fill(int timeout_ms) {
    if (fd_ < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  uint8_t version_;
  bool connected_ = false;
  bool eof_ = false;
  std::string buffer_;
};

}  // namespace shopfloor::connect::mqtt::testing
