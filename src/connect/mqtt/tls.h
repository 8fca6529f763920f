// Internal to the broker: TLS for the MQTT listener, on OpenSSL 3 directly rather than
// asio::ssl::stream, so that an idle TLS connection keeps no record buffers.
//
// TlsContext is the server's SSL_CTX: TLS 1.2 and 1.3 only, ECDHE with AES-GCM or
// ChaCha20-Poly1305 for TLS 1.2 (TLS 1.3's default suites), no renegotiation, no
// compression, no server-side session cache (TLS 1.3 tickets resume without one), buffers
// released while idle (SSL_MODE_RELEASE_BUFFERS), and optionally required client
// certificates.
//
// TlsChannel is one connection's TLS over its non-blocking socket: it reads and writes the
// file descriptor itself (send with MSG_NOSIGNAL, so a vanished peer is an error rather than
// SIGPIPE) and reports when it must wait for the socket to become readable or writable.
//
// Thread safety: a TlsContext is immutable after Create and shared by every connection's
// strand. A TlsChannel is used from one strand only.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "connect/mqtt/broker.h"
#include "core/status.h"

struct ssl_st;
struct ssl_ctx_st;

namespace shopfloor::connect::mqtt {

class TlsContext {
 public:
  // Loads the certificate chain and key (and the client CAs). Errors name the file and give
  // OpenSSL's reason.
  static core::Result<std::unique_ptr<TlsContext>> Create(const TlsListenerOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  ssl_ctx_st* get() const { return ctx_; }

 private:
  explicit TlsContext(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
};

class TlsChannel {
 public:
  enum class Want { kNothing, kRead, kWrite, kClosed, kError };
  struct Io {
    Want want = Want::kNothing;  // kNothing: done (Read/Write moved `bytes`)
    size_t bytes = 0;
  };

  TlsChannel(const TlsContext& context, int fd);
  ~TlsChannel();
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  // The server side of the handshake; kNothing once it is complete.
  Want Handshake();
  // At most `n` bytes of plain text. kRead/kWrite: nothing now, wait for the socket; kClosed:
  // the peer closed (close_notify or EOF).
  Io Read(char* data, size_t n);
  // Some of `n` bytes (a retry after kRead/kWrite passes the same data again).
  Io Write(const char* data, size_t n);
  // Whether decrypted bytes wait inside OpenSSL (the socket may be quiet meanwhile).
  bool Buffered() const;
  // Sends close_notify if the socket takes it now; never waits.
  void Shutdown();
  // What the last kError (or a kClosed during the handshake) was, for the log.
  const std::string& error() const { return error_; }
  // "TLSv1.3 TLS_AES_256_GCM_SHA384" once the handshake is done.
  std::string Describe() const;

 private:
  Want Fail(int result, const char* what);

  ssl_st* ssl_;
  std::string error_;
};

}  // namespace shopfloor::connect::mqtt
