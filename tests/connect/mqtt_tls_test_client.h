// Blocking TLS helpers for the broker's TLS tests, on OpenSSL directly: a client that verifies
// the server against a CA file and speaks MQTT through our codec, and the raw bytes of a real
// ClientHello (to send truncated or never finished handshakes).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "connect/mqtt/codec.h"

namespace shopfloor::connect::mqtt::testing {

inline int ConnectTcp(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The first flight of a TLS client (its ClientHello record), made with memory BIOs.
inline std::string ClientHelloBytes() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  SSL_set_tlsext_host_name(ssl, "localhost");
  SSL_connect(ssl);  // wants the ServerHello; the ClientHello is in `out`
  char* data = nullptr;
  const long n = BIO_get_mem_data(out, &data);
  std::string hello(data, static_cast<size_t>(n));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return hello;
}

class TlsTestClient {
 public:
  // Connects and handshakes, verifying the server's certificate for "localhost" against
  // `ca_file`; `cert_file`/`key_file` present a client certificate when set.
  TlsTestClient(uint16_t port, const std::string& ca_file, uint8_t version = kMqtt5, const std::string& cert_file = "",
                const std::string& key_file = "")
      : version_(version) {
    ::signal(SIGPIPE, SIG_IGN);  // OpenSSL writes with write(): a refused client must fail, not die
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (!cert_file.empty()) {
      SSL_CTX_use_certificate_chain_file(ctx_, cert_file.c_str());
      SSL_CTX_use_PrivateKey_file(ctx_, key_file.c_str(), SSL_FILETYPE_PEM);
    }
    fd_ = ConnectTcp(port);
    if (fd_ < 0) return;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, "localhost");
    SSL_set1_host(ssl_, "localhost");
    connected_ = SSL_connect(ssl_) == 1;
    if (!connected_) {
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
      error_ = buf;
    }
  }
  ~TlsTestClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  TlsTestClient(const TlsTestClient&) = delete;
  TlsTestClient& operator=(const TlsTestClient&) = delete;

  bool connected() const { return connected_; }  // the handshake succeeded
  const std::string& error() const { return error_; }
  std::string version_name() const { return connected_ ? SSL_get_version(ssl_) : ""; }

  void Send(const Packet& packet) {
    std::string bytes;
    Encode(packet, version_, &bytes);
    size_t sent = 0;
    while (sent < bytes.size()) {
      const int n = SSL_write(ssl_, bytes.data() + sent, static_cast<int>(bytes.size() - sent));
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  // The next packet, or false after the timeout (5 s) or a close.
  bool Read(Packet* packet) {
    for (;;) {
      Frame frame;
      CodecError error;
      if (NextFrame(buffer_, 0, &frame, &error) == FrameStatus::kFrame) {
        const bool ok = Decode(frame, version_, packet, &error);
        EXPECT_TRUE(ok) << error.message;
        buffer_.erase(0, frame.size);
        return ok;
      }
      char chunk[16384];
      const int n = SSL_read(ssl_, chunk, sizeof chunk);
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }
  template <typename T>
  T Expect() {
    Packet packet;
    if (!Read(&packet)) {
      ADD_FAILURE() << "no packet";
      return T{};
    }
    if (!std::holds_alternative<T>(packet)) {
      ADD_FAILURE() << "got " << PacketTypeName(TypeOf(packet));
      return T{};
    }
    return std::get<T>(std::move(packet));
  }

 private:
  uint8_t version_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
  std::string error_;
  std::string buffer_;
};

}  // namespace shopfloor::connect::mqtt::testing
