#include "connect/mqtt/bridge.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "core/log.h"

namespace shopfloor::connect::mqtt {

namespace {

// Messages read before their acknowledgements are written (one group of storage writes).
constexpr int kMaxMessagesPerRead = 256;
constexpr int kPollMs = 100;

void InitLibrary() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

bool ValidFilter(std::string_view filter) {
  if (filter.empty()) return false;
  for (size_t i = 0; i < filter.size(); ++i) {
    char c = filter[i];
    if (c == '#' && (i + 1 != filter.size() || (i > 0 && filter[i - 1] != '/'))) return false;
    if (c == '+' && ((i > 0 && filter[i - 1] != '/') || (i + 1 < filter.size() && filter[i + 1] != '/'))) return false;
  }
  return true;
}

}  // namespace

std::string_view BridgeStateName(BridgeState state) {
  switch (state) {
    case BridgeState::kStopped: return "stopped";
    case BridgeState::kConnecting: return "connecting";
    case BridgeState::kConnected: return "connected";
    case BridgeState::kBackoff: return "backoff";
  }
  return "unknown";
}

// Completions of the messages handed out by one read; shared with the `done` callbacks,
// which may outlive the client.
struct Inflight {
  std::mutex mu;
  std::condition_variable cv;
  size_t pending = 0;
  bool retry = false;
};

struct BridgeClient::Impl {
  BridgeOptions options;
  MessageFn on_message;
  core::Clock* clock = nullptr;
  mosquitto* mosq = nullptr;
  int wake_fd = -1;
  std::thread thread;
  std::shared_ptr<Inflight> inflight = std::make_shared<Inflight>();

  mutable std::mutex mu;
  std::condition_variable cv;
  bool started = false;   // GUARDED_BY(mu)
  bool stopping = false;  // GUARDED_BY(mu)
  BridgeStatus status;    // GUARDED_BY(mu)

  // Loop thread only.
  bool connack = false;
  bool connack_ok = false;
  bool dropping = false;
  std::map<int, std::string> subscribing;  // SUBSCRIBE packet id -> filter
  std::minstd_rand rng{std::random_device{}()};

  bool Stopping() const {
    std::lock_guard<std::mutex> lock(mu);
    return stopping;
  }
  void SetState(BridgeState state) {
    std::lock_guard<std::mutex> lock(mu);
    status.state = state;
  }
  void Fail(std::string error) {
    SF_LOG(warn, "mqtt.bridge.error", "broker={}:{} client_id={} error=\"{}\"", options.host, options.port,
           options.client_id, error);
    std::lock_guard<std::mutex> lock(mu);
    status.last_error = std::move(error);
    status.last_error_at = clock->Now();
  }
  void Wake() {
    uint64_t one = 1;
    if (wake_fd >= 0 && ::write(wake_fd, &one, sizeof one) < 0) {
      // the counter is full: the loop is awake anyway
    }
  }
  std::string ReasonText(int rc) const {
    return options.protocol_version == 5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc);
  }

  core::Status Configure();
  void Run();
  bool Session();                // one connection, until it ends; true if CONNACK succeeded
  bool Pump(int timeout_ms);     // false once the connection ended
  bool WaitCompletions();        // false: a message asked for a retry
  void Backoff(core::Duration* next);
  void Disconnect();

  static void OnConnect(mosquitto*, void* self, int rc, int flags, const mosquitto_property*);
  static void OnSubscribe(mosquitto*, void* self, int mid, int count, const int* granted, const mosquitto_property*);
  static void OnMessage(mosquitto*, void* self, const mosquitto_message* msg, const mosquitto_property*);
};

core::Status BridgeClient::Impl::Configure() {
  const BridgeOptions& o = options;
  if (o.host.empty()) return core::Status::InvalidArgument("MQTT bridge: host is empty");
  if (o.client_id.empty() && !o.clean_session) {
    return core::Status::InvalidArgument("MQTT bridge: a persistent session (clean_session false) needs a client_id");
  }
  if (o.protocol_version != 4 && o.protocol_version != 5) {
    return core::Status::InvalidArgument(
        fmt::format("MQTT bridge: protocol_version must be 4 (3.1.1) or 5, got {}", o.protocol_version));
  }
  if (o.keep_alive_s != 0 && (o.keep_alive_s < 5 || o.keep_alive_s > 65535)) {
    return core::Status::InvalidArgument(fmt::format("MQTT bridge: keep_alive_s must be 0 or 5..65535, got {}", o.keep_alive_s));
  }
  if (o.initial_backoff <= 0 || o.max_backoff < o.initial_backoff || o.jitter < 0 || o.jitter >= 1) {
    return core::Status::InvalidArgument("MQTT bridge: backoff needs 0 < initial_backoff <= max_backoff and 0 <= jitter < 1");
  }
  for (const BridgeTopic& t : o.topics) {
    if (!ValidFilter(t.filter) || t.qos < 0 || t.qos > 2) {
      return core::Status::InvalidArgument(fmt::format("MQTT bridge: invalid topic filter \"{}\" or QoS {}", t.filter, t.qos));
    }
  }
  InitLibrary();
  mosq = mosquitto_new(o.client_id.empty() ? nullptr : o.client_id.c_str(), o.clean_session, this);
  if (mosq == nullptr) return core::Status::Internal("MQTT bridge: mosquitto_new failed");
  mosquitto_threaded_set(mosq, true);  // packets are written only by our loop_write (see bridge.h)
  mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, o.protocol_version == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
  mosquitto_connect_v5_callback_set(mosq, &Impl::OnConnect);
  mosquitto_subscribe_v5_callback_set(mosq, &Impl::OnSubscribe);
  mosquitto_message_v5_callback_set(mosq, &Impl::OnMessage);
  auto check = [](int rc, std::string_view what) {
    if (rc == MOSQ_ERR_SUCCESS) return core::Status::OK();
    return core::Status::InvalidArgument(fmt::format("MQTT bridge: {}: {}", what, mosquitto_strerror(rc)));
  };
  if (!o.username.empty()) {
    SF_RETURN_IF_ERROR(check(mosquitto_username_pw_set(mosq, o.username.c_str(), o.password.c_str()), "username"));
  }
  if (o.tls) {
    if (o.tls_ca_file.empty()) {
      SF_RETURN_IF_ERROR(check(mosquitto_int_option(mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1), "TLS with the system's CAs"));
    } else {
      SF_RETURN_IF_ERROR(check(mosquitto_tls_set(mosq, o.tls_ca_file.c_str(), nullptr, nullptr, nullptr, nullptr),
                               fmt::format("TLS CA file \"{}\"", o.tls_ca_file)));
    }
    SF_RETURN_IF_ERROR(check(mosquitto_tls_insecure_set(mosq, o.tls_insecure), "tls_insecure"));
  }
  if (o.will) {
    SF_RETURN_IF_ERROR(check(mosquitto_will_set(mosq, o.will->topic.c_str(), static_cast<int>(o.will->payload.size()),
                                                o.will->payload.data(), o.will->qos, o.will->retain),
                             fmt::format("will on \"{}\"", o.will->topic)));
  }
  wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) return core::Status::Internal("MQTT bridge: eventfd failed");
  return core::Status::OK();
}

void BridgeClient::Impl::OnConnect(mosquitto* mosq, void* self, int rc, int flags, const mosquitto_property*) {
  Impl* impl = static_cast<Impl*>(self);
  impl->connack = true;
  if (rc != 0) {
    impl->Fail(fmt::format("the broker refused the connection: {} (code {})", impl->ReasonText(rc), rc));
    return;
  }
  impl->connack_ok = true;
  impl->subscribing.clear();
  {
    std::lock_guard<std::mutex> lock(impl->mu);
    impl->status.state = BridgeState::kConnected;
    impl->status.connects++;
    impl->status.subscribed = 0;
    impl->status.session_present = (flags & 1) != 0;
  }
  SF_LOG(info, "mqtt.bridge.connected", "broker={}:{} client_id={} session_present={}", impl->options.host,
         impl->options.port, impl->options.client_id, (flags & 1) != 0);
  // Subscribe on every connect: a broker that lost our session (restarted without
  // persistence, or expired it) has forgotten the subscriptions.
  for (const BridgeTopic& t : impl->options.topics) {
    int mid = 0;
    int s = mosquitto_subscribe(mosq, &mid, t.filter.c_str(), t.qos);
    if (s != MOSQ_ERR_SUCCESS) {
      impl->Fail(fmt::format("subscribing to \"{}\": {}", t.filter, mosquitto_strerror(s)));
    } else {
      impl->subscribing[mid] = t.filter;
    }
  }
  for (const BridgeMessage& m : impl->options.on_connect) {
    int s = mosquitto_publish(mosq, nullptr, m.topic.c_str(), static_cast<int>(m.payload.size()), m.payload.data(),
                              m.qos, m.retain);
    if (s != MOSQ_ERR_SUCCESS) impl->Fail(fmt::format("publishing \"{}\" on connect: {}", m.topic, mosquitto_strerror(s)));
  }
}

void BridgeClient::Impl::OnSubscribe(mosquitto*, void* self, int mid, int count, const int* granted,
                                     const mosquitto_property*) {
  Impl* impl = static_cast<Impl*>(self);
  auto it = impl->subscribing.find(mid);
  std::string filter = it == impl->subscribing.end() ? "?" : it->second;
  if (it != impl->subscribing.end()) impl->subscribing.erase(it);
  for (int i = 0; i < count; ++i) {
    if (granted[i] < 0x80) {
      std::lock_guard<std::mutex> lock(impl->mu);
      impl->status.subscribed++;
    } else {
      {
        std::lock_guard<std::mutex> lock(impl->mu);
        impl->status.subscribe_refusals++;
      }
      impl->Fail(fmt::format("the broker refused the subscription to \"{}\" (reason 0x{:02x})", filter, granted[i]));
    }
  }
}

void BridgeClient::Impl::OnMessage(mosquitto*, void* self, const mosquitto_message* msg, const mosquitto_property*) {
  Impl* impl = static_cast<Impl*>(self);
  if (impl->dropping) return;  // the connection is being dropped: not acknowledged, sent again
  {
    std::lock_guard<std::mutex> lock(impl->mu);
    impl->status.messages_received++;
  }
  BridgeMessage m;
  m.topic = msg->topic;
  m.payload.assign(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
  m.qos = msg->qos;
  m.retain = msg->retain;
  std::shared_ptr<Inflight> inflight = impl->inflight;
  {
    std::lock_guard<std::mutex> lock(inflight->mu);
    inflight->pending++;
  }
  impl->on_message(std::move(m), [inflight](Delivery d) {
    std::lock_guard<std::mutex> lock(inflight->mu);
    inflight->pending--;
    if (d == Delivery::kRetry) inflight->retry = true;
    inflight->cv.notify_all();
  });
}

bool BridgeClient::Impl::WaitCompletions() {
  std::unique_lock<std::mutex> lock(inflight->mu);
  inflight->cv.wait(lock, [&] { return inflight->pending == 0; });
  bool ok = !inflight->retry;
  inflight->retry = false;
  return ok;
}

bool BridgeClient::Impl::Pump(int timeout_ms) {
  int fd = mosquitto_socket(mosq);
  if (fd < 0) return false;
  pollfd fds[2] = {{fd, static_cast<short>(POLLIN | (mosquitto_want_write(mosq) ? POLLOUT : 0)), 0},
                   {wake_fd, POLLIN, 0}};
  if (::poll(fds, 2, timeout_ms) < 0 && errno != EINTR) return false;
  if (fds[1].revents & POLLIN) {
    uint64_t n;
    if (::read(wake_fd, &n, sizeof n) < 0) {
      // nothing to drain
    }
  }
  if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
    // Read what is there (up to a bound), then let every message be stored before the
    // acknowledgements go out with the next loop_write.
    for (int i = 0; i < kMaxMessagesPerRead; ++i) {
      int rc = mosquitto_loop_read(mosq, 1);
      if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(mosq) < 0) {
        WaitCompletions();
        if (rc != MOSQ_ERR_CONN_REFUSED && connack_ok) {
          Fail(fmt::format("connection lost: {}", mosquitto_strerror(rc)));
        } else if (!connack) {
          Fail(fmt::format("connection closed before CONNACK: {}", mosquitto_strerror(rc)));
        }
        return false;
      }
      pollfd more{fd, POLLIN, 0};
      if (::poll(&more, 1, 0) <= 0 || !(more.revents & POLLIN)) break;
    }
    if (!WaitCompletions()) {
      // Not acknowledged: close without writing, the broker sends those messages again.
      {
        std::lock_guard<std::mutex> lock(mu);
        status.messages_retried++;
      }
      Fail("a message could not be stored; reconnecting so that the broker sends it again");
      dropping = true;
      ::shutdown(fd, SHUT_RDWR);
      return false;
    }
  }
  if (mosquitto_want_write(mosq)) {
    int rc = mosquitto_loop_write(mosq, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      Fail(fmt::format("connection lost while writing: {}", mosquitto_strerror(rc)));
      return false;
    }
  }
  if (mosquitto_loop_misc(mosq) != MOSQ_ERR_SUCCESS || mosquitto_socket(mosq) < 0) {
    if (connack_ok) Fail("connection lost (keep-alive timeout)");
    return false;
  }
  return true;
}

bool BridgeClient::Impl::Session() {
  connack = connack_ok = dropping = false;
  SetState(BridgeState::kConnecting);
  mosquitto_property* props = nullptr;
  if (options.protocol_version == 5 && !options.clean_session) {
    mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, options.session_expiry_s);
  }
  int rc = mosquitto_connect_bind_v5(mosq, options.host.c_str(), options.port, options.keep_alive_s, nullptr, props);
  mosquitto_property_free_all(&props);
  if (rc != MOSQ_ERR_SUCCESS) {
    std::string why = rc == MOSQ_ERR_ERRNO ? std::string(strerror(errno)) : std::string(mosquitto_strerror(rc));
    Fail(fmt::format("connecting to {}:{}: {}", options.host, options.port, why));
    std::lock_guard<std::mutex> lock(mu);
    status.failed_attempts++;
    return false;
  }
  const int64_t deadline = clock->Steady() + options.connect_timeout;
  while (!Stopping()) {
    if (!Pump(kPollMs)) break;
    if (!connack && clock->Steady() > deadline) {
      Fail(fmt::format("no CONNACK from {}:{} within {} ms", options.host, options.port,
                       options.connect_timeout / core::kMillisecond));
      break;
    }
  }
  if (Stopping() && mosquitto_socket(mosq) >= 0) Disconnect();
  bool was_connected = connack_ok;
  std::lock_guard<std::mutex> lock(mu);
  if (was_connected && !stopping) status.connection_losses++;
  if (!was_connected) status.failed_attempts++;
  return was_connected;
}

void BridgeClient::Impl::Disconnect() {
  WaitCompletions();
  mosquitto_disconnect(mosq);  // queues DISCONNECT; the write closes the socket
  const int64_t until = clock->Steady() + core::kSecond;
  while (mosquitto_socket(mosq) >= 0 && mosquitto_want_write(mosq) && clock->Steady() < until) {
    pollfd p{mosquitto_socket(mosq), POLLOUT, 0};
    ::poll(&p, 1, kPollMs);
    if (mosquitto_loop_write(mosq, 1) != MOSQ_ERR_SUCCESS) break;
  }
}

void BridgeClient::Impl::Backoff(core::Duration* next) {
  double factor = 1.0 + options.jitter * (std::uniform_real_distribution<double>(-1.0, 1.0)(rng));
  core::Duration wait = static_cast<core::Duration>(static_cast<double>(*next) * factor);
  *next = std::min(options.max_backoff, *next * 2);
  SetState(BridgeState::kBackoff);
  const int64_t until = clock->Steady() + wait;
  std::unique_lock<std::mutex> lock(mu);
  // Decides on Clock::Steady(); the real-time wait only bounds how often it looks.
  while (!stopping && clock->Steady() < until) cv.wait_for(lock, std::chrono::milliseconds(20));
}

void BridgeClient::Impl::Run() {
  core::Duration next = options.initial_backoff;
  while (!Stopping()) {
    if (Session()) next = options.initial_backoff;  // a CONNACK resets the backoff
    if (Stopping()) break;
    Backoff(&next);
  }
  SetState(BridgeState::kStopped);
}

BridgeClient::BridgeClient(BridgeOptions options, MessageFn on_message) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->on_message = std::move(on_message);
  impl_->clock = impl_->options.clock ? impl_->options.clock : core::Clock::System();
}

BridgeClient::~BridgeClient() {
  Stop();
  if (impl_->mosq != nullptr) mosquitto_destroy(impl_->mosq);
  if (impl_->wake_fd >= 0) ::close(impl_->wake_fd);
}

core::Status BridgeClient::Start() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->started) return core::Status::OK();
  }
  SF_RETURN_IF_ERROR(impl_->Configure());
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->started = true;
  impl_->status.state = BridgeState::kConnecting;
  impl_->thread = std::thread([impl = impl_.get()] { impl->Run(); });
  return core::Status::OK();
}

void BridgeClient::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (!impl_->started || impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->Wake();
  if (impl_->thread.joinable()) impl_->thread.join();
}

core::Status BridgeClient::Publish(std::string_view topic, std::string_view payload, int qos, bool retain) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->status.state != BridgeState::kConnected || impl_->stopping) {
      return core::Status::Unavailable(fmt::format("MQTT bridge to {}:{} is not connected ({})", impl_->options.host,
                                                   impl_->options.port, BridgeStateName(impl_->status.state)));
    }
  }
  std::string t(topic);
  int rc = mosquitto_publish(impl_->mosq, nullptr, t.c_str(), static_cast<int>(payload.size()), payload.data(), qos, retain);
  if (rc != MOSQ_ERR_SUCCESS) {
    return core::Status::Unavailable(fmt::format("MQTT bridge: publishing \"{}\": {}", t, mosquitto_strerror(rc)));
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->status.messages_published++;
  }
  impl_->Wake();
  return core::Status::OK();
}

BridgeStatus BridgeClient::status() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->status;
}

}  // namespace shopfloor::connect::mqtt
