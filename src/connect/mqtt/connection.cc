// A connection's I/O: lazily buffered reads, the NextFrame loop, coalesced writes, the
// CONNECT and keep-alive timers, and how protocol errors are answered (4.13). The TLS
// transport's own steps are in connection_tls.cc.
#include "connect/mqtt/connection.h"

#include <array>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace shopfloor::connect::mqtt {

namespace {

constexpr size_t kScratchSize = 64 * 1024;
constexpr size_t kKeepCapacity = 512;  // an idle connection keeps no bigger input buffer
constexpr auto kCloseDeadline = std::chrono::seconds(2);

// The protocol level of a CONNECT body whose protocol name is "MQTT", else 0.
uint8_t ConnectLevel(std::string_view body) {
  if (body.size() < 7 || body.substr(0, 6) != std::string_view("\x00\x04MQTT", 6)) return 0;
  return static_cast<uint8_t>(body[6]);
}

}  // namespace

Connection::Connection(Broker::Impl* broker, Socket socket, const TlsContext* tls)
    : broker_(broker), socket_(std::move(socket)), timer_(socket_.get_executor()), tls_context_(tls) {
  boost::system::error_code ec;
  const auto endpoint = socket_.remote_endpoint(ec);
  if (!ec) remote_ = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

Connection::~Connection() = default;

void Connection::Start() {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(net::ip::tcp::no_delay(true), ec);
  timer_.expires_after(std::chrono::milliseconds(broker_->options().connect_timeout_ms));
  timer_.async_wait(net::bind_executor(socket_.get_executor(),
                                       [self = shared_from_this()](const auto& e) { self->OnTimer(e); }));
  if (tls_context_ != nullptr) {
    tls_ = std::make_unique<TlsChannel>(*tls_context_, socket_.native_handle());
    return net::post(socket_.get_executor(), [self = shared_from_this()] { self->Handshake(); });  // on the strand
  }
  WaitReadable();
}

void Connection::WaitReadable() {
  if (tls_ && tls_->Buffered()) {  // decrypted bytes wait in OpenSSL, not in the socket
    return net::post(socket_.get_executor(), [self = shared_from_this()] { self->OnReadable({}); });
  }
  socket_.async_wait(Socket::wait_read, net::bind_executor(socket_.get_executor(), [self = shared_from_this()](
                                                                                     const auto& ec) {
                       self->OnReadable(ec);
                     }));
}

void Connection::OnReadable(const boost::system::error_code& wait_ec) {
  if (shut_) return;
  if (wait_ec) return Shutdown();
  thread_local std::array<char, kScratchSize> scratch;
  size_t n = 0;
  bool more = false;
  if (tls_) {
    if (!ReadTls(scratch.data(), scratch.size(), &n, &more) || n == 0) return;  // shut, or waiting
  } else {
    boost::system::error_code ec;
    n = socket_.read_some(net::buffer(scratch), ec);
    if (ec == net::error::would_block || ec == net::error::try_again) return WaitReadable();
    if (ec) return Shutdown();  // EOF or reset: network loss, the will is published
  }
  in_.append(scratch.data(), n);
  Process();
  if (shut_ || closing_) return;
  // Back-pressure: stop reading while a Receive Maximum's worth of PUBLISHes waits on
  // OnPublish. 3.1.1 has no Receive Maximum, and QoS 0 is outside it in 5.0 too, so without
  // this a QoS 0 flood would queue without bound (5.0 clients exceeding ours at QoS > 0 are
  // also disconnected, as the specification says).
  if (inbound_.size() >= broker_->options().receive_maximum) {
    read_paused_ = true;
    return;
  }
  if (more) return ResumeRead();
  WaitReadable();
}

void Connection::Process() {
  size_t consumed = 0;
  while (!closing_) {
    Frame frame;
    CodecError error;
    const std::string_view rest = std::string_view(in_).substr(consumed);
    const FrameStatus status = NextFrame(rest, broker_->options().max_packet_size, &frame, &error);
    if (status == FrameStatus::kNeedMore) break;
    if (status == FrameStatus::kError) {
      ProtocolError(error, nullptr);
      break;
    }
    consumed += frame.size;
    last_packet_ = broker_->Now();
    const auto type = static_cast<PacketType>(frame.header >> 4);
    if (!connected_ && type != PacketType::kConnect) {
      ProtocolError({Reason::kProtocolError, "the first packet is not CONNECT"}, nullptr);
      break;
    }
    if (connected_ && type == PacketType::kConnect) {
      ProtocolError({Reason::kProtocolError, "a second CONNECT"}, nullptr);
      break;
    }
    Packet packet;
    if (!Decode(frame, version_, &packet, &error)) {
      ProtocolError(error, &frame);
      break;
    }
    Dispatch(std::move(packet));
  }
  if (closing_) {
    std::string().swap(in_);
    return;
  }
  in_.erase(0, consumed);
  if (in_.empty() && in_.capacity() > kKeepCapacity) std::string().swap(in_);
}

void Connection::Dispatch(Packet packet) {
  switch (TypeOf(packet)) {
    case PacketType::kConnect: return HandleConnect(std::move(std::get<Connect>(packet)));
    case PacketType::kPublish: return HandlePublish(std::move(std::get<Publish>(packet)));
    case PacketType::kPuback: case PacketType::kPubrec: case PacketType::kPubrel: case PacketType::kPubcomp:
      return HandlePubResponse(std::get<PubResponse>(packet));
    case PacketType::kSubscribe: return HandleSubscribe(std::get<Subscribe>(packet));
    case PacketType::kUnsubscribe: return HandleUnsubscribe(std::get<Unsubscribe>(packet));
    case PacketType::kPingreq: return Send(Ping{PacketType::kPingresp});
    case PacketType::kDisconnect: return HandleDisconnect(std::get<Disconnect>(packet));
    default:
      // Server-to-client packets, and AUTH (enhanced authentication is not offered).
      return ProtocolError({Reason::kProtocolError, PacketTypeName(TypeOf(packet))}, nullptr);
  }
}

// 3.1.1 (4.8): close the connection, except that an unsupported protocol level is answered
// with CONNACK return code 1. 5.0 (4.13): CONNACK (before CONNECT was accepted) or
// DISCONNECT with the reason, then close.
void Connection::ProtocolError(const CodecError& error, const Frame* frame) {
  broker_->counters().malformed_packets++;
  if (connected_) return DisconnectWith(error.reason);
  const uint8_t level = frame != nullptr && (frame->header >> 4) == 1 ? ConnectLevel(frame->body) : 0;
  if (error.reason == Reason::kUnsupportedProtocolVersion) {
    // The client's level is unknown to us, so it is told in the 3.1.1 form every level reads.
    SendRaw(std::string_view("\x20\x02\x00\x01", 4));
  } else if (level == kMqtt5) {
    std::string bytes;
    Encode(Connack{false, error.reason, {}}, kMqtt5, &bytes);
    SendRaw(bytes);
  }
  CloseOnStrand(std::nullopt, false);
}

void Connection::DisconnectWith(Reason reason) { CloseOnStrand(reason, true); }

void Connection::Send(const Packet& packet) {
  std::string bytes;
  Encode(packet, version_, &bytes);
  SendRaw(bytes);
}

void Connection::SendRaw(std::string_view bytes) {
  bool overflow = false;
  {
    std::lock_guard lock(out_mu_);
    if (out_closed_) return;
    if (out_pending_.size() + out_writing_.size() + bytes.size() > broker_->options().max_bytes_queued &&
        (writing_ || !out_pending_.empty())) {
      out_closed_ = true;  // a slow consumer: nothing more is queued
      overflow = true;
    } else {
      out_pending_.append(bytes);
      if (writing_ || write_posted_) return;
      write_posted_ = true;
    }
  }
  if (overflow) {
    broker_->counters().slow_consumers++;
    broker_->counters().messages_dropped++;
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->version_ == kMqtt5) {
        std::string bytes;
        Encode(Disconnect{PacketType::kDisconnect, Reason::kQuotaExceeded, {}}, kMqtt5, &bytes);
        std::lock_guard lock(self->out_mu_);
        self->out_pending_.append(bytes);
      }
      self->CloseOnStrand(std::nullopt, true);
    });
    return;
  }
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->StartWrite(); });
}

void Connection::StartWrite() {
  {
    std::lock_guard lock(out_mu_);
    write_posted_ = false;
    if (writing_ || shut_) return;
    if (out_pending_.empty()) {
      if (!close_after_write_) return;
    } else {
      out_writing_.swap(out_pending_);
      writing_ = true;
    }
  }
  if (!writing_) return Shutdown();
  if (tls_) {
    tls_written_ = 0;
    return WriteTls();
  }
  net::async_write(socket_, net::buffer(out_writing_),
                   net::bind_executor(socket_.get_executor(),
                                      [self = shared_from_this()](const auto& ec, size_t) { self->OnWritten(ec); }));
}

void Connection::OnWritten(const boost::system::error_code& ec) {
  {
    std::lock_guard lock(out_mu_);
    writing_ = false;
    std::string().swap(out_writing_);  // idle connections keep no output buffer
  }
  if (ec) return Shutdown();
  StartWrite();
}

void Connection::Close(std::optional<Reason> reason, bool publish_will) {
  net::post(socket_.get_executor(),
            [self = shared_from_this(), reason, publish_will] { self->CloseOnStrand(reason, publish_will); });
}

void Connection::CloseOnStrand(std::optional<Reason> reason, bool publish_will) {
  if (closing_) return;
  closing_ = true;
  publish_will_ = publish_will;
  if (reason && version_ == kMqtt5 && connected_) {
    std::string bytes;
    Encode(Disconnect{PacketType::kDisconnect, *reason, {}}, kMqtt5, &bytes);
    std::lock_guard lock(out_mu_);
    out_pending_.append(bytes);
  }
  {
    std::lock_guard lock(out_mu_);
    close_after_write_ = true;
    out_closed_ = true;
  }
  // A client that does not read its last packets is cut off after the deadline.
  timer_.expires_after(kCloseDeadline);
  timer_.async_wait(net::bind_executor(socket_.get_executor(), [self = shared_from_this()](const auto& e) {
    if (!e) self->Shutdown();
  }));
  StartWrite();
}

void Connection::Shutdown() {
  if (shut_) return;
  shut_ = true;
  if (!closing_) publish_will_ = true;  // network loss or a failed write
  closing_ = true;
  timer_.cancel();
  if (tls_) tls_->Shutdown();
  tls_.reset();  // before the socket closes: the channel writes to its descriptor
  if (tls_context_ != nullptr) broker_->counters().tls_connections_current--;
  boost::system::error_code ec;
  socket_.shutdown(Socket::shutdown_both, ec);
  socket_.close(ec);
  {
    std::lock_guard lock(out_mu_);
    out_closed_ = true;
    std::string().swap(out_pending_);
  }
  std::string().swap(in_);
  if (session_) broker_->Detach(this, session_, publish_will_);
  broker_->counters().connections_current--;
}

void Connection::ArmKeepAlive() {
  if (keep_alive_ms_ == 0 || closing_) return;
  const int64_t deadline = last_packet_ + static_cast<int64_t>(keep_alive_ms_) * 1'000'000;
  const int64_t wait_ns = std::max<int64_t>(deadline - broker_->Now(), 0);
  timer_.expires_after(std::chrono::nanoseconds(wait_ns));
  timer_.async_wait(net::bind_executor(socket_.get_executor(),
                                       [self = shared_from_this()](const auto& e) { self->OnTimer(e); }));
}

void Connection::OnTimer(const boost::system::error_code& ec) {
  if (ec || closing_) return;
  if (!connected_) {
    broker_->counters().connect_timeouts++;
    if (tls_context_ != nullptr && !handshaken_) HandshakeFailed("not completed within connect_timeout_ms");
    return CloseOnStrand(std::nullopt, false);
  }
  if (broker_->Now() - last_packet_ >= static_cast<int64_t>(keep_alive_ms_) * 1'000'000) {
    broker_->counters().keep_alive_timeouts++;
    return DisconnectWith(Reason::kKeepAliveTimeout);
  }
  ArmKeepAlive();
}

ClientView Connection::View() const {
  return ClientView{client_id_, username_, principal_, remote_, version_, tls_context_ != nullptr};
}

}  // namespace shopfloor::connect::mqtt
