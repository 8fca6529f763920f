// The bridge client's setup: options checked and handed to libmosquitto, and the
// libmosquitto callbacks (CONNACK, SUBACK, PUBLISH), which run on the client's thread.
#include "connect/mqtt/bridge_impl.h"

#include <mqtt_protocol.h>
#include <sys/eventfd.h>

namespace shopfloor::connect::mqtt {

namespace {

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

}  // namespace shopfloor::connect::mqtt
