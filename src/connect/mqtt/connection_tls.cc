// A connection's TLS transport: the handshake (within the CONNECT timer), reads of plain text
// through the TlsChannel into the caller's scratch buffer, and writes of the coalesced output
// through it. Waiting is done on the socket (async_wait), so an idle TLS connection, like a
// plain one, holds no read buffer of its own; OpenSSL releases its record buffers too.
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include "connect/mqtt/connection.h"
#include "core/log.h"

namespace shopfloor::connect::mqtt {

void Connection::WaitSocket(TlsChannel::Want want, void (Connection::*then)()) {
  const auto kind = want == TlsChannel::Want::kWrite ? Socket::wait_write : Socket::wait_read;
  socket_.async_wait(kind, net::bind_executor(socket_.get_executor(), [self = shared_from_this(), then](
                                                                           const boost::system::error_code& ec) {
                       if (self->shut_) return;
                       if (ec) return self->Shutdown();
                       ((*self).*then)();
                     }));
}

void Connection::Handshake() {
  if (shut_ || closing_) return;
  const TlsChannel::Want want = tls_->Handshake();
  switch (want) {
    case TlsChannel::Want::kNothing:
      handshaken_ = true;
      SF_LOG(debug, "mqtt.tls_connected", "remote={} tls=\"{}\"", remote_, tls_->Describe());
      return WaitReadable();
    case TlsChannel::Want::kRead:
    case TlsChannel::Want::kWrite:
      return WaitSocket(want, &Connection::Handshake);
    case TlsChannel::Want::kClosed:
    case TlsChannel::Want::kError:
      HandshakeFailed(tls_->error());
      return Shutdown();
  }
}

void Connection::HandshakeFailed(const std::string& why) {
  broker_->counters().tls_handshake_failures++;
  SF_LOG(warn, "mqtt.tls_handshake_failed", "remote={} error=\"{}\"", remote_, why);
}

bool Connection::ReadTls(char* buffer, size_t size, size_t* n, bool* more) {
  *n = 0;
  *more = false;
  while (*n < size) {
    const TlsChannel::Io io = tls_->Read(buffer + *n, size - *n);
    if (io.want == TlsChannel::Want::kNothing) {
      *n += io.bytes;
      continue;
    }
    if (*n > 0) {
      // Handle what arrived first; the next read meets the same condition again (a closed or
      // failed channel stays so; a wanted write is waited for then).
      *more = io.want != TlsChannel::Want::kRead;
      return true;
    }
    switch (io.want) {
      case TlsChannel::Want::kRead:
        WaitReadable();
        return true;
      case TlsChannel::Want::kWrite:  // OpenSSL must send first (e.g. a key update answer)
        WaitSocket(io.want, &Connection::ResumeRead);
        return true;
      default:
        // close_notify, EOF or a broken record: network loss, the will is published.
        SF_LOG(debug, "mqtt.tls_closed", "remote={} reason=\"{}\"", remote_, tls_->error());
        Shutdown();
        return false;
    }
  }
  *more = true;  // the buffer is full: there may be more at once
  return true;
}

void Connection::ResumeRead() { OnReadable({}); }

void Connection::WriteTls() {
  if (shut_) return;
  while (tls_written_ < out_writing_.size()) {
    const TlsChannel::Io io = tls_->Write(out_writing_.data() + tls_written_, out_writing_.size() - tls_written_);
    switch (io.want) {
      case TlsChannel::Want::kNothing:
        tls_written_ += io.bytes;
        continue;
      case TlsChannel::Want::kRead:
      case TlsChannel::Want::kWrite:
        return WaitSocket(io.want, &Connection::WriteTls);
      default:
        SF_LOG(debug, "mqtt.tls_closed", "remote={} reason=\"{}\"", remote_, tls_->error());
        return OnWritten(net::error::connection_reset);
    }
  }
  // Completed: continue as an async_write would, off this call stack.
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->OnWritten({}); });
}

}  // namespace shopfloor::connect::mqtt
