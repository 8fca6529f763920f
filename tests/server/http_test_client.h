// A minimal blocking HTTP/1.1 client for server tests (Boost.Beast, one connection,
// keep-alive by default).
#pragma once

#include <string>
#include <string_view>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace shopfloor::server::testing {

class TestHttpClient {
 public:
  struct Response {
    int status = 0;
    std::string body;
    std::string allow;
    std::string connection;
    bool keep_alive = false;
  };

  explicit TestHttpClient(uint16_t port) : stream_(ioc_) {
    boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), port);
    stream_.connect(ep);
  }

  // Sends one request and reads the answer. On a transport error returns status 0 and the
  // error text in body.
  Response Request(boost::beast::http::verb method, std::string_view target, std::string body = {},
                   bool keep_alive = true) {
    namespace http = boost::beast::http;
    http::request<http::string_body> req{method, std::string(target), 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(keep_alive);
    if (!body.empty() || method == http::verb::post) {
      req.body() = std::move(body);
      req.prepare_payload();
    }
    Response out;
    boost::beast::error_code ec;
    http::write(stream_, req, ec);
    if (ec) {
      out.body = "write: " + ec.message();
      return out;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(256ull << 20);
    http::read(stream_, buffer_, parser, ec);
    if (ec) {
      out.body = "read: " + ec.message();
      return out;
    }
    const auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    out.allow = std::string(res[http::field::allow]);
    out.keep_alive = res.keep_alive();
    return out;
  }

  // Sends raw bytes (for malformed requests) and reads one response.
  Response Raw(std::string_view bytes) {
    namespace http = boost::beast::http;
    Response out;
    boost::beast::error_code ec;
    boost::asio::write(stream_, boost::asio::buffer(bytes.data(), bytes.size()), ec);
    http::response_parser<http::string_body> parser;
    http::read(stream_, buffer_, parser, ec);
    if (ec) {
      out.body = "read: " + ec.message();
      return out;
    }
    out.status = static_cast<int>(parser.get().result_int());
    out.body = parser.get().body();
    return out;
  }

  // True when the server has closed the connection (a read returns EOF).
  bool ReadsEof() {
    char c;
    boost::beast::error_code ec;
    stream_.read_some(boost::asio::buffer(&c, 1), ec);
    return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket stream_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace shopfloor::server::testing
