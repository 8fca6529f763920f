// The Boost.Beast transport: listener, per-connection sessions and the I/O threads. The only
// file that includes Asio/Beast; everything behind it speaks HttpRequest/HttpResponse.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "server/api.h"
#include "server/server.h"

namespace shopfloor::server {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string_view ToStd(beast::string_view s) { return {s.data(), s.size()}; }

// One connection: read a request, answer it, repeat while keep-alive holds.
// Invariant: at most one read or one write is outstanding, on the session's strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Api* api, const HttpServerOptions& options)
      : stream_(std::move(socket)), api_(api), options_(options) {}

  void Start() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::DoRead, shared_from_this()));
  }

 private:
  std::chrono::milliseconds Timeout() const { return std::chrono::milliseconds(options_.request_timeout_ms); }

  void DoRead() {
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(options_.max_header_bytes);
    // One deadline covers the idle wait and the whole request, so slow clients are cut off.
    stream_.expires_after(Timeout());
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted) {
      return DoClose();
    }
    if (ec == http::error::body_limit) {
      return Send(JsonError(413, fmt::format("request body exceeds the limit of {} bytes", options_.max_body_bytes)),
                  11, false);
    }
    if (ec == http::error::header_limit) {
      return Send(JsonError(431, "request header fields too large"), 11, false);
    }
    if (ec) {
      if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
        return Send(JsonError(400, "malformed HTTP request: " + ec.message()), 11, false);
      }
      return DoClose();
    }
    const auto& req = parser_->get();
    HttpRequest request;
    request.method = ToStd(req.method_string());
    request.target = ToStd(req.target());
    request.content_encoding = ToStd(req[http::field::content_encoding]);
    request.body = req.body();
    request.content_type = ToStd(req[http::field::content_type]);
    request.authorization = ToStd(req[http::field::authorization]);
    request.accept = ToStd(req[http::field::accept]);
    request.cookie = ToStd(req[http::field::cookie]);
    std::string remote;
    {
      beast::error_code rec;
      auto ep = stream_.socket().remote_endpoint(rec);
      if (!rec) remote = fmt::format("{}:{}", ep.address().to_string(), ep.port());
    }
    request.remote = remote;
    HttpResponse response = api_->Handle(request);
    Send(std::move(response), req.version(), req.keep_alive());
  }

  void Send(HttpResponse response, unsigned version, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(response.status),
                                                                   version);
    res->set(http::field::server, "shopfloor");
    if (!response.body.empty()) res->set(http::field::content_type, response.content_type);
    if (!response.allow.empty()) res->set(http::field::allow, response.allow);
    if (!response.www_authenticate.empty()) res->set(http::field::www_authenticate, response.www_authenticate);
    if (!response.content_disposition.empty()) {
      res->set(http::field::content_disposition, response.content_disposition);
    }
    if (!response.cache_control.empty()) res->set(http::field::cache_control, response.cache_control);
    if (response.status == 204) {
      // Telegraf and InfluxDB clients look for this header to recognise a v1 server.
      res->set("X-Influxdb-Version", "1.8-shopfloor");
    }
    res->body() = std::move(response.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    stream_.expires_after(Timeout());
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
                        self->OnWrite(keep_alive, ec);
                      });
  }

  void OnWrite(bool keep_alive, beast::error_code ec) {
    if (ec) return DoClose();
    if (!keep_alive) return DoClose();
    DoRead();
  }

  void DoClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Api* const api_;
  const HttpServerOptions& options_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, tcp::acceptor acceptor, Api* api, const HttpServerOptions& options)
      : ioc_(ioc), acceptor_(std::move(acceptor)), api_(api), options_(options) {}

  void Start() { DoAccept(); }
  void Close() {
    net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
    });
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }
  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) std::make_shared<Session>(std::move(socket), api_, options_)->Start();
    DoAccept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  Api* const api_;
  const HttpServerOptions& options_;
};

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(HttpServerOptions options, storage::Storage* storage, core::Clock* clock)
      : options_(std::move(options)), api_(storage, clock, options_), ioc_(std::max(1, options_.threads)) {}

  ~HttpServerImpl() override { Stop(); }

  core::Status Listen() {
    beast::error_code ec;
    net::ip::address address = net::ip::make_address(options_.host, ec);
    if (ec) return core::Status::InvalidArgument(fmt::format("invalid listen address \"{}\"", options_.host));
    tcp::endpoint endpoint(address, options_.port);
    tcp::acceptor acceptor(ioc_);
    const std::string where = fmt::format("{}:{}", options_.host, options_.port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return core::Status::IOError(fmt::format("listening on {}: {}", where, ec.message()));
    port_ = acceptor.local_endpoint().port();
    listener_ = std::make_shared<Listener>(ioc_, std::move(acceptor), &api_, options_);
    listener_->Start();
    for (int i = 0; i < std::max(1, options_.threads); ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
    return core::Status::OK();
  }

  uint16_t port() const override { return port_; }

  void Stop() override {
    std::lock_guard lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    if (listener_) listener_->Close();
    ioc_.stop();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  const HttpServerOptions options_;
  Api api_;
  net::io_context ioc_;
  std::shared_ptr<Listener> listener_;
  std::vector<std::thread> threads_;
  std::atomic<uint16_t> port_{0};
  std::mutex stop_mu_;
  bool stopped_ = false;  // GUARDED_BY(stop_mu_)
};

}  // namespace

core::Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options, storage::Storage* storage,
                                                            core::Clock* clock) {
  if (storage == nullptr || clock == nullptr) {
    return core::Status::InvalidArgument("HttpServer::Start needs a storage and a clock");
  }
  auto server = std::make_unique<HttpServerImpl>(std::move(options), storage, clock);
  SF_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace shopfloor::server
