#include "bench/storage/http_client.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <limits>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

namespace shopfloor::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using core::Result;
using core::Status;

struct HttpClient::Impl {
  std::string host;
  uint16_t port = 0;
  int timeout_seconds = 300;
  asio::io_context io;
  asio::ip::tcp::socket socket{io};
  beast::flat_buffer buffer;
  bool connected = false;

  Status Connect() {
    beast::error_code ec;
    socket.close(ec);
    buffer.clear();
    asio::ip::tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (!ec) asio::connect(socket, endpoints, ec);
    if (ec) return Status::Unavailable(fmt::format("connect to {}:{}: {}", host, port, ec.message()));
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    timeval tv{};
    tv.tv_sec = timeout_seconds;
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    connected = true;
    return Status::OK();
  }

  // One exchange on the current connection; *retryable tells whether the failure looks
  // like a stale keep-alive connection (nothing was answered).
  Result<HttpResponse> Exchange(const http::request<http::string_body>& request, bool* retryable) {
    beast::error_code ec;
    http::write(socket, request, ec);
    if (ec) {
      *retryable = true;
      return Status::Unavailable(fmt::format("send to {}:{}: {}", host, port, ec.message()));
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    http::read(socket, buffer, parser, ec);
    if (ec) {
      *retryable = ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                   ec == asio::error::eof;
      connected = false;
      return Status::Unavailable(fmt::format("read from {}:{}: {}", host, port, ec.message()));
    }
    auto response = parser.release();
    if (!response.keep_alive()) connected = false;
    return HttpResponse{static_cast<int>(response.result_int()), std::move(response.body())};
  }
};

HttpClient::HttpClient(std::string host, uint16_t port, int timeout_seconds)
    : peer_(fmt::format("{}:{}", host, port)), impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout_seconds = timeout_seconds;
}

HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::Get(std::string_view target) { return Request(false, target, {}, {}); }

Result<HttpResponse> HttpClient::Post(std::string_view target, std::string_view body,
                                      std::string_view content_type) {
  return Request(true, target, body, content_type);
}

Result<HttpResponse> HttpClient::Request(bool post, std::string_view target, std::string_view body,
                                         std::string_view content_type) {
  http::request<http::string_body> request{post ? http::verb::post : http::verb::get,
                                           beast::string_view(target.data(), target.size()), 11};
  request.set(http::field::host, peer_);
  if (!authorization_.empty()) request.set(http::field::authorization, authorization_);
  request.keep_alive(true);
  if (post) {
    request.set(http::field::content_type, beast::string_view(content_type.data(), content_type.size()));
    request.body().assign(body.data(), body.size());
    request.prepare_payload();
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = !impl_->connected;
    if (fresh) SF_RETURN_IF_ERROR(impl_->Connect());
    bool retryable = false;
    auto response = impl_->Exchange(request, &retryable);
    if (response.ok() || fresh || !retryable) return response;
    impl_->connected = false;
  }
  return Status::Unavailable(fmt::format("request to {} failed twice", peer_));
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '_' ||
        u == '.' || u == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

}  // namespace shopfloor::bench
