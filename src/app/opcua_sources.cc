#include "app/opcua_sources.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <fmt/format.h>

#include "app/opcua_sources_internal.h"
#include "app/source_metrics.h"
#include "core/log.h"

namespace shopfloor::app {

namespace opcua = connect::opcua;

namespace {


bool SameTags(const std::vector<opcua::CollectorTag>& a, const std::vector<opcua::CollectorTag>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].series_key != b[i].series_key || a[i].node_id != b[i].node_id || a[i].type != b[i].type ||
        a[i].deadband != b[i].deadband) {
      return false;
    }
  }
  return true;
}

void Accumulate(opcua::CollectorStats* into, const opcua::CollectorStats& s) {
  into->connects += s.connects;
  into->connection_losses += s.connection_losses;
  into->failed_attempts += s.failed_attempts;
  into->samples_written += s.samples_written;
  into->write_failures += s.write_failures;
  into->restamped += s.restamped;
  if (s.last_error_at >= into->last_error_at && !s.last_error.empty()) {
    into->last_error = s.last_error;
    into->last_error_at = s.last_error_at;
  }
}

}  // namespace

core::Result<std::unique_ptr<OpcUaSources>> OpcUaSources::Create(const model::PlantConfig* config,
                                                                  model::AssetStore* assets, ingest::Writer* writer,
                                                                  ingest::Bus* bus, auth::AuditLog* audit,
                                                                  core::MetricsRegistry* metrics, core::Clock* clock,
                                                                  OpcUaSourcesOptions options) {
  std::unique_ptr<OpcUaSources> self(new OpcUaSources(assets, writer, bus, audit, clock, std::move(options)));
  if (config != nullptr) {
    for (const model::SourceConfig& sc : config->sources) {
      if (sc.protocol != model::Protocol::kOpcUa) continue;
      auto source = std::make_unique<Source>();
      source->config = sc;
      const model::SourceOptions& o = sc.options;
      opcua::CollectorOptions& co = source->collector_options;
      // The publishing interval is the poll interval. The keep-alive period (interval x
      // count) must stay below the request timeout, so the count follows the timeout and
      // the client waits a Publish for the keep-alive period plus the configured timeout.
      const core::Duration interval = std::max<core::Duration>(sc.poll_interval, 10 * core::kMillisecond);
      co.publishing_interval_ms = static_cast<double>(interval) / static_cast<double>(core::kMillisecond);
      co.max_keep_alive_count = static_cast<uint32_t>(std::clamp<int64_t>(o.timeout / 2 / interval, 1, 10));
      co.initial_backoff = self->options_.initial_backoff;
      co.max_backoff = self->options_.max_backoff;
      co.client.timeout = o.timeout + interval * co.max_keep_alive_count;
      co.client.security_policy = o.security_policy;
      co.client.security_mode = o.security_mode;
      co.client.pki_dir = self->options_.pki_dir;
      co.client.clock = clock;
      co.client.endpoint_url = sc.endpoint.starts_with("opc.tcp://") ? sc.endpoint : "opc.tcp://" + sc.endpoint;
      source->write_options = co.client;
      source->write_options.timeout = o.timeout;
      self->sources_.push_back(std::move(source));
    }
  }
  if (metrics != nullptr) SF_RETURN_IF_ERROR(self->RegisterMetrics(metrics));
  return self;
}

OpcUaSources::OpcUaSources(model::AssetStore* assets, ingest::Writer* writer, ingest::Bus* bus, auth::AuditLog* audit,
                           core::Clock* clock, OpcUaSourcesOptions options)
    : assets_(assets), writer_(writer), bus_(bus), audit_(audit), clock_(clock), options_(std::move(options)),
      restarts_(clock, options_.restart_debounce, [this] { ApplyModel(); }) {}

OpcUaSources::~OpcUaSources() { Stop(); }

core::Status OpcUaSources::RegisterMetrics(core::MetricsRegistry* metrics) {
  std::vector<std::string> names;
  for (const auto& s : sources_) names.push_back(s->config.name);
  SF_RETURN_IF_ERROR(RegisterSourceMetrics(
      metrics, names, [this](size_t i) { return StatusAt(i); }, {.collector = true}));
  SF_ASSIGN_OR_RETURN(core::CounterFamily * writes,
                      metrics->AddCounterFamily("shopfloor_setpoint_writes_total",
                                                "Setpoint writes by outcome (ok, failed, unknown)", {"source", "result"}));
  for (size_t i = 0; i < sources_.size(); ++i) {
    const std::string& name = sources_[i]->config.name;
    SF_RETURN_IF_ERROR(writes->SetCallback({name, "ok"}, [this, i] { return double(StatusAt(i).setpoints_ok); }));
    SF_RETURN_IF_ERROR(writes->SetCallback({name, "failed"}, [this, i] { return double(StatusAt(i).setpoints_failed); }));
    SF_RETURN_IF_ERROR(
        writes->SetCallback({name, "unknown"}, [this, i] { return double(StatusAt(i).setpoints_unknown); }));
  }
  return core::Status::OK();
}

std::vector<opcua::CollectorTag> OpcUaSources::BoundTags(const std::string& source, std::string* problems) const {
  std::vector<opcua::CollectorTag> tags;
  for (const model::Asset& asset : assets_->AllAssets()) {
    for (const model::Tag& tag : asset.tags) {
      if (!tag.binding || tag.binding->source != source || tag.series_key.empty()) continue;
      if (auto node = opcua::ParseNodeId(tag.binding->address); !node.ok()) {
        if (!problems->empty()) *problems += "; ";
        *problems += fmt::format("tag {}/{} not collected: binding address: {}", asset.path, tag.name,
                                 node.status().message());
        continue;
      }
      tags.push_back(opcua::CollectorTag{tag.series_key, tag.binding->address, tag.type, tag.deadband});
    }
  }
  std::sort(tags.begin(), tags.end(), [](const auto& a, const auto& b) { return a.series_key < b.series_key; });
  return tags;
}

void OpcUaSources::StartCollector(Source* source) {
  source->collector.reset();
  if (!source->setup_error.empty() || source->tags.empty()) return;
  auto collector = opcua::Collector::Create(source->config, source->tags, writer_, clock_, source->collector_options);
  if (!collector.ok()) {
    source->create_error = collector.status().ToString();
    source->create_error_at = clock_->Now();
    SF_LOG(error, "opcua.collector_failed", "source={} error=\"{}\"", source->config.name, source->create_error);
    return;
  }
  source->create_error.clear();
  source->collector = std::move(collector).value();
  source->collector->Start();
  SF_LOG(info, "opcua.collector_started", "source={} endpoint={} tags={}", source->config.name,
         source->config.endpoint, source->tags.size());
}

void OpcUaSources::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  auto getenv = options_.getenv ? options_.getenv : [](const char* name) -> const char* { return std::getenv(name); };
  for (auto& source : sources_) {
    const model::SourceOptions& o = source->config.options;
    if (!o.username.empty()) {
      const char* password = getenv(o.password_env.c_str());
      if (password == nullptr) {
        source->setup_error = fmt::format("source \"{}\": the environment variable {} (options.password_env) is not set",
                                          source->config.name, o.password_env);
        source->setup_error_at = clock_->Now();
        SF_LOG(error, "opcua.no_password", "{}", source->setup_error);
      } else {
        source->collector_options.client.username = o.username;
        source->collector_options.client.password = password;
        source->write_options.username = o.username;
        source->write_options.password = password;
      }
    }
    source->tags = BoundTags(source->config.name, &source->tag_problems);
    StartCollector(source.get());
    Source* s = source.get();
    source->setpoint_thread = std::thread([this, s] { SetpointLoop(s); });
  }
  restarts_.Start();
}

void OpcUaSources::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  restarts_.Stop();
  for (auto& source : sources_) {
    if (source->setpoint_thread.joinable()) source->setpoint_thread.join();
  }
  // Collectors stop outside the lock (each may wait for a Publish); Status() meanwhile
  // reports "restarting" for them.
  for (auto& source : sources_) {
    std::unique_ptr<opcua::Collector> collector;
    {
      std::lock_guard<std::mutex> lock(mu_);
      collector = std::move(source->collector);
      source->restarting = collector != nullptr;
    }
    if (!collector) continue;
    collector->Stop();
    std::lock_guard<std::mutex> lock(mu_);
    Accumulate(&source->carried, collector->stats());
    source->restarting = false;
  }
}

void OpcUaSources::OnModelChanged() { restarts_.Poke(); }

void OpcUaSources::ApplyModel() {
  for (auto& source : sources_) {
    std::string problems;
    std::vector<opcua::CollectorTag> tags = BoundTags(source->config.name, &problems);
    std::unique_ptr<opcua::Collector> old;
    {
      std::lock_guard<std::mutex> lock(mu_);
      source->tag_problems = problems;
      if (stopping_ || SameTags(tags, source->tags)) continue;
      old = std::move(source->collector);
      source->restarting = true;
    }
    SF_LOG(info, "opcua.collector_restart", "source={} tags={} -> {}", source->config.name, source->tags.size(),
           tags.size());
    if (old) old->Stop();
    std::lock_guard<std::mutex> lock(mu_);
    if (old) Accumulate(&source->carried, old->stats());
    source->restarting = false;
    source->tags = std::move(tags);
    ++source->restarts;
    if (!stopping_) StartCollector(source.get());
  }
}

server::SourceStatus OpcUaSources::StatusOf(const Source& source) const {
  server::SourceStatus st;
  st.name = source.config.name;
  st.protocol = "opcua";
  st.endpoint = source.config.endpoint;
  opcua::CollectorStats stats = source.carried;
  if (source.collector) Accumulate(&stats, source.collector->stats());
  st.tags = source.collector ? source.tags.size() : 0;
  st.connects = stats.connects;
  st.connection_losses = stats.connection_losses;
  st.failed_attempts = stats.failed_attempts;
  st.samples = stats.samples_written;
  st.restamped = stats.restamped;
  st.restarts = source.restarts;
  st.setpoints_ok = source.setpoints_ok;
  st.setpoints_failed = source.setpoints_failed;
  st.setpoints_unknown = source.setpoints_unknown;
  st.last_error = stats.last_error;
  st.last_error_at = stats.last_error_at;
  if (!source.setup_error.empty()) {
    st.state = "error";
    st.last_error = source.setup_error;
    st.last_error_at = source.setup_error_at;
  } else if (!source.create_error.empty()) {
    st.state = "error";
    st.last_error = source.create_error;
    st.last_error_at = source.create_error_at;
  } else if (source.restarting) {
    st.state = "restarting";
  } else if (!source.collector) {
    st.state = "idle";
  } else {
    st.state = source.collector->connected() ? "connected" : "connecting";
  }
  if (!source.tag_problems.empty()) {
    st.last_error = st.last_error.empty() ? source.tag_problems : st.last_error + "; " + source.tag_problems;
  }
  return st;
}

server::SourceStatus OpcUaSources::StatusAt(size_t index) const {
  std::lock_guard<std::mutex> lock(mu_);
  return StatusOf(*sources_.at(index));
}

std::vector<server::SourceStatus> OpcUaSources::Status() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<server::SourceStatus> out;
  out.reserve(sources_.size());
  for (const auto& source : sources_) out.push_back(StatusOf(*source));
  return out;
}

}  // namespace shopfloor::app
