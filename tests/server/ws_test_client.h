// A minimal WebSocket client for live-data tests (Boost.Beast), over plain TCP or TLS
// (certificate verification off: tests use self-signed certificates). Reads have a
// deadline so a missing message fails the test instead of hanging it.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace shopfloor::server::testing {

template <class Stream>
class BasicWsTestClient {
 public:
  // Connects and upgrades; rcvbuf > 0 shrinks the socket's receive buffer first (a slow
  // client). On failure error() is set and every later call fails.
  BasicWsTestClient(uint16_t port, std::string target = "/api/v1/live", int rcvbuf = 0,
                    std::string authorization = "") {
    namespace net = boost::asio;
    using tcp = net::ip::tcp;
    tls_.set_verify_mode(net::ssl::verify_none);
    if constexpr (kTls) {
      ws_ = std::make_unique<Ws>(ioc_, tls_);
    } else {
      ws_ = std::make_unique<Ws>(ioc_);
    }
    auto& socket = boost::beast::get_lowest_layer(*ws_).socket();
    boost::beast::error_code ec;
    socket.open(tcp::v4(), ec);
    if (!ec && rcvbuf > 0) socket.set_option(net::socket_base::receive_buffer_size(rcvbuf), ec);
    if (!ec) socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    if constexpr (kTls) {
      if (!ec) ws_->next_layer().handshake(net::ssl::stream_base::client, ec);
    }
    if (!authorization.empty()) {
      ws_->set_option(boost::beast::websocket::stream_base::decorator(
          [authorization](boost::beast::websocket::request_type& req) {
            req.set(boost::beast::http::field::authorization, authorization);
          }));
    }
    if (!ec) ws_->handshake("127.0.0.1", target, ec);
    if (ec) error_ = ec.message();
    ws_->read_message_max(256ull << 20);
  }

  const std::string& error() const { return error_; }

  bool Send(const std::string& text) {
    if (!error_.empty()) return false;
    boost::beast::error_code ec;
    ws_->text(true);
    ws_->write(boost::asio::buffer(text), ec);
    if (ec) error_ = ec.message();
    return !ec;
  }

  // The next message, or nullopt after `timeout` or on an error.
  std::optional<std::string> Read(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    if (!error_.empty()) return std::nullopt;
    buffer_.clear();
    bool done = false;
    boost::beast::error_code result;
    ws_->async_read(buffer_, [&](boost::beast::error_code ec, std::size_t) {
      done = true;
      result = ec;
    });
    ioc_.restart();
    ioc_.run_for(timeout);
    if (!done) {
      boost::beast::get_lowest_layer(*ws_).socket().close();
      ioc_.restart();
      ioc_.run();
      error_ = "read timed out";
      return std::nullopt;
    }
    if (result) {
      error_ = result.message();
      return std::nullopt;
    }
    return boost::beast::buffers_to_string(buffer_.data());
  }

 private:
  static constexpr bool kTls =
      std::is_same_v<Stream, boost::beast::ssl_stream<boost::beast::tcp_stream>>;
  using Ws = boost::beast::websocket::stream<Stream>;

  boost::asio::io_context ioc_;
  boost::asio::ssl::context tls_{boost::asio::ssl::context::tls_client};
  std::unique_ptr<Ws> ws_;
  boost::beast::flat_buffer buffer_;
  std::string error_;
};

// Sends a WebSocket upgrade request by hand and returns the HTTP answer (Beast's client
// does not hand back the body of a declined upgrade).
inline std::pair<int, std::string> UpgradeRequest(uint16_t port, const std::string& target,
                                                  const std::string& authorization = "") {
  namespace http = boost::beast::http;
  boost::asio::io_context ioc;
  boost::beast::tcp_stream stream(ioc);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return {static_cast<int>(res.result_int()), res.body()};
}

using WsTestClient = BasicWsTestClient<boost::beast::tcp_stream>;
using WssTestClient = BasicWsTestClient<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace shopfloor::server::testing
