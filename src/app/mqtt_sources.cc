#include "app/mqtt_sources.h"

#include <cstdlib>

#include <fmt/format.h>

#include "app/source_metrics.h"
#include "core/log.h"

namespace shopfloor::app {

namespace mqtt = connect::mqtt;

struct MqttSources::Source {
  model::SourceConfig config;
  mqtt::BridgeOptions bridge_options;
  std::string principal;  // "source:<name>"
  std::string remote;     // "host:port", shown to the hooks
  std::unique_ptr<mqtt::BridgeClient> client;
  mutable std::mutex mu;
  std::string error;  // setup error (bad endpoint, unset password variable); GUARDED_BY(mu)
  core::Timestamp error_at = 0;
  std::string refusal;  // the latest refused message; GUARDED_BY(mu)
  core::Timestamp refusal_at = 0;
  std::atomic<uint64_t> samples{0};  // stored (counted again from the payload, which was valid)
  std::atomic<uint64_t> refused{0};  // refused for good (unknown path, bad payload, outside remote_prefix)
};

namespace {

bool Retryable(mqtt::Reason r) {
  return r == mqtt::Reason::kUnspecifiedError || r == mqtt::Reason::kImplementationSpecificError ||
         r == mqtt::Reason::kServerUnavailable || r == mqtt::Reason::kServerBusy || r == mqtt::Reason::kQuotaExceeded;
}

}  // namespace

core::Result<mqtt::BridgeOptions> BridgeOptionsFor(const model::SourceConfig& source, const std::string& enterprise) {
  const model::SourceOptions& o = source.options;
  mqtt::BridgeOptions b;
  std::string_view rest = source.endpoint;
  if (rest.substr(0, 8) == "mqtts://") {
    b.tls = true;
    rest.remove_prefix(8);
  } else if (rest.substr(0, 7) == "mqtt://") {
    rest.remove_prefix(7);
  }
  b.port = b.tls ? 8883 : 1883;
  size_t colon = rest.rfind(':');
  size_t bracket = rest.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    int port = std::atoi(std::string(rest.substr(colon + 1)).c_str());
    if (port <= 0 || port > 65535) {
      return core::Status::InvalidArgument(
          fmt::format("source \"{}\": endpoint \"{}\" needs a port from 1 to 65535", source.name, source.endpoint));
    }
    b.port = static_cast<uint16_t>(port);
    rest = rest.substr(0, colon);
  }
  if (rest.size() >= 2 && rest.front() == '[' && rest.back() == ']') rest = rest.substr(1, rest.size() - 2);
  b.host = std::string(rest);
  b.client_id = o.client_id.empty() ? "shopfloor-" + source.name : o.client_id;
  b.username = o.username;
  b.protocol_version = o.mqtt_version;
  b.tls_ca_file = o.tls_ca_file;
  b.tls_insecure = o.tls_insecure;
  b.keep_alive_s = static_cast<int>(o.keep_alive / core::kSecond);
  b.clean_session = o.clean_session;
  std::vector<std::string> filters = o.topics;
  if (filters.empty()) filters.push_back((o.remote_prefix.empty() ? enterprise : o.remote_prefix) + "/#");
  for (std::string& f : filters) b.topics.push_back({std::move(f), o.qos});
  return b;
}

core::Result<std::unique_ptr<MqttSources>> MqttSources::Create(const model::PlantConfig* config,
                                                                model::AssetStore* assets, ingest::Writer* writer,
                                                                core::MetricsRegistry* metrics, core::Clock* clock,
                                                                MqttSourcesOptions options) {
  std::unique_ptr<MqttSources> self(new MqttSources(assets, writer, clock, std::move(options)));
  if (config == nullptr) return self;
  self->enterprise_ = config->enterprise.name;
  for (const model::SourceConfig& sc : config->sources) {
    if (sc.protocol != model::Protocol::kMqtt) continue;
    auto source = std::make_unique<Source>();
    source->config = sc;
    source->principal = "source:" + sc.name;
    auto bridge = BridgeOptionsFor(sc, config->enterprise.name);
    if (!bridge.ok()) {
      source->error = bridge.status().message();
      source->error_at = clock->Now();
    } else {
      source->bridge_options = std::move(bridge).value();
      source->bridge_options.initial_backoff = self->options_.initial_backoff;
      source->bridge_options.max_backoff = self->options_.max_backoff;
      source->bridge_options.clock = clock;
      source->remote = fmt::format("{}:{}", source->bridge_options.host, source->bridge_options.port);
    }
    self->sources_.push_back(std::move(source));
  }
  if (self->sources_.empty()) return self;
  mqtt::TelemetryOptions telemetry;
  MqttSources* raw = self.get();
  // A bridge may create what the model lacks only when its source says so.
  telemetry.may_provision = [raw](const mqtt::ClientView& client) {
    for (const auto& s : raw->sources_) {
      if (s->principal == client.principal) return s->config.options.may_provision;
    }
    return false;
  };
  self->telemetry_ = std::make_unique<mqtt::TelemetryHooks>(assets, writer, clock, std::move(telemetry));
  if (metrics != nullptr) SF_RETURN_IF_ERROR(self->RegisterMetrics(metrics));
  return self;
}

MqttSources::MqttSources(model::AssetStore* assets, ingest::Writer* writer, core::Clock* clock,
                         MqttSourcesOptions options)
    : assets_(assets), writer_(writer), clock_(clock), options_(std::move(options)) {}

MqttSources::~MqttSources() {
  Stop();
  telemetry_.reset();  // after the bridges: they wait for their messages to be stored
}

void MqttSources::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  auto getenv = options_.getenv ? options_.getenv : [](const char* name) -> const char* { return std::getenv(name); };
  for (auto& s : sources_) {
    Source* source = s.get();
    std::lock_guard<std::mutex> source_lock(source->mu);
    if (!source->error.empty()) continue;
    mqtt::BridgeOptions bridge = source->bridge_options;
    const std::string& env = source->config.options.password_env;
    if (!env.empty()) {
      const char* password = getenv(env.c_str());
      if (password == nullptr) {
        source->error = fmt::format("the environment variable {} (options.password_env) is not set", env);
        source->error_at = clock_->Now();
        SF_LOG(error, "mqtt.source.error", "source={} error=\"{}\"", source->config.name, source->error);
        continue;
      }
      bridge.password = password;
    }
    source->client = std::make_unique<mqtt::BridgeClient>(
        std::move(bridge), [this, source](mqtt::BridgeMessage m, mqtt::BridgeClient::Done done) {
          OnMessage(source, std::move(m), std::move(done));
        });
    core::Status started = source->client->Start();
    if (!started.ok()) {
      source->error = started.message();
      source->error_at = clock_->Now();
      source->client.reset();
      SF_LOG(error, "mqtt.source.error", "source={} error=\"{}\"", source->config.name, source->error);
    }
  }
}

void MqttSources::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& s : sources_) {
    if (s->client) s->client->Stop();
  }
}

void MqttSources::SetLocalBroker(mqtt::Broker* broker) { local_broker_.store(broker); }

void MqttSources::Refuse(Source* source, std::string error) {
  source->refused++;
  SF_LOG(warn, "mqtt.source.refused", "source={} error=\"{}\"", source->config.name, error);
  std::lock_guard<std::mutex> lock(source->mu);
  source->refusal = std::move(error);
  source->refusal_at = clock_->Now();
}

void MqttSources::OnMessage(Source* source, mqtt::BridgeMessage m, mqtt::BridgeClient::Done done) {
  const model::SourceOptions& o = source->config.options;
  std::string topic = std::move(m.topic);
  if (!o.remote_prefix.empty()) {
    const std::string& from = o.remote_prefix;
    bool under = topic.compare(0, from.size(), from) == 0 && (topic.size() == from.size() || topic[from.size()] == '/');
    if (!under) {
      Refuse(source, fmt::format("message on \"{}\" refused: it is outside remote_prefix \"{}\"", topic, from));
      done(mqtt::Delivery::kDropped);
      return;
    }
    topic = o.local_prefix + topic.substr(from.size());
  }
  mqtt::Publish publish;
  publish.topic = topic;
  publish.payload = std::move(m.payload);
  publish.qos = static_cast<uint8_t>(m.qos);
  publish.retain = m.retain;
  const mqtt::ClientView view{source->bridge_options.client_id, {}, source->principal, source->remote,
                              static_cast<uint8_t>(source->bridge_options.protocol_version)};
  // The payload is moved into the hooks' queue; the local broker needs its own copy.
  auto forward = std::make_shared<mqtt::Publish>(publish);
  telemetry_->OnPublish(view, publish, [this, source, forward, done = std::move(done)](mqtt::Reason reason) {
    if (reason == mqtt::Reason::kSuccess) {
      if (forward->topic.compare(0, enterprise_.size() + 1, enterprise_ + "/") == 0) {
        auto parsed = mqtt::ParseTelemetry(forward->topic, forward->payload, 0);
        if (parsed.ok()) source->samples += parsed->points.size();
      }
      if (mqtt::Broker* broker = local_broker_.load()) {
        core::Status s = broker->Publish(forward->topic, forward->payload, forward->qos, forward->retain);
        if (!s.ok()) SF_LOG(warn, "mqtt.source.forward_failed", "source={} error=\"{}\"", source->config.name, s.ToString());
      }
      done(mqtt::Delivery::kStored);
      return;
    }
    std::string detail = telemetry_->stats().last_error;
    std::string error = fmt::format("message on \"{}\" refused: {}{}{}", forward->topic, mqtt::ReasonName(reason),
                                    detail.empty() ? "" : ": ", detail);
    if (reason == mqtt::Reason::kNotAuthorized && !source->config.options.may_provision) {
      error += " (the source may not create assets or tags; see options.may_provision)";
    }
    if (Retryable(reason)) {
      SF_LOG(warn, "mqtt.source.store_failed", "source={} error=\"{}\"", source->config.name, error);
      done(mqtt::Delivery::kRetry);  // the bridge reconnects; the broker sends it again
      return;
    }
    Refuse(source, std::move(error));
    done(mqtt::Delivery::kDropped);
  });
}

server::SourceStatus MqttSources::StatusOf(const Source& source) const {
  server::SourceStatus st;
  st.name = source.config.name;
  st.protocol = "mqtt";
  st.endpoint = source.config.endpoint;
  st.samples = source.samples.load();
  std::lock_guard<std::mutex> lock(source.mu);
  if (!source.error.empty()) {
    st.state = "error";
    st.last_error = source.error;
    st.last_error_at = source.error_at;
    return st;
  }
  if (!source.client) {
    st.state = "idle";
    return st;
  }
  mqtt::BridgeStatus b = source.client->status();
  st.connects = b.connects;
  st.connection_losses = b.connection_losses;
  st.failed_attempts = b.failed_attempts;
  st.last_error = b.last_error;
  st.last_error_at = b.last_error_at;
  if (source.refusal_at > st.last_error_at) {
    st.last_error = source.refusal;
    st.last_error_at = source.refusal_at;
  }
  switch (b.state) {
    case mqtt::BridgeState::kConnected:  // "connected" once every filter is subscribed
      st.state = b.subscribed >= source.bridge_options.topics.size() ? "connected" : "connecting";
      break;
    case mqtt::BridgeState::kConnecting: st.state = "connecting"; break;
    case mqtt::BridgeState::kBackoff: st.state = "error"; break;
    case mqtt::BridgeState::kStopped: st.state = "idle"; break;
  }
  return st;
}

std::vector<server::SourceStatus> MqttSources::Status() const {
  std::vector<server::SourceStatus> out;
  for (const auto& s : sources_) out.push_back(StatusOf(*s));
  return out;
}

core::Status MqttSources::RegisterMetrics(core::MetricsRegistry* metrics) {
  std::vector<std::string> names;
  for (const auto& s : sources_) names.push_back(s->config.name);
  SF_RETURN_IF_ERROR(RegisterSourceMetrics(
      metrics, names, [this](size_t i) { return StatusOf(*sources_[i]); }, {}));
  SF_ASSIGN_OR_RETURN(core::CounterFamily * refused,
                      metrics->AddCounterFamily("shopfloor_source_messages_refused_total",
                                                "MQTT bridge messages refused for good (unknown path without "
                                                "may_provision, bad payload, outside remote_prefix)",
                                                {"source"}));
  for (const auto& s : sources_) {
    const Source* source = s.get();
    SF_RETURN_IF_ERROR(refused->SetCallback({source->config.name}, [source] { return double(source->refused.load()); }));
  }
  return core::Status::OK();
}

}  // namespace shopfloor::app
