// The broker's lifecycle: the listener, the I/O threads, the connection limit, the default
// hooks and the counters.
#include "connect/mqtt/broker.h"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>

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
      acceptor_(ioc_) {}

Broker::Impl::~Impl() { Stop(); }

core::Status Broker::Impl::Start() {
  boost::system::error_code ec;
  const auto address = net::ip::make_address(options_.host, ec);
  if (ec) return core::Status::InvalidArgument(fmt::format("mqtt: bad listen address \"{}\"", options_.host));
  const net::ip::tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::Status::IOError(fmt::format("mqtt: cannot listen on {}:{}: {}", options_.host, options_.port, ec.message()));
  }
  port_ = acceptor_.local_endpoint().port();
  Accept();
  for (int i = 0; i < std::max(1, options_.io_threads); ++i) threads_.emplace_back([this] { ioc_.run(); });
  return core::Status::OK();
}

void Broker::Impl::Stop() {
  if (threads_.empty()) return;
  net::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
  ioc_.stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  // Sessions and connections point at each other until here.
  std::lock_guard lock(mu_);
  for (auto& [id, session] : sessions_) session->connection.reset();
  sessions_.clear();
}

void Broker::Impl::Accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](const boost::system::error_code& ec, net::ip::tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      if (stats_.connections_current.load() >= options_.max_connections) {
        stats_.connections_refused++;
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        stats_.connections_accepted++;
        stats_.connections_current++;
        std::make_shared<Connection>(this, std::move(socket))->Start();
      }
    }
    Accept();
  });
}

std::string Broker::Impl::AssignClientId() {
  return fmt::format("sf-{}-{}", port_, next_client_id_.fetch_add(1) + 1);
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
  return s;
}

Broker::Broker(BrokerOptions options, BrokerHooks* hooks) : impl_(std::make_unique<Impl>(std::move(options), hooks)) {}
Broker::~Broker() { Stop(); }
core::Status Broker::Start() { return impl_->Start(); }
uint16_t Broker::port() const { return impl_->port(); }
void Broker::Stop() { impl_->Stop(); }
BrokerStats Broker::stats() const { return impl_->stats(); }

core::Status Broker::Publish(std::string topic, std::string payload, uint8_t qos, bool retain) {
  if (topic.empty() || topic.find_first_of(std::string_view("+#\0", 3)) != std::string::npos) {
    return core::Status::InvalidArgument(
        fmt::format("mqtt: cannot publish on \"{}\": a topic name is not empty and has no '+', '#' or NUL", topic));
  }
  if (qos > 2) return core::Status::InvalidArgument(fmt::format("mqtt: QoS {} is not 0, 1 or 2", qos));
  auto message = std::make_shared<Message>();
  message->publish.topic = std::move(topic);
  message->publish.payload = std::move(payload);
  message->publish.qos = qos;
  message->publish.retain = retain;
  message->received_at = impl_->Now();
  Impl* impl = impl_.get();
  net::post(impl->io(), [impl, message = MessagePtr(std::move(message))] { impl->Route(message); });
  return core::Status::OK();
}

}  // namespace shopfloor::connect::mqtt
