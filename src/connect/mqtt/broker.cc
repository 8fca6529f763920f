// The broker's lifecycle: the listeners (plain and TLS), the I/O threads, the connection limit, the default
// hooks and the counters.
#include "connect/mqtt/broker.h"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>

#include "connect/mqtt/codec.h"
#include "connect/mqtt/connection.h"

namespace shopfloor::connect::mqtt {

Reason BrokerHooks::Authenticate(const Connect&, std::string_view, std::string*) { return Reason::kSuccess; }
bool BrokerHooks::AuthorizePublish(const ClientView&, std::string_view) { return true; }
bool BrokerHooks::AuthorizeSubscribe(const ClientView&, std::string_view) { return true; }
void BrokerHooks::OnPublish(const ClientView&, const Publish&, std::function<void(Reason)> done) {
  done(Reason::kSuccess);
}

Broker::Impl::Impl(BrokerOptions options, BrokerHooks* hooks)
    : options_(std::move(options)),
      hooks_(hooks != nullptr ? hooks : &default_hooks_),
      clock_(options_.clock != nullptr ? options_.clock : core::Clock::System()),
      ioc_(std::max(1, options_.io_threads)),
      acceptor_(ioc_),
      tls_acceptor_(ioc_) {}

Broker::Impl::~Impl() { Stop(); }

core::Status Broker::Impl::Listen(net::ip::tcp::acceptor& acceptor, const std::string& host, uint16_t port,
                                  const char* what, uint16_t* bound) {
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) return core::Status::InvalidArgument(fmt::format("mqtt: bad {} listen address \"{}\"", what, host));
  const net::ip::tcp::endpoint endpoint(address, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return core::Status::IOError(fmt::format("mqtt: cannot listen ({}) on {}:{}: {}", what, host, port, ec.message()));
  }
  *bound = acceptor.local_endpoint().port();
  return core::Status::OK();
}

core::Status Broker::Impl::Start() {
  if (!options_.plain_listener && !options_.tls) {
    return core::Status::InvalidArgument("mqtt: neither the plain nor the TLS listener is enabled");
  }
  if (options_.tls) {
    auto context = TlsContext::Create(*options_.tls);
    if (!context.ok()) return context.status();
    tls_context_ = std::move(context).value();
  }
  if (options_.plain_listener) {
    SF_RETURN_IF_ERROR(Listen(acceptor_, options_.host, options_.port, "plain", &port_));
  }
  if (options_.tls) {
    core::Status listening = Listen(tls_acceptor_, options_.tls->host, options_.tls->port, "TLS", &tls_port_);
    if (!listening.ok()) {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      return listening;
    }
    Accept(tls_acceptor_, tls_context_.get());
  }
  if (options_.plain_listener) Accept(acceptor_, nullptr);
  for (int i = 0; i < std::max(1, options_.io_threads); ++i) threads_.emplace_back([this] { ioc_.run(); });
  running_ = true;
  return core::Status::OK();
}

void Broker::Impl::Stop() {
  running_ = false;
  if (threads_.empty()) return;
  net::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
    tls_acceptor_.close(ec);
  });
  ioc_.stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  // Sessions and connections point at each other until here.
  std::lock_guard lock(mu_);
  for (auto& [id, session] : sessions_) session->connection.reset();
  sessions_.clear();
}

void Broker::Impl::Accept(net::ip::tcp::acceptor& acceptor, const TlsContext* tls) {
  acceptor.async_accept(net::make_strand(ioc_), [this, &acceptor, tls](const boost::system::error_code& ec,
                                                                       net::ip::tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) {
      if (stats_.connections_current.load() >= options_.max_connections) {
        stats_.connections_refused++;
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        stats_.connections_accepted++;
        stats_.connections_current++;
        if (tls != nullptr) {
          stats_.tls_connections_accepted++;
          stats_.tls_connections_current++;
        }
        std::make_shared<Connection>(this, std::move(socket), tls)->Start();
      }
    }
    Accept(acceptor, tls);
  });
}

std::string Broker::Impl::AssignClientId() {
  return fmt::format("sf-{}-{}", port_ != 0 ? port_ : tls_port_, next_client_id_.fetch_add(1) + 1);
}

BrokerStats Broker::Impl::stats() const {
  BrokerStats s;
  s.connections_accepted = stats_.connections_accepted;
  s.connections_refused = stats_.connections_refused;
  s.connections_current = stats_.connections_current;
  s.connect_timeouts = stats_.connect_timeouts;
  s.keep_alive_timeouts = stats_.keep_alive_timeouts;
  s.malformed_packets = stats_.malformed_packets;
  s.auth_failures = stats_.auth_failures;
  s.publishes_denied = stats_.publishes_denied;
  s.subscribes_denied = stats_.subscribes_denied;
  s.publishes_failed = stats_.publishes_failed;
  s.messages_received = stats_.messages_received;
  s.messages_delivered = stats_.messages_delivered;
  s.messages_dropped = stats_.messages_dropped;
  s.slow_consumers = stats_.slow_consumers;
  s.sessions_taken_over = stats_.sessions_taken_over;
  s.wills_published = stats_.wills_published;
  s.tls_connections_accepted = stats_.tls_connections_accepted;
  s.tls_connections_current = stats_.tls_connections_current;
  s.tls_handshake_failures = stats_.tls_handshake_failures;
  return s;
}

Broker::Broker(BrokerOptions options, BrokerHooks* hooks) : impl_(std::make_unique<Impl>(std::move(options), hooks)) {}
Broker::~Broker() { Stop(); }
core::Status Broker::Start() { return impl_->Start(); }
uint16_t Broker::port() const { return impl_->port(); }
uint16_t Broker::tls_port() const { return impl_->tls_port(); }
void Broker::Stop() { impl_->Stop(); }
BrokerStats Broker::stats() const { return impl_->stats(); }

core::Status Broker::Publish(std::string topic, std::string payload, uint8_t qos, bool retain) {
  if (topic.empty() || topic.find_first_of(std::string_view("+#\0", 3)) != std::string::npos) {
    return core::Status::InvalidArgument(
        fmt::format("mqtt: cannot publish on \"{}\": a topic name is not empty and has no '+', '#' or NUL", topic));
  }
  if (qos > 2) return core::Status::InvalidArgument(fmt::format("mqtt: QoS {} is not 0, 1 or 2", qos));
  if (!impl_->running()) return core::Status::Unavailable(fmt::format("mqtt: cannot publish on \"{}\": the broker is not running", topic));
  auto message = std::make_shared<Message>();
  message->publish.topic = std::move(topic);
  message->publish.payload = std::move(payload);
  message->publish.qos = qos;
  message->publish.retain = retain;
  message->received_at = impl_->Now();
  Impl* impl = impl_.get();
  net::post(impl->publish_strand(), [impl, message = MessagePtr(std::move(message))] { impl->Route(message); });
  return core::Status::OK();
}

size_t Broker::CountSubscribers(std::string_view topic) const { return impl_->CountSubscribers(topic); }

size_t Broker::Impl::CountSubscribers(std::string_view topic) {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const Delivery& d : trie_.Match(topic, {})) n += sessions_.count(d.client_id);
  return n;
}

}  // namespace shopfloor::connect::mqtt
