// ModbusSources: the Modbus TCP connectors of a running Shopfloor (`shopfloor serve`),
// shaped like OpcUaSources (docs/modbus.md).
//
// Collection. One connect::modbus::Collector per `modbus` source of the plant config, fed
// with the asset model's tags bound to that source: series key from the tag, binding
// address (address.h grammar), value type and absolute deadband from the tag. The source's
// poll_interval is the default poll group interval; its options give the unit id, word and
// byte order, timeout, retries, request size and gap, and the reconnect backoff. A binding
// whose address does not parse or does not suit its tag is left out, and the reason shows in
// the source's last_error (`shopfloor config check` reports the same with file:line:column).
//
// Model changes. OnModelChanged() (an AssetStore listener) marks the model dirty; once no
// further change has arrived for `restart_debounce`, the restart thread recomputes every
// source's bound tags and restarts exactly the collectors whose tag list differs.
//
// Setpoints. OnDesired() (the TwinStore listener, event "twin.desired") queues one write per
// desired writable tag bound to a Modbus source. Each source has a setpoint thread that hands
// its writes, one at a time, to the source's Collector::Write, which runs them on the
// collector's connection between polls. Outcomes, audit entries ("setpoint.write": actor,
// "<asset path>/<tag>", old = the device's value before the write, new, result) and events
// ("twin.write_ok", "twin.write_failed", "twin.write_unknown") are those of OpcUaSources.
// Critical tags are not written (they need an approval this version cannot give).
//
// Thread safety: all public methods are thread-safe. The AssetStore, Writer, Bus, AuditLog,
// MetricsRegistry and Clock must outlive this object; Stop() (or the destructor) must run
// before the Writer is destroyed.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/debouncer.h"
#include "auth/audit.h"
#include "connect/modbus/collector.h"
#include "core/metrics.h"
#include "ingest/bus.h"
#include "model/asset_store.h"
#include "model/plant_config.h"
#include "server/server.h"

namespace shopfloor::app {

struct ModbusSourcesOptions {
  core::Duration restart_debounce = 500 * core::kMillisecond;
  core::Duration max_backoff = 30 * core::kSecond;
};

class ModbusSources {
 public:
  // Registers the shopfloor_source_* and shopfloor_modbus_* metrics. Nothing connects before
  // Start(). Sources of other protocols are ignored; a null config means no sources.
  static core::Result<std::unique_ptr<ModbusSources>> Create(const model::PlantConfig* config,
                                                             model::AssetStore* assets, ingest::Writer* writer,
                                                             ingest::Bus* bus, auth::AuditLog* audit,
                                                             core::MetricsRegistry* metrics, core::Clock* clock,
                                                             ModbusSourcesOptions options);
  ~ModbusSources();
  ModbusSources(const ModbusSources&) = delete;
  ModbusSources& operator=(const ModbusSources&) = delete;

  // Starts the collectors, the setpoint threads and the restart thread. Idempotent.
  void Start();
  // Stops everything (queued setpoints that were not sent are recorded as failed). Idempotent.
  void Stop();

  void OnModelChanged();
  void OnDesired(const model::ModelEvent& event);

  std::vector<server::SourceStatus> Status() const;
  size_t size() const { return sources_.size(); }

 private:
  struct Source;
  struct SetpointJob;

  ModbusSources(model::AssetStore* assets, ingest::Writer* writer, ingest::Bus* bus, auth::AuditLog* audit,
                core::Clock* clock, ModbusSourcesOptions options);
  core::Status RegisterMetrics(core::MetricsRegistry* metrics);
  // The tags bound to `source` in the current model, sorted by series key; unusable
  // bindings are described in *problems.
  std::vector<connect::modbus::CollectorTag> BoundTags(const std::string& source, std::string* problems) const;
  void StartCollector(Source* source);  // REQUIRES: mu_ held
  void ApplyModel();
  connect::modbus::CollectorStats StatsOf(const Source& source) const;  // REQUIRES: mu_ held
  server::SourceStatus StatusOf(const Source& source) const;            // REQUIRES: mu_ held
  server::SourceStatus StatusAt(size_t index) const;
  connect::modbus::CollectorStats StatsAt(size_t index) const;

  // modbus_setpoints.cc
  void SetpointLoop(Source* source);
  void Record(Source* source, const SetpointJob& job, const connect::modbus::WriteOutcome& outcome);

  model::AssetStore* const assets_;
  ingest::Writer* const writer_;
  ingest::Bus* const bus_;
  auth::AuditLog* const audit_;
  core::Clock* const clock_;
  const ModbusSourcesOptions options_;
  std::vector<std::unique_ptr<Source>> sources_;  // fixed after Create

  mutable std::mutex mu_;
  std::condition_variable cv_;  // setpoint threads
  bool started_ = false;        // GUARDED_BY(mu_)
  bool stopping_ = false;       // GUARDED_BY(mu_)
  Debouncer restarts_;  // runs ApplyModel() once the model has been quiet for restart_debounce
};

}  // namespace shopfloor::app
