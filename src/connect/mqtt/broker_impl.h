// Internal to the broker: the shared state (sessions, subscriptions, retained messages,
// counters) behind one mutex, the routing of messages to sessions, and the Asio context.
// Connections (connection.h) run on strands and call in here.
//
// Lock order: Impl::mu_ before Connection::out_mu_. No hook is called with mu_ held.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "connect/mqtt/broker.h"
#include "connect/mqtt/retained.h"
#include "connect/mqtt/session.h"
#include "connect/mqtt/subscriptions.h"
#include "connect/mqtt/tls.h"

namespace shopfloor::connect::mqtt {

namespace net = boost::asio;

struct AtomicStats {
  std::atomic<uint64_t> connections_accepted{0}, connections_refused{0}, connections_current{0},
      connect_timeouts{0}, keep_alive_timeouts{0}, malformed_packets{0}, auth_failures{0}, publishes_denied{0},
      subscribes_denied{0}, publishes_failed{0}, messages_received{0}, messages_delivered{0},
      messages_dropped{0}, slow_consumers{0}, sessions_taken_over{0}, wills_published{0},
      tls_connections_accepted{0}, tls_connections_current{0}, tls_handshake_failures{0};
};

// A will to publish outside the lock, with who published it.
struct PendingWill {
  std::string client_id, username, principal;
  uint8_t protocol_level = kMqtt311;
  Will will;
};

class Broker::Impl {
 public:
  Impl(BrokerOptions options, BrokerHooks* hooks);
  ~Impl();

  core::Status Start();
  void Stop();
  uint16_t port() const { return port_; }
  bool running() const { return running_; }
  uint16_t tls_port() const { return tls_port_; }
  BrokerStats stats() const;

  const BrokerOptions& options() const { return options_; }
  BrokerHooks& hooks() { return *hooks_; }
  AtomicStats& counters() { return stats_; }
  int64_t Now() const { return clock_->Steady(); }
  net::io_context& io() { return ioc_; }
  net::strand<net::io_context::executor_type>& publish_strand() { return publish_strand_; }
  std::string AssignClientId();

  // Routes an accepted PUBLISH to the matching sessions and stores it if retained.
  // Returns the number of sessions it went to.
  size_t Route(const MessagePtr& message);
  // Sessions with a subscription matching `topic` (Broker::CountSubscribers).
  size_t CountSubscribers(std::string_view topic);
  // Publishes a will (through AuthorizePublish and OnPublish, like a client's PUBLISH).
  void PublishWill(PendingWill will);
  void PostWill(PendingWill will);

  // The connection ended; `publish_will` unless it sent DISCONNECT (or sent 0x04).
  void Detach(Connection* connection, const std::shared_ptr<Session>& session, bool publish_will);

  // With mu_ held.
  std::mutex& mu() { return mu_; }
  SubscriptionTrie& trie() { return trie_; }
  RetainedStore& retained() { return retained_; }
  std::unordered_map<std::string, std::shared_ptr<Session>>& sessions() { return sessions_; }
  void DeliverLocked(Session& session, Outbound out);
  void SendLocked(Session& session, Outbound& out, bool dup);
  void PromoteLocked(Session& session);
  void ResendLocked(Session& session);
  void RemoveSessionLocked(const std::shared_ptr<Session>& session);
  // Takes a disconnected session's pending will, if any, for publishing.
  void TakeWillLocked(Session& session, std::vector<PendingWill>* out);

 private:
  // Opens, binds and listens; the bound port in *port.
  core::Status Listen(net::ip::tcp::acceptor& acceptor, const std::string& host, uint16_t port, const char* what,
                      uint16_t* bound);
  // Accepts on `acceptor` forever; `tls` null for the plain listener.
  void Accept(net::ip::tcp::acceptor& acceptor, const TlsContext* tls);
  void ScheduleLocked(const std::shared_ptr<Session>& session, uint32_t seconds, bool expiry);
  void OnTimer(const std::shared_ptr<Session>& session, uint64_t generation, bool expiry);

  BrokerOptions options_;
  BrokerHooks default_hooks_;
  BrokerHooks* hooks_;
  core::Clock* clock_;
  AtomicStats stats_;

  // Destroyed after the io_context, whose handlers may still hold connections using it.
  std::unique_ptr<TlsContext> tls_context_;
  // Declared before the sessions (which hold connections and their sockets): destroyed after them.
  net::io_context ioc_;
  // Broker::Publish routes on this strand, so server-originated messages keep their order.
  net::strand<net::io_context::executor_type> publish_strand_{net::make_strand(ioc_)};
  net::ip::tcp::acceptor acceptor_;
  net::ip::tcp::acceptor tls_acceptor_;
  std::vector<std::thread> threads_;
  std::atomic<bool> running_{false};  // between Start() and Stop() (Broker::Publish)
  uint16_t port_ = 0;
  uint16_t tls_port_ = 0;
  std::atomic<uint64_t> next_client_id_{0};

  std::mutex mu_;
  SubscriptionTrie trie_;                                             // GUARDED_BY(mu_)
  RetainedStore retained_;                                            // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::shared_ptr<Session>> sessions_;  // GUARDED_BY(mu_)
};

}  // namespace shopfloor::connect::mqtt
