// SparkplugHost: Sparkplug B sources on Shopfloor's MQTT endpoint, and their setpoints
// (see sparkplug_host.h).
#include "app/sparkplug_host.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/mqtt_sources.h"
#include "app/setpoint_json.h"
#include "core/log.h"

namespace shopfloor::app {

namespace sp = connect::sparkplug;
using Json = nlohmann::json;

namespace {

bool IsLoopbackName(std::string_view host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]";
}

// Whether `source` names one of Shopfloor's own listeners ("host:port" each).
bool IsLocal(const model::SourceConfig& source, const std::vector<std::string>& listeners) {
  std::string_view endpoint = source.endpoint;
  if (auto p = endpoint.find("://"); p != std::string_view::npos) endpoint.remove_prefix(p + 3);
  const size_t colon = endpoint.rfind(':');
  const std::string_view host = endpoint.substr(0, colon), port = endpoint.substr(colon + 1);
  for (const std::string& l : listeners) {
    const size_t c = l.rfind(':');
    const std::string_view lhost = std::string_view(l).substr(0, c), lport = std::string_view(l).substr(c + 1);
    if (port != lport) continue;
    if (host == lhost) return true;
    if (IsLoopbackName(host) && (IsLoopbackName(lhost) || lhost == "0.0.0.0" || lhost == "::")) return true;
  }
  return false;
}

bool Retryable(connect::mqtt::Reason r) {
  using connect::mqtt::Reason;
  return r == Reason::kUnspecifiedError || r == Reason::kImplementationSpecificError ||
         r == Reason::kServerUnavailable || r == Reason::kServerBusy || r == Reason::kQuotaExceeded;
}

}  // namespace

std::unique_ptr<SparkplugHost> SparkplugHost::Create(const model::PlantConfig* config, model::AssetStore* assets,
                                                     model::TwinStore* twins, ingest::Writer* writer, ingest::Bus* bus,
                                                     auth::AuditLog* audit, core::Clock* clock,
                                                     connect::mqtt::BrokerHooks* next, SparkplugHostOptions options) {
  if (config == nullptr) return nullptr;
  std::vector<model::SourceConfig> sources;
  sp::SparkplugOptions hooks_options;
  for (const model::SourceConfig& s : config->sources) {
    if (s.protocol != model::Protocol::kSparkplug) continue;
    sources.push_back(s);
    hooks_options.sources.push_back(sp::SparkplugSource{s.name, s.options.group_id, s.options.provision_path});
    if (!s.options.host_id.empty()) hooks_options.host_id = s.options.host_id;
  }
  if (sources.empty()) return nullptr;
  hooks_options.may_publish = options.may_publish;
  std::unique_ptr<SparkplugHost> host(new SparkplugHost(std::move(sources), assets, twins, bus, audit, clock,
                                                        std::move(options)));
  host->hooks_ = std::make_unique<sp::SparkplugHooks>(assets, twins, writer, clock, std::move(hooks_options), next);
  return host;
}

SparkplugHost::SparkplugHost(std::vector<model::SourceConfig> sources, model::AssetStore* assets,
                             model::TwinStore* twins, ingest::Bus* bus, auth::AuditLog* audit, core::Clock* clock,
                             SparkplugHostOptions options)
    : sources_(std::move(sources)),
      assets_(assets),
      twins_(twins),
      bus_(bus),
      audit_(audit),
      clock_(clock),
      options_(std::move(options)) {}

std::vector<SparkplugHost::Remote> SparkplugHost::MakeRemotes(const std::vector<std::string>& listeners) {
  std::vector<Remote> remotes;
  const std::string host_id = hooks_->options().host_id;
  // Sources on a plant broker: one MQTT client each.
  auto getenv = options_.getenv ? options_.getenv
                                      : [](const char* name) -> const char* { return std::getenv(name); };
  const std::string state_topic = fmt::format("{}/STATE/{}", sp::kNamespace, host_id);
  const uint64_t born = static_cast<uint64_t>(clock_->Now() / core::kMillisecond);
  for (size_t i = 0; i < sources_.size(); ++i) {
    const model::SourceConfig& s = sources_[i];
    if (IsLocal(s, listeners)) continue;
    Remote remote;
    remote.source = i;
    auto options = BridgeOptionsFor(s, options_.enterprise);
    if (!options.ok()) {
      remote.error = options.status().message();
    } else if (!s.options.username.empty() && getenv(s.options.password_env.c_str()) == nullptr) {
      remote.error = fmt::format("source \"{}\": the environment variable {} (options.password_env) is not set", s.name,
                                 s.options.password_env);
    } else {
      if (!s.options.username.empty()) options->password = getenv(s.options.password_env.c_str());
      options->client_id = s.options.client_id.empty() ? fmt::format("shopfloor-{}-{}", host_id, s.name) : s.options.client_id;
      options->topics = {{fmt::format("{}/{}/#", sp::kNamespace, s.options.group_id), s.options.qos}};
      // STATE (Sparkplug 3.0): online on every connect, offline as the will, same timestamp.
      options->on_connect = {{state_topic, sp::StatePayload(true, born), 1, true}};
      options->will = connect::mqtt::BridgeMessage{state_topic, sp::StatePayload(false, born), 1, true};
      options->initial_backoff = options_.initial_backoff;
      options->max_backoff = options_.max_backoff;
      options->clock = clock_;
      sp::SparkplugHooks* hooks = hooks_.get();
      auto id = std::make_shared<int>(0);  // set below, before the client starts
      auto client = std::make_unique<connect::mqtt::BridgeClient>(
          std::move(options).value(),
          [hooks, id](connect::mqtt::BridgeMessage m, connect::mqtt::BridgeClient::Done done) {
            hooks->OnRemote(*id, std::move(m.topic), std::move(m.payload), [done](connect::mqtt::Reason r) {
              done(r == connect::mqtt::Reason::kSuccess ? connect::mqtt::Delivery::kStored
                   : Retryable(r)                        ? connect::mqtt::Delivery::kRetry
                                                         : connect::mqtt::Delivery::kDropped);
            });
          });
      connect::mqtt::BridgeClient* raw = client.get();
      *id = hooks->AddRemote([raw](std::string topic, std::string payload, uint8_t qos, bool retain) {
        return raw->Publish(topic, payload, qos, retain);
      });
      remote.client = std::move(client);
    }
    remotes.push_back(std::move(remote));
  }
  return remotes;
}

SparkplugHost::~SparkplugHost() { Stop(); }

void SparkplugHost::Attach(connect::mqtt::Broker* broker, const std::vector<std::string>& listeners) {
  std::vector<Remote> remotes = MakeRemotes(listeners);
  hooks_->Attach([broker](std::string topic, std::string payload, uint8_t qos, bool retain) {
    return broker->Publish(std::move(topic), std::move(payload), qos, retain);
  });
  std::lock_guard lock(mu_);
  if (attached_) return;
  attached_ = true;
  remotes_ = std::move(remotes);
  for (Remote& r : remotes_) {
    if (!r.client) continue;
    if (auto s = r.client->Start(); !s.ok()) r.error = s.message();
  }
  confirm_ = std::thread([this] { ConfirmLoop(); });
  for (const auto& s : sources_) {
    SF_LOG(info, "sparkplug.host", "source={} group={} endpoint={} ({})", s.name, s.options.group_id, s.endpoint,
           IsLocal(s, listeners) ? "Shopfloor's MQTT endpoint" : "a plant broker, read by an MQTT client");
  }
}

void SparkplugHost::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (confirm_.joinable()) confirm_.join();
  // A clean DISCONNECT does not publish the will: say offline first (best effort).
  const std::string state_topic = fmt::format("{}/STATE/{}", sp::kNamespace, hooks_->options().host_id);
  for (Remote& r : remotes_) {
    if (!r.client) continue;
    (void)r.client->Publish(state_topic, sp::StatePayload(false, static_cast<uint64_t>(clock_->Now() / core::kMillisecond)),
                            1, true);
    r.client->Stop();
  }
  hooks_->Detach();
  std::vector<Pending> left;
  {
    std::lock_guard lock(mu_);
    left.swap(pending_);
  }
  for (const Pending& p : left) Record(p, "unknown", "Shopfloor stopped before the edge node reported the value");
}

void SparkplugHost::OnDesired(const model::ModelEvent& event) {
  if (event.kind != "twin.desired") return;
  Json data = Json::parse(event.data_json, nullptr, false);
  if (data.is_discarded() || !data.contains("after") || !data["after"].is_object()) return;
  auto asset = assets_->FindAsset(event.asset_path);
  if (!asset.ok()) return;
  for (auto it = data["after"].begin(); it != data["after"].end(); ++it) {
    auto tag = assets_->FindTag(event.asset_path, it.key());
    if (!tag.ok() || !tag->writable || !tag->binding) continue;
    bool ours = false;
    for (const auto& s : sources_) ours = ours || s.name == tag->binding->source;
    if (!ours) continue;
    auto value = DesiredValueFromJson(*it, tag->type);
    if (!value) continue;  // SetDesired validated it; never guess
    Pending p{event.actor, event.asset_path, tag->name, tag->binding->source, "", asset->id, *value, 0};
    if (tag->critical) {
      Record(p, "failed", "critical tag: a write needs an approval, which this version cannot give");
      continue;
    }
    {
      std::lock_guard lock(mu_);
      if (!attached_ || stopping_) return;  // the MQTT endpoint does not run: nothing to send through
    }
    auto sent = hooks_->SendCommand(sp::CommandTarget{tag->binding->source, tag->binding->address, *value});
    if (!sent.ok()) {
      Record(p, "failed", sent.status().message());
      continue;
    }
    p.topic = *sent;
    p.deadline = clock_->Now() + options_.confirm_timeout;
    {
      std::lock_guard lock(mu_);
      pending_.push_back(std::move(p));
    }
    cv_.notify_all();
  }
}

void SparkplugHost::ConfirmLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::nanoseconds(options_.check_interval));
    if (stopping_ || pending_.empty()) continue;
    std::vector<Pending> check;
    check.swap(pending_);
    lock.unlock();
    std::vector<Pending> keep;
    const core::Timestamp now = clock_->Now();
    for (Pending& p : check) {
      auto twin = twins_->Get(p.asset_id);
      bool confirmed = false;
      if (twin.ok()) {
        auto r = twin->reported.find(p.tag);
        const bool in_delta = std::find(twin->delta.begin(), twin->delta.end(), p.tag) != twin->delta.end();
        confirmed = r != twin->reported.end() && !in_delta && r->second.quality == core::Quality::Good();
      }
      if (confirmed) {
        Record(p, "ok", "");
      } else if (now >= p.deadline) {
        Record(p, "unknown",
               fmt::format("sent on {} but the edge node did not report the value within {} ms (it may or may not "
                           "have applied it; not resent)",
                           p.topic, options_.confirm_timeout / core::kMillisecond));
      } else {
        keep.push_back(std::move(p));
      }
    }
    lock.lock();
    for (Pending& p : keep) pending_.push_back(std::move(p));
  }
}

void SparkplugHost::Record(const Pending& p, const char* result, const std::string& error) {
  const std::string target = p.asset_path + "/" + p.tag;
  {
    std::lock_guard lock(mu_);
    (std::string_view(result) == "ok" ? ok_ : std::string_view(result) == "failed" ? failed_ : unknown_)++;
  }
  const Json value = ValueJson(p.value);
  auth::AuditEntry entry;
  entry.actor = p.actor;
  entry.action = "setpoint.write";
  entry.target = target;
  entry.new_value = value.dump();
  entry.result = error.empty() ? std::string(result) : fmt::format("{}: {}", result, error);
  if (audit_ != nullptr) {
    if (auto appended = audit_->Append(std::move(entry)); !appended.ok()) {
      SF_LOG(error, "setpoint.audit_failed", "target={} error=\"{}\"", target, appended.status().ToString());
    }
  }
  if (!error.empty()) SF_LOG(warn, "setpoint.write", "target={} result={} error=\"{}\"", target, result, error);
  Json data = {{"tag", p.tag},    {"source", p.source}, {"topic", p.topic},
               {"value", value},  {"result", result},   {"error", error}};
  std::string message = error.empty() ? fmt::format("{} = {} sent on {} and reported back", p.tag, value.dump(), p.topic)
                                      : fmt::format("{} = {} {}: {}", p.tag, value.dump(), result, error);
  if (bus_ != nullptr) {
    bus_->PublishEvent(ingest::Event{clock_->Now(), fmt::format("twin.write_{}", result), p.asset_path, p.actor,
                                     std::move(message), data.dump()});
  }
}

std::vector<server::SourceStatus> SparkplugHost::Status() const {
  const sp::SparkplugStats stats = hooks_->stats();
  const auto nodes = hooks_->nodes();
  std::vector<server::SourceStatus> out;
  std::lock_guard lock(mu_);
  for (const auto& s : sources_) {
    server::SourceStatus st;
    st.name = s.name;
    st.protocol = "sparkplug";
    st.endpoint = s.endpoint;
    size_t online = 0, known = 0;
    for (const auto& n : nodes) {
      if (n.group_id != s.options.group_id) continue;
      ++known;
      if (n.online) ++online;
      st.connects += n.births;
      st.connection_losses += n.deaths;
    }
    st.state = !attached_ ? "idle" : online > 0 ? "connected" : known > 0 ? "connecting" : "idle";
    const Remote* remote = nullptr;
    for (const Remote& r : remotes_) {
      if (&sources_[r.source] == &s) remote = &r;
    }
    if (remote != nullptr && !remote->error.empty()) {
      st.state = "error";
      st.last_error = remote->error;
    } else if (remote != nullptr) {
      const auto b = remote->client->status();
      if (b.state != connect::mqtt::BridgeState::kConnected) st.state = std::string(BridgeStateName(b.state));
      st.last_error = b.last_error;
      st.last_error_at = b.last_error_at;
      st.failed_attempts = b.failed_attempts;
    }
    if (st.last_error.empty() && !stats.last_problem.empty()) st.last_error = stats.last_problem;
    if (!stats.unmapped.empty()) {
      st.last_error += fmt::format("{}{} metrics without a tag (e.g. {})", st.last_error.empty() ? "" : "; ",
                                   stats.unmapped.size(), stats.unmapped.front());
    }
    st.samples = stats.samples;  // all Sparkplug sources share one host
    st.setpoints_ok = ok_;
    st.setpoints_failed = failed_;
    st.setpoints_unknown = unknown_;
    out.push_back(std::move(st));
  }
  return out;
}

core::Status SparkplugHost::RegisterMetrics(core::MetricsRegistry* metrics) {
  sp::SparkplugHooks* h = hooks_.get();
  struct Def {
    const char* name;
    const char* help;
    std::function<double()> fn;
  };
  const Def defs[] = {
      {"shopfloor_sparkplug_messages_total", "Sparkplug B messages handled", [h] { return double(h->stats().messages); }},
      {"shopfloor_sparkplug_samples_total", "samples stored from Sparkplug B metrics", [h] { return double(h->stats().samples); }},
      {"shopfloor_sparkplug_births_total", "Sparkplug NBIRTH and DBIRTH messages", [h] { return double(h->stats().births); }},
      {"shopfloor_sparkplug_deaths_total", "Sparkplug NDEATH and DDEATH messages", [h] { return double(h->stats().deaths); }},
      {"shopfloor_sparkplug_rebirths_requested_total", "Sparkplug rebirth requests sent (NCMD)", [h] { return double(h->stats().rebirths_requested); }},
      {"shopfloor_sparkplug_decode_errors_total", "Sparkplug payloads that did not decode", [h] { return double(h->stats().decode_errors); }},
      {"shopfloor_sparkplug_skipped_metrics_total", "Sparkplug metrics not stored (unsupported, null, unknown alias, unmapped)", [h] { return double(h->stats().skipped_metrics); }},
      {"shopfloor_sparkplug_denied_total", "Sparkplug publishes refused (commands from clients, role below operator)", [h] { return double(h->stats().denied); }},
  };
  for (const Def& d : defs) SF_RETURN_IF_ERROR(metrics->AddCounterCallback(d.name, d.help, d.fn));
  return core::Status::OK();
}

}  // namespace shopfloor::app
