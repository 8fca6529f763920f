// The broker's TLS: the server context and a connection's TLS over its own socket BIO.
#include "connect/mqtt/tls.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace shopfloor::connect::mqtt {

namespace {

// TLS 1.2 suites: forward secret, AEAD only (Mozilla's "intermediate" minus finite-field DHE).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// The queued OpenSSL errors, oldest first, as one line; clears the queue.
std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    const char* reason = ERR_reason_error_string(e);
    out += reason != nullptr ? reason : buf;
  }
  return out.empty() ? std::string("no OpenSSL reason given") : out;
}

// A socket BIO on the connection's descriptor that never raises SIGPIPE.
int FdOf(BIO* bio) { return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio))); }

int SocketWrite(BIO* bio, const char* data, int n) {
  BIO_clear_retry_flags(bio);
  const ssize_t sent = ::send(FdOf(bio), data, static_cast<size_t>(n), MSG_NOSIGNAL);
  if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(bio);
  return static_cast<int>(sent);
}

int SocketRead(BIO* bio, char* data, int n) {
  BIO_clear_retry_flags(bio);
  const ssize_t got = ::recv(FdOf(bio), data, static_cast<size_t>(n), 0);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(bio);
  return static_cast<int>(got);
}

long SocketCtrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

BIO_METHOD* SocketMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "shopfloor mqtt socket");
    BIO_meth_set_write(m, SocketWrite);
    BIO_meth_set_read(m, SocketRead);
    BIO_meth_set_ctrl(m, SocketCtrl);
    return m;
  }();
  return method;
}

}  // namespace

core::Result<std::unique_ptr<TlsContext>> TlsContext::Create(const TlsListenerOptions& options) {
  if (options.cert_chain_file.empty() || options.private_key_file.empty()) {
    return core::Status::InvalidArgument(
        fmt::format("mqtt TLS needs a certificate chain file and a private key file (cert: \"{}\", key: \"{}\")",
                    options.cert_chain_file, options.private_key_file));
  }
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return core::Status::Internal("mqtt TLS: SSL_CTX_new: " + OpenSslErrors());
  std::unique_ptr<TlsContext> context(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return core::Status::Internal("mqtt TLS: cipher list: " + OpenSslErrors());
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_chain_file.c_str()) != 1) {
    return core::Status::InvalidArgument(
        fmt::format("mqtt TLS certificate file \"{}\": {}", options.cert_chain_file, OpenSslErrors()));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, options.private_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return core::Status::InvalidArgument(
        fmt::format("mqtt TLS key file \"{}\": {}", options.private_key_file, OpenSslErrors()));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return core::Status::InvalidArgument(fmt::format("mqtt TLS key file \"{}\" does not match the certificate in \"{}\"",
                                                     options.private_key_file, options.cert_chain_file));
  }
  if (!options.client_ca_file.empty()) {
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca_file.c_str());
    if (names == nullptr || SSL_CTX_load_verify_locations(ctx, options.client_ca_file.c_str(), nullptr) != 1) {
      if (names != nullptr) sk_X509_NAME_pop_free(names, X509_NAME_free);
      return core::Status::InvalidArgument(
          fmt::format("mqtt TLS client CA file \"{}\": {}", options.client_ca_file, OpenSslErrors()));
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsChannel::TlsChannel(const TlsContext& context, int fd) : ssl_(SSL_new(context.get())) {
  if (ssl_ == nullptr) return;
  BIO* bio = BIO_new(SocketMethod());
  if (bio == nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
    return;
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);
  SSL_set_accept_state(ssl_);
}

TlsChannel::~TlsChannel() { SSL_free(ssl_); }

TlsChannel::Want TlsChannel::Fail(int result, const char* what) {
  const int saved_errno = errno;
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ: return Want::kRead;
    case SSL_ERROR_WANT_WRITE: return Want::kWrite;
    case SSL_ERROR_ZERO_RETURN:
      error_ = fmt::format("{}: the peer closed the connection", what);
      return Want::kClosed;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        error_ = saved_errno == 0 ? fmt::format("{}: the peer closed the connection", what)
                                  : fmt::format("{}: {}", what, std::strerror(saved_errno));
        return saved_errno == 0 ? Want::kClosed : Want::kError;
      }
      [[fallthrough]];
    default:
      error_ = fmt::format("{}: {}", what, OpenSslErrors());
      return Want::kError;
  }
}

TlsChannel::Want TlsChannel::Handshake() {
  if (ssl_ == nullptr) {
    error_ = "handshake: out of memory for the TLS state";
    return Want::kError;
  }
  ERR_clear_error();
  errno = 0;
  const int r = SSL_do_handshake(ssl_);
  return r == 1 ? Want::kNothing : Fail(r, "handshake");
}

TlsChannel::Io TlsChannel::Read(char* data, size_t n) {
  ERR_clear_error();
  errno = 0;
  size_t got = 0;
  const int r = SSL_read_ex(ssl_, data, n, &got);
  if (r == 1) return {Want::kNothing, got};
  return {Fail(r, "read"), 0};
}

TlsChannel::Io TlsChannel::Write(const char* data, size_t n) {
  ERR_clear_error();
  errno = 0;
  size_t sent = 0;
  const int r = SSL_write_ex(ssl_, data, n, &sent);
  if (r == 1) return {Want::kNothing, sent};
  return {Fail(r, "write"), 0};
}

// SSL_pending, not SSL_has_pending: a partial record also counts for the latter, and waiting
// for the socket is right then (its rest must come from there).
bool TlsChannel::Buffered() const { return ssl_ != nullptr && SSL_pending(ssl_) > 0; }

void TlsChannel::Shutdown() {
  if (ssl_ == nullptr || SSL_is_init_finished(ssl_) != 1) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // one try: a full socket buffer only loses the close_notify
  ERR_clear_error();
}

std::string TlsChannel::Describe() const {
  if (ssl_ == nullptr) return {};
  return fmt::format("{} {}", SSL_get_version(ssl_), SSL_get_cipher_name(ssl_));
}

}  // namespace shopfloor::connect::mqtt
