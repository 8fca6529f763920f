#include "app/modbus_sources.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "app/modbus_sources_internal.h"
#include "app/source_metrics.h"
#include "connect/modbus/address.h"
#include "core/log.h"

namespace shopfloor::app {

namespace modbus = connect::modbus;

namespace {


bool SameTags(const std::vector<modbus::CollectorTag>& a, const std::vector<modbus::CollectorTag>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].series_key != b[i].series_key || a[i].address != b[i].address || a[i].type != b[i].type ||
        a[i].deadband != b[i].deadband) {
      return false;
    }
  }
  return true;
}

void Accumulate(modbus::CollectorStats* into, const modbus::CollectorStats& s) {
  into->connects += s.connects;
  into->connection_losses += s.connection_losses;
  into->failed_attempts += s.failed_attempts;
  into->polls += s.polls;
  into->overruns += s.overruns;
  into->requests += s.requests;
  into->registers_read += s.registers_read;
  into->retries += s.retries;
  into->timeouts += s.timeouts;
  into->exceptions += s.exceptions;
  into->failed_requests += s.failed_requests;
  into->samples_written += s.samples_written;
  into->write_failures += s.write_failures;
  if (s.last_error_at >= into->last_error_at && !s.last_error.empty()) {
    into->last_error = s.last_error;
    into->last_error_at = s.last_error_at;
  }
}

}  // namespace

core::Result<std::unique_ptr<ModbusSources>> ModbusSources::Create(const model::PlantConfig* config,
                                                                   model::AssetStore* assets, ingest::Writer* writer,
                                                                   ingest::Bus* bus, auth::AuditLog* audit,
                                                                   core::MetricsRegistry* metrics, core::Clock* clock,
                                                                   ModbusSourcesOptions options) {
  std::unique_ptr<ModbusSources> self(new ModbusSources(assets, writer, bus, audit, clock, options));
  if (config != nullptr) {
    for (const model::SourceConfig& sc : config->sources) {
      if (sc.protocol != model::Protocol::kModbus) continue;
      auto source = std::make_unique<Source>();
      source->config = sc;
      self->sources_.push_back(std::move(source));
    }
  }
  if (metrics != nullptr) SF_RETURN_IF_ERROR(self->RegisterMetrics(metrics));
  return self;
}

ModbusSources::ModbusSources(model::AssetStore* assets, ingest::Writer* writer, ingest::Bus* bus,
                             auth::AuditLog* audit, core::Clock* clock, ModbusSourcesOptions options)
    : assets_(assets), writer_(writer), bus_(bus), audit_(audit), clock_(clock), options_(options),
      restarts_(clock, options_.restart_debounce, [this] { ApplyModel(); }) {}

ModbusSources::~ModbusSources() { Stop(); }

core::Status ModbusSources::RegisterMetrics(core::MetricsRegistry* metrics) {
  std::vector<std::string> names;
  for (const auto& s : sources_) names.push_back(s->config.name);
  SF_RETURN_IF_ERROR(RegisterSourceMetrics(
      metrics, names, [this](size_t i) { return StatusAt(i); }, {.collector = true}));
  SF_ASSIGN_OR_RETURN(core::CounterFamily * writes,
                      metrics->AddCounterFamily("shopfloor_setpoint_writes_total",
                                                "Setpoint writes by outcome (ok, failed, unknown)", {"source", "result"}));
  using Field = uint64_t modbus::CollectorStats::*;
  struct Def {
    const char* name;
    const char* help;
    Field field;
  };
  const Def defs[] = {
      {"shopfloor_modbus_polls_total", "Modbus poll group cycles completed", &modbus::CollectorStats::polls},
      {"shopfloor_modbus_overruns_total", "Modbus polls skipped because the previous one ran late",
       &modbus::CollectorStats::overruns},
      {"shopfloor_modbus_requests_total", "Modbus read requests sent, retries included",
       &modbus::CollectorStats::requests},
      {"shopfloor_modbus_registers_read_total", "Modbus registers and bits received",
       &modbus::CollectorStats::registers_read},
      {"shopfloor_modbus_timeouts_total", "Modbus requests without an answer in time", &modbus::CollectorStats::timeouts},
      {"shopfloor_modbus_exceptions_total", "Modbus exception responses", &modbus::CollectorStats::exceptions},
      {"shopfloor_modbus_failed_requests_total", "Modbus requests given up after every retry",
       &modbus::CollectorStats::failed_requests},
  };
  for (const Def& def : defs) {
    SF_ASSIGN_OR_RETURN(core::CounterFamily * family, metrics->AddCounterFamily(def.name, def.help, {"source"}));
    for (size_t i = 0; i < sources_.size(); ++i) {
      Field field = def.field;
      SF_RETURN_IF_ERROR(family->SetCallback({sources_[i]->config.name},
                                             [this, i, field] { return double(StatsAt(i).*field); }));
    }
  }
  for (size_t i = 0; i < sources_.size(); ++i) {
    const std::string& name = sources_[i]->config.name;
    SF_RETURN_IF_ERROR(writes->SetCallback({name, "ok"}, [this, i] { return double(StatusAt(i).setpoints_ok); }));
    SF_RETURN_IF_ERROR(writes->SetCallback({name, "failed"}, [this, i] { return double(StatusAt(i).setpoints_failed); }));
    SF_RETURN_IF_ERROR(
        writes->SetCallback({name, "unknown"}, [this, i] { return double(StatusAt(i).setpoints_unknown); }));
  }
  return core::Status::OK();
}

std::vector<modbus::CollectorTag> ModbusSources::BoundTags(const std::string& source, std::string* problems) const {
  std::vector<modbus::CollectorTag> tags;
  for (const model::Asset& asset : assets_->AllAssets()) {
    for (const model::Tag& tag : asset.tags) {
      if (!tag.binding || tag.binding->source != source || tag.series_key.empty()) continue;
      core::Status s;
      if (auto address = modbus::ParseAddress(tag.binding->address); !address.ok()) {
        s = address.status();
      } else {
        s = modbus::CheckBinding(*address, tag.type, tag.writable);
      }
      if (!s.ok()) {
        if (!problems->empty()) *problems += "; ";
        *problems += fmt::format("tag {}/{} not collected: binding address: {}", asset.path, tag.name, s.message());
        continue;
      }
      tags.push_back(modbus::CollectorTag{tag.series_key, tag.binding->address, tag.type, tag.deadband});
    }
  }
  std::sort(tags.begin(), tags.end(), [](const auto& a, const auto& b) { return a.series_key < b.series_key; });
  return tags;
}

void ModbusSources::StartCollector(Source* source) {
  source->collector.reset();
  if (source->tags.empty()) return;
  modbus::CollectorOptions options;
  options.max_backoff = options_.max_backoff;
  auto collector = modbus::Collector::Create(source->config, source->tags, writer_, clock_, options);
  if (!collector.ok()) {
    source->create_error = collector.status().ToString();
    source->create_error_at = clock_->Now();
    SF_LOG(error, "modbus.collector_failed", "source={} error=\"{}\"", source->config.name, source->create_error);
    return;
  }
  source->create_error.clear();
  source->collector = std::move(collector).value();
  source->collector->Start();
  SF_LOG(info, "modbus.collector_started", "source={} endpoint={} tags={}", source->config.name,
         source->config.endpoint, source->tags.size());
}

void ModbusSources::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  for (auto& source : sources_) {
    source->tags = BoundTags(source->config.name, &source->tag_problems);
    StartCollector(source.get());
    Source* s = source.get();
    source->setpoint_thread = std::thread([this, s] { SetpointLoop(s); });
  }
  restarts_.Start();
}

void ModbusSources::Stop() {
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
  for (auto& source : sources_) {
    std::shared_ptr<modbus::Collector> collector;
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

void ModbusSources::OnModelChanged() { restarts_.Poke(); }

void ModbusSources::ApplyModel() {
  for (auto& source : sources_) {
    std::string problems;
    std::vector<modbus::CollectorTag> tags = BoundTags(source->config.name, &problems);
    std::shared_ptr<modbus::Collector> old;
    {
      std::lock_guard<std::mutex> lock(mu_);
      source->tag_problems = problems;
      if (stopping_ || SameTags(tags, source->tags)) continue;
      old = std::move(source->collector);
      source->restarting = true;
    }
    SF_LOG(info, "modbus.collector_restart", "source={} tags={} -> {}", source->config.name, source->tags.size(),
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

modbus::CollectorStats ModbusSources::StatsOf(const Source& source) const {
  modbus::CollectorStats stats = source.carried;
  if (source.collector) Accumulate(&stats, source.collector->stats());
  return stats;
}

server::SourceStatus ModbusSources::StatusOf(const Source& source) const {
  server::SourceStatus st;
  st.name = source.config.name;
  st.protocol = "modbus";
  st.endpoint = source.config.endpoint;
  const modbus::CollectorStats stats = StatsOf(source);
  st.tags = source.collector ? source.tags.size() : 0;
  st.connects = stats.connects;
  st.connection_losses = stats.connection_losses;
  st.failed_attempts = stats.failed_attempts;
  st.samples = stats.samples_written;
  st.restarts = source.restarts;
  st.setpoints_ok = source.setpoints_ok;
  st.setpoints_failed = source.setpoints_failed;
  st.setpoints_unknown = source.setpoints_unknown;
  st.last_error = stats.last_error;
  st.last_error_at = stats.last_error_at;
  if (!source.create_error.empty()) {
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

server::SourceStatus ModbusSources::StatusAt(size_t index) const {
  std::lock_guard<std::mutex> lock(mu_);
  return StatusOf(*sources_.at(index));
}

modbus::CollectorStats ModbusSources::StatsAt(size_t index) const {
  std::lock_guard<std::mutex> lock(mu_);
  return StatsOf(*sources_.at(index));
}

std::vector<server::SourceStatus> ModbusSources::Status() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<server::SourceStatus> out;
  out.reserve(sources_.size());
  for (const auto& source : sources_) out.push_back(StatusOf(*source));
  return out;
}

}  // namespace shopfloor::app
