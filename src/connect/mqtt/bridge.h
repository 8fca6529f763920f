// BridgeClient: an MQTT client (libmosquitto) to an external broker. It subscribes to
// topic filters, hands every message to a callback, and publishes outbound messages; see
// docs/mqtt.md ("Bridge mode").
//
// Connection. One thread per client drives libmosquitto (its own poll loop, not
// mosquitto_loop_start): connect, CONNACK, subscribe to every filter on every (re)connect
// (so a broker that lost the session gets the subscriptions again), publish the on-connect
// messages, then read. A lost or refused connection waits in state kBackoff for
// initial_backoff, doubling up to max_backoff, with +-jitter, measured on Clock::Steady();
// a CONNACK resets it. Persistent session (clean_session false) by default: the external
// broker queues QoS 1/2 messages for us while we are away and resends unacknowledged ones.
//
// Acknowledgement. libmosquitto queues a QoS 1 PUBACK before it calls the message callback.
// This client runs libmosquitto in threaded mode, where queued packets are written only by
// mosquitto_loop_write, and calls that only once every message of the read has been
// completed by the callback's `done`. So the broker sees a PUBACK only after `done`.
// done(kRetry) (e.g. storage full) drops the connection without writing the
// acknowledgements: the broker sends those messages again after the reconnect (persistent
// session). This relies on libmosquitto 2.0's queueing (not a documented guarantee). QoS 2
// is weaker: the PUBREC leaves on receipt and the callback runs at PUBREL; QoS 0 messages
// are lost on any failure (docs/mqtt.md, "Bridge mode").
//
// Thread safety: all public methods are thread-safe. The callback runs on the client's
// thread; `done` may be called from any thread, once. Stop() (or the destructor) joins
// the thread; the callback is not called after Stop() returns.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace shopfloor::connect::mqtt {

struct BridgeTopic {
  std::string filter;
  int qos = 1;
};

struct BridgeMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
};

struct BridgeOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 1883;
  std::string client_id;  // required unless clean_session
  std::string username;   // empty: none
  std::string password;
  int protocol_version = 4;  // 4 = MQTT 3.1.1, 5 = MQTT 5.0
  // TLS (mqtts): on when tls is set; tls_ca_file verifies the server (empty: the system's
  // CAs). tls_insecure skips the host name check (never the chain); off by default.
  bool tls = false;
  std::string tls_ca_file;
  bool tls_insecure = false;
  int keep_alive_s = 30;
  bool clean_session = false;
  uint32_t session_expiry_s = 0xFFFFFFFF;  // MQTT 5 with a persistent session
  std::vector<BridgeTopic> topics;
  core::Duration initial_backoff = 500 * core::kMillisecond;
  core::Duration max_backoff = 30 * core::kSecond;
  double jitter = 0.2;                             // +- fraction of each backoff
  core::Duration connect_timeout = 10 * core::kSecond;  // TCP connect to CONNACK
  std::optional<BridgeMessage> will;               // last will and testament
  std::vector<BridgeMessage> on_connect;           // published after each CONNACK (e.g. STATE)
  core::Clock* clock = nullptr;                    // null: Clock::System()
};

enum class BridgeState { kStopped, kConnecting, kConnected, kBackoff };
std::string_view BridgeStateName(BridgeState state);  // "stopped", "connecting", ...

struct BridgeStatus {
  BridgeState state = BridgeState::kStopped;
  std::string last_error;  // empty until something failed
  core::Timestamp last_error_at = 0;
  uint64_t connects = 0;          // CONNACKs with success
  uint64_t connection_losses = 0; // connected, then lost
  uint64_t failed_attempts = 0;   // TCP, TLS or CONNACK failures
  size_t subscribed = 0;          // filters the broker granted (SUBACK) on this connection
  uint64_t subscribe_refusals = 0;
  uint64_t messages_received = 0;
  uint64_t messages_retried = 0;  // completed with kRetry: not acknowledged
  uint64_t messages_published = 0;
  bool session_present = false;   // of the last CONNACK
};

enum class Delivery { kStored, kDropped, kRetry };

class BridgeClient {
 public:
  // `done` tells the client what became of the message: kStored or kDropped acknowledge it
  // (kDropped: refused for good, e.g. a bad payload), kRetry drops the connection so the
  // broker resends it.
  using Done = std::function<void(Delivery)>;
  using MessageFn = std::function<void(BridgeMessage message, Done done)>;

  BridgeClient(BridgeOptions options, MessageFn on_message);
  ~BridgeClient();  // Stop()s
  BridgeClient(const BridgeClient&) = delete;
  BridgeClient& operator=(const BridgeClient&) = delete;

  // Checks the options (InvalidArgument naming the option) and starts the thread, which
  // connects in the background. Idempotent.
  [[nodiscard]] core::Status Start();
  // Sends DISCONNECT (no will) when connected and joins the thread. Idempotent.
  void Stop();

  // Queues an outbound PUBLISH. Unavailable when not connected (nothing is queued then).
  [[nodiscard]] core::Status Publish(std::string_view topic, std::string_view payload, int qos, bool retain);

  BridgeStatus status() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace shopfloor::connect::mqtt
