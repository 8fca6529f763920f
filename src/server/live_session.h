// The WebSocket side of /api/v1/live: one LiveSession per client, templated over the
// transport stream (plain TCP or TLS). Internal to http_server.cc, the only translation
// unit that includes Beast.
//
// Invariants: everything runs on the connection's strand except OnPending(), which only
// posts. At most one read and one write are outstanding (Beast's rule for websocket
// streams). Outgoing control messages (acks, snapshots, errors) are queued in order and
// sent before the next update; the queue is bounded by pausing reads of client messages
// while more than kMaxQueuedBytes wait. Updates are never queued: the hub coalesces them,
// and the session takes the next one only when the previous write has finished, so a slow
// client costs at most one update per subscribed series of memory.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "server/live_hub.h"
#include "server/live_protocol.h"

namespace shopfloor::server::transport {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;

// Largest client message; larger ones close the connection (close code 1009).
inline constexpr size_t kMaxLiveMessageBytes = 64 << 10;
// Control messages waiting to be written above which client messages are not read.
inline constexpr size_t kMaxQueuedBytes = 4 << 20;

template <class Stream>
class LiveSession : public LiveHub::Sink, public std::enable_shared_from_this<LiveSession<Stream>> {
 public:
  LiveSession(Stream&& stream, LiveHub* hub, LiveHub::AccessPredicate access, int64_t ping_ms)
      : ws_(std::move(stream)),
        flush_timer_(ws_.get_executor()),
        hub_(hub),
        access_(std::move(access)),
        ping_ms_(std::max<int64_t>(ping_ms, 10)) {}

  // Completes the upgrade of `request` and starts the read loop.
  void Run(http::request<http::string_body> request) {
    // The websocket stream has its own timeouts; the HTTP deadline must not fire.
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeout = websocket::stream_base::timeout::suggested(beast::role_type::server);
    // Beast pings when half the idle timeout has passed without traffic from the client and
    // closes when the whole timeout passes (no pong).
    timeout.idle_timeout = std::chrono::milliseconds(2 * ping_ms_);
    timeout.keep_alive_pings = true;
    ws_.set_option(timeout);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "shopfloor"); }));
    ws_.read_message_max(kMaxLiveMessageBytes);
    ws_.async_accept(request, beast::bind_front_handler(&LiveSession::OnAccept, this->shared_from_this()));
  }

  // LiveHub::Sink: called on a publisher's thread.
  void OnPending() override {
    net::post(ws_.get_executor(), beast::bind_front_handler(&LiveSession::ScheduleFlush, this->shared_from_this()));
  }

 private:
  void OnAccept(beast::error_code ec) {
    if (ec) return;
    session_ = hub_->Open(std::weak_ptr<LiveHub::Sink>(this->shared_from_this()), std::move(access_));
    DoRead();
  }

  void DoRead() {
    ws_.async_read(read_buffer_, beast::bind_front_handler(&LiveSession::OnRead, this->shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t bytes) {
    if (ec) return Close();
    if (!ws_.got_text()) {
      Enqueue(LiveErrorMessage("", "binary messages are not supported: send JSON text messages"));
    } else {
      std::string text = beast::buffers_to_string(read_buffer_.data());
      for (std::string& message : session_->Handle(text)) Enqueue(std::move(message));
    }
    read_buffer_.consume(bytes);
    if (queued_bytes_ > kMaxQueuedBytes) {
      read_paused_ = true;
      return;
    }
    DoRead();
  }

  void ScheduleFlush() {
    if (closed_ || flush_armed_) return;
    flush_armed_ = true;
    flush_timer_.expires_after(std::chrono::milliseconds(kLiveFlushDelayMs));
    flush_timer_.async_wait(beast::bind_front_handler(&LiveSession::OnFlushTimer, this->shared_from_this()));
  }

  void OnFlushTimer(beast::error_code ec) {
    flush_armed_ = false;
    if (ec || closed_ || writing_) return;  // a finishing write pumps the update itself
    Pump();
  }

  void Enqueue(std::string message) {
    queued_bytes_ += message.size();
    queue_.push_back(std::move(message));
    if (!writing_) Pump();
  }

  // Starts the next write: a queued control message, else the hub's next update.
  void Pump() {
    if (closed_ || writing_ || !session_) return;
    if (queue_.empty()) {
      std::string update;
      if (!session_->TakeUpdate(&update)) return;
      queued_bytes_ += update.size();
      queue_.push_back(std::move(update));
    }
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()),
                    beast::bind_front_handler(&LiveSession::OnWrite, this->shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t /*bytes*/) {
    writing_ = false;
    if (closed_) return;
    queued_bytes_ -= queue_.front().size();
    queue_.pop_front();
    if (ec) return Close();
    if (read_paused_ && queued_bytes_ <= kMaxQueuedBytes / 2) {
      read_paused_ = false;
      DoRead();
    }
    Pump();
  }

  // Unsubscribes; the session ends when its outstanding operations complete (the queue
  // stays: a write in flight still reads its front).
  void Close() {
    if (closed_) return;
    closed_ = true;
    flush_timer_.cancel();
    session_.reset();
  }

  websocket::stream<Stream> ws_;
  net::steady_timer flush_timer_;
  beast::flat_buffer read_buffer_;
  LiveHub* const hub_;
  LiveHub::AccessPredicate access_;
  const int64_t ping_ms_;
  std::unique_ptr<LiveHub::Session> session_;
  std::deque<std::string> queue_;  // front() is being written while writing_
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool read_paused_ = false;
  bool flush_armed_ = false;
  bool closed_ = false;
};

}  // namespace shopfloor::server::transport
