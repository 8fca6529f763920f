// The bridge client's connection loop (connect, CONNACK, read, wait for storage, write),
// its backoff, and the public methods. See bridge.h.
#include "connect/mqtt/bridge_impl.h"

#include <mqtt_protocol.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace shopfloor::connect::mqtt {

namespace {

// Messages read before their acknowledgements are written (one group of storage writes).
constexpr int kMaxMessagesPerRead = 256;
constexpr int kPollMs = 100;

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
