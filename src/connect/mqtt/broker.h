// The MQTT server endpoint: an MQTT 3.1.1 and 5.0 broker on TCP and, optionally, on a
// second TLS port (see docs/mqtt.md).
//
// Clients connect, keep in-memory sessions (clean or persistent with an expiry), publish at
// QoS 0, 1 and 2 and subscribe with '+' and '#' filters; the broker routes messages between
// them and keeps retained messages. BrokerHooks is the seam for authentication, ACLs and
// ingestion: every inbound PUBLISH goes through OnPublish, and its PUBACK/PUBREC is sent only
// once OnPublish reports success, so a later ingestion hook can make samples durable first.
//
// Thread safety: Broker's methods may be called from any thread. Hooks are called from the
// broker's I/O threads and must not block them for long; OnPublish may complete later, on
// any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "connect/mqtt/packet.h"
#include "core/clock.h"
#include "core/status.h"

namespace shopfloor::connect::mqtt {

// The TLS listener (OpenSSL; TLS 1.2 and 1.3 only, forward-secret AEAD ciphers). The files are
// read once, at Start. The handshake counts toward connect_timeout_ms.
struct TlsListenerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8883;          // 0: an ephemeral port (see Broker::tls_port())
  std::string cert_chain_file;   // PEM: the server certificate first, then its intermediates
  std::string private_key_file;  // PEM, unencrypted
  std::string client_ca_file;    // PEM; set: clients must present a certificate these CAs signed
};

struct BrokerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 1883;  // 0: an ephemeral port (see Broker::port())
  bool plain_listener = true;              // false: TLS only (then `tls` is required)
  std::optional<TlsListenerOptions> tls;   // a second listener; both share everything below
  int io_threads = 1;
  size_t max_connections = 10000;
  uint32_t max_packet_size = 1 << 20;         // inbound, whole packet; announced in CONNACK (5.0)
  size_t max_bytes_queued = 1 << 20;          // encoded bytes waiting for one client's socket
  size_t max_queued_messages = 1000;          // per session, offline or over its receive maximum
  uint32_t connect_timeout_ms = 10'000;       // no CONNECT within this: closed
  uint16_t receive_maximum = 64;              // our inbound QoS>0 window (5.0), announced in CONNACK
  uint16_t topic_alias_maximum = 16;          // inbound aliases per connection (5.0)
  uint16_t max_keep_alive = 0;                // non-zero: clamp client keep-alive (5.0 Server Keep Alive)
  uint32_t max_session_expiry = 0xFFFFFFFF;   // seconds; clamps the 5.0 Session Expiry Interval
  core::Clock* clock = nullptr;               // message expiry; null = Clock::System()
};

// What the hooks know about a client. The views are valid for the duration of the call only.
struct ClientView {
  std::string_view client_id;
  std::string_view username;   // empty when none was given
  std::string_view principal;  // set by Authenticate (e.g. a user or device id)
  std::string_view remote;     // "address:port"
  uint8_t protocol_level = kMqtt311;
  bool tls = false;  // connected through the TLS listener
};

// Authentication, authorization and ingestion. The defaults allow everything and complete
// OnPublish at once with success.
class BrokerHooks {
 public:
  virtual ~BrokerHooks() = default;
  // kSuccess accepts; any other reason refuses the CONNECT with it (3.1.1: mapped to a
  // return code). `principal` is kept on the session and shown to the other hooks.
  virtual Reason Authenticate(const Connect& connect, std::string_view remote, std::string* principal);
  // A denied PUBLISH is answered with PUBACK/PUBREC 0x87 (5.0) or acknowledged and dropped
  // (3.1.1); a denied filter gets SUBACK 0x87 (5.0) / 0x80 (3.1.1).
  virtual bool AuthorizePublish(const ClientView& client, std::string_view topic);
  virtual bool AuthorizeSubscribe(const ClientView& client, std::string_view filter);
  // Called for every accepted inbound PUBLISH (and will message) before it is acknowledged
  // or routed. `done` must be called exactly once, from any thread: kSuccess routes the
  // message and acknowledges it; an error reason is returned in PUBACK/PUBREC (5.0). A 3.1.1
  // client has no negative acknowledgement: a failure that may pass on a retry (Unspecified,
  // Implementation specific, Server unavailable or busy, Quota exceeded) closes the
  // connection without an acknowledgement so that it sends again; any other refusal is
  // acknowledged and dropped. A failed QoS 0 message is dropped.
  virtual void OnPublish(const ClientView& client, const Publish& publish, std::function<void(Reason)> done);
};

// Counters since start. Read with Broker::stats().
struct BrokerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_refused = 0;  // over max_connections (both listeners count)
  uint64_t connections_current = 0;  // both listeners
  uint64_t tls_connections_accepted = 0;
  uint64_t tls_connections_current = 0;
  uint64_t tls_handshake_failures = 0;  // refused, broken or cut off by connect_timeout_ms
  uint64_t connect_timeouts = 0;
  uint64_t keep_alive_timeouts = 0;
  uint64_t malformed_packets = 0;    // decode failures and protocol errors
  uint64_t auth_failures = 0;
  uint64_t publishes_denied = 0;
  uint64_t subscribes_denied = 0;
  uint64_t publishes_failed = 0;     // OnPublish reported an error
  uint64_t messages_received = 0;
  uint64_t messages_delivered = 0;
  uint64_t messages_dropped = 0;     // queue full, expired, or too large for the client
  uint64_t slow_consumers = 0;       // disconnected for exceeding max_bytes_queued
  uint64_t sessions_taken_over = 0;
  uint64_t wills_published = 0;
};

class Broker {
 public:
  // `hooks` may be null (the allowing defaults); it must outlive the broker.
  explicit Broker(BrokerOptions options, BrokerHooks* hooks = nullptr);
  ~Broker();  // Stop()s
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Binds, listens and starts the I/O threads. Fails if an address cannot be bound or the
  // TLS files cannot be used (the message names the file and OpenSSL's reason).
  [[nodiscard]] core::Status Start();
  // The bound ports (after Start); 0 for a listener that is off.
  uint16_t port() const;
  uint16_t tls_port() const;
  // Closes the listener and every connection (no wills) and joins the threads.
  void Stop();
  BrokerStats stats() const;
  // Server-originated messages (e.g. commands to devices, Sparkplug, the MQTT bridge):
  // routed to the matching local subscribers like a client's PUBLISH (no hooks: the caller
  // decides what it sends), and stored when `retain` (an empty payload deletes the retained
  // message). Asynchronous: routed on an I/O thread shortly after the call. InvalidArgument
  // for a bad topic (empty, wildcards, NUL) or QoS > 2; Unavailable before Start() and after
  // Stop(). The publisher has no client id, so No Local never filters it.
  core::Status Publish(std::string topic, std::string payload, uint8_t qos, bool retain);
  // How many sessions (connected or persistent) have a subscription matching `topic`.
  size_t CountSubscribers(std::string_view topic) const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace shopfloor::connect::mqtt
