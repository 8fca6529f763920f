// The Boost.Beast transport: listener, per-connection sessions, WebSocket live sessions,
// TLS and the I/O threads. The only translation unit that includes Asio/Beast; everything
// behind it speaks HttpRequest/HttpResponse (and LiveHub's text messages).
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <fmt/format.h>

#include "server/api.h"
#include "server/live_hub.h"
#include "server/metrics_handler.h"
#include "server/live_session.h"
#include "server/server.h"

namespace shopfloor::server {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::string_view kLivePath = "/api/v1/live";

std::string_view ToStd(beast::string_view s) { return {s.data(), s.size()}; }

// What every session needs; owned by HttpServerImpl, outlives all sessions.
struct ServerContext {
  Api* api = nullptr;
  LiveHub* live_hub = nullptr;  // null: live data disabled (no bus)
  const HttpServerOptions* options = nullptr;
  ssl::context* tls = nullptr;  // null: plain HTTP
};

template <class Stream>
Stream MakeStream(tcp::socket&& socket, ssl::context* tls) {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    return Stream(std::move(socket), *tls);
  } else {
    return Stream(std::move(socket));
  }
}

// One connection: read a request, answer it, repeat while keep-alive holds; or hand the
// stream to a LiveSession on a WebSocket upgrade of /api/v1/live.
// Invariant: at most one read or one write is outstanding, on the session's strand.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Session(tcp::socket&& socket, const ServerContext& context)
      : stream_(MakeStream<Stream>(std::move(socket), context.tls)),
        context_(context),
        api_(context.api),
        options_(*context.options) {}

  void Start() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::Begin, this->shared_from_this()));
  }

 private:
  std::chrono::milliseconds Timeout() const { return std::chrono::milliseconds(options_.request_timeout_ms); }
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  void Begin() {
    if constexpr (kTls) {
      Tcp().expires_after(Timeout());
      stream_.async_handshake(ssl::stream_base::server,
                              beast::bind_front_handler(&Session::OnHandshake, this->shared_from_this()));
    } else {
      DoRead();
    }
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) return;  // not TLS, or a failed handshake: nothing to answer
    DoRead();
  }

  void DoRead() {
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(options_.max_header_bytes);
    // One deadline covers the idle wait and the whole request, so slow clients are cut off.
    Tcp().expires_after(Timeout());
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, this->shared_from_this()));
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
      auto ep = Tcp().socket().remote_endpoint(rec);
      if (!rec) remote = fmt::format("{}:{}", ep.address().to_string(), ep.port());
    }
    request.remote = remote;
    std::string_view path = request.target.substr(0, request.target.find('?'));
    if (path == kLivePath) return HandleLive(request);
    HttpResponse response = api_->Handle(request);
    Send(std::move(response), req.version(), req.keep_alive());
  }

  // /api/v1/live: authenticate, then upgrade to a WebSocket LiveSession.
  void HandleLive(const HttpRequest& request) {
    const auto& req = parser_->get();
    if (!websocket::is_upgrade(req)) {
      return Send(JsonError(426, "/api/v1/live is a WebSocket endpoint: send an Upgrade: websocket request"),
                  req.version(), req.keep_alive());
    }
    LiveHub* hub = context_.live_hub;
    if (hub == nullptr) {
      return Send(JsonError(503, "live data is not enabled on this server"), req.version(), false);
    }
    core::Result<auth::Principal> principal = api_->AuthenticateRequest(request);
    if (!principal.ok()) {
      const bool denied = principal.status().code() == core::StatusCode::kPermissionDenied;
      HttpResponse response = JsonError(denied ? 403 : 401, principal.status().message());
      if (!denied) response.www_authenticate = "Bearer realm=\"shopfloor\"";
      return Send(std::move(response), req.version(), false);
    }
    LiveHub::AccessPredicate access = [api = api_, who = std::move(principal).value()](std::string_view key) {
      return api->CanAccessKey(who, key);
    };
    std::make_shared<transport::LiveSession<Stream>>(std::move(stream_), hub, std::move(access), options_.ws_ping_ms)
        ->Run(parser_->release());
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
    Tcp().expires_after(Timeout());
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
                        self->OnWrite(keep_alive, ec);
                      });
  }

  void OnWrite(bool keep_alive, beast::error_code ec) {
    if (ec) return DoClose();
    if (!keep_alive) return DoClose();
    DoRead();
  }

  void DoClose() {
    if constexpr (kTls) {
      // close_notify, bounded by a short deadline; the TCP connection closes with the stream.
      Tcp().expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const ServerContext& context_;
  Api* const api_;
  const HttpServerOptions& options_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, tcp::acceptor acceptor, const ServerContext& context)
      : ioc_(ioc), acceptor_(std::move(acceptor)), context_(context) {}

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
    if (!ec) {
      if (context_.tls != nullptr) {
        std::make_shared<Session<TlsStream>>(std::move(socket), context_)->Start();
      } else {
        std::make_shared<Session<PlainStream>>(std::move(socket), context_)->Start();
      }
    }
    DoAccept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  const ServerContext& context_;
};

// A TLS 1.2+ server context from PEM files; errors name the file.
core::Result<std::unique_ptr<ssl::context>> MakeTlsContext(const HttpServerOptions& options) {
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    return core::Status::InvalidArgument(
        fmt::format("HTTPS needs both tls_cert_file and tls_key_file (cert: \"{}\", key: \"{}\")",
                    options.tls_cert_file, options.tls_key_file));
  }
  auto tls = std::make_unique<ssl::context>(ssl::context::tls_server);
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
  beast::error_code ec;
  tls->use_certificate_chain_file(options.tls_cert_file, ec);
  if (ec) {
    return core::Status::InvalidArgument(
        fmt::format("TLS certificate file \"{}\": {}", options.tls_cert_file, ec.message()));
  }
  tls->use_private_key_file(options.tls_key_file, ssl::context::pem, ec);
  if (ec) {
    return core::Status::InvalidArgument(fmt::format("TLS key file \"{}\": {}", options.tls_key_file, ec.message()));
  }
  if (SSL_CTX_check_private_key(tls->native_handle()) != 1) {
    return core::Status::InvalidArgument(fmt::format("TLS key file \"{}\" does not match the certificate in \"{}\"",
                                                     options.tls_key_file, options.tls_cert_file));
  }
  return tls;
}

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(HttpServerOptions options, const Services& services)
      : options_(std::move(options)),
        live_hub_(services.bus != nullptr ? std::make_unique<LiveHub>(services.storage, services.bus) : nullptr),
        api_(services, options_),
        ioc_(std::max(1, options_.threads)) {
    api_.set_live_hub(live_hub_.get());
    if (services.metrics != nullptr && live_hub_ != nullptr) {
      metrics_ = services.metrics;
      LiveHub* hub = live_hub_.get();
      (void)RegisterLiveClients(metrics_, [hub] { return static_cast<double>(hub->clients()); });
    }
    context_.api = &api_;
    context_.live_hub = live_hub_.get();
    context_.options = &options_;
  }

  ~HttpServerImpl() override { Stop(); }


  core::Status Listen() {
    if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
      SF_ASSIGN_OR_RETURN(tls_, MakeTlsContext(options_));
      context_.tls = tls_.get();
    }
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
    listener_ = std::make_shared<Listener>(ioc_, std::move(acceptor), context_);
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
    if (metrics_ != nullptr) {
      // The callbacks point into the hub, which dies with the server.
      if (auto live = metrics_->AddGaugeFamily("shopfloor_live_clients", "WebSocket live-data clients connected.");
          live.ok()) {
        (void)(*live)->RemoveChild({});
      }
    }
    if (listener_) listener_->Close();
    ioc_.stop();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  core::MetricsRegistry* metrics_ = nullptr;
  // Destruction runs bottom-up: the io_context (and with it every session, which
  // unsubscribes from the hub) goes before the Api and the hub.
  const HttpServerOptions options_;
  std::unique_ptr<LiveHub> live_hub_;
  Api api_;
  std::unique_ptr<ssl::context> tls_;
  ServerContext context_;
  net::io_context ioc_;
  std::shared_ptr<Listener> listener_;
  std::vector<std::thread> threads_;
  std::atomic<uint16_t> port_{0};
  std::mutex stop_mu_;
  bool stopped_ = false;  // GUARDED_BY(stop_mu_)
};

}  // namespace

core::Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options, Services services) {
  if (services.storage == nullptr || services.clock == nullptr) {
    return core::Status::InvalidArgument("HttpServer::Start needs a storage and a clock");
  }
  if (services.users == nullptr && !options.allow_anonymous) {
    return core::Status::InvalidArgument(
        "HttpServer::Start needs a user store (services.users) unless options.allow_anonymous is set");
  }
  auto server = std::make_unique<HttpServerImpl>(std::move(options), services);
  SF_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<HttpServer>(std::move(server));
}

core::Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options, storage::Storage* storage,
                                                            core::Clock* clock) {
  // Transport tests: every caller is an anonymous admin (as Api's storage/clock constructor).
  options.allow_anonymous = true;
  Services services;
  services.storage = storage;
  services.clock = clock;
  return Start(std::move(options), services);
}

}  // namespace shopfloor::server
