// OpcUaSources: the OPC UA connectors of a running Shopfloor (`shopfloor serve`).
//
// Collection. One connect::opcua::Collector per `opcua` source of the plant config, fed
// with the asset model's tags bound to that source: series key from the tag, NodeId from
// the binding address, value type from the tag, absolute deadband from the tag's deadband.
// The source's poll_interval is the publishing interval; its options give the timeout,
// security policy and mode (PKI directory `<data dir>/pki/opcua`) and the user
// (username, and the password read from the environment variable named by password_env
// when Start() runs; an unset variable puts the source in state "error" naming it).
//
// Model changes. OnModelChanged() (an AssetStore listener) marks the model dirty; once no
// further change has arrived for `restart_debounce`, the restart thread recomputes every
// source's bound tags and restarts exactly the collectors whose tag list differs (stop,
// then create and start with the new list). A burst of API edits costs one restart.
//
// Setpoints. OnDesired() (the TwinStore listener, event "twin.desired") queues one write
// per desired tag bound to an OPC UA source. Each source has its own writer thread with
// its own Client, apart from the collector's (whose thread is blocked in Publish): writes
// are serialized per source and never wait for a Publish. A write reads the node's
// DataType and current value, converts the desired value to that type, and calls
// Client::WriteVerified. Outcomes: "ok"; "failed" (refused, a read-back that differs such
// as a clamp, or not sent at all: no connection, value does not fit, critical tag); or
// "unknown" (the request was sent but no answer came, e.g. a timeout: the device may or may
// not have applied it). Nothing is ever retried once the Write request may have been sent;
// only the connect and the type read before it are tried twice (a server restarted since
// the last write). Every outcome is one audit entry (action "setpoint.write", the user who
// set the desired value, target "<asset path>/<tag>", old = the device's value before the
// write, new = the desired value, result) and one event ("twin.write_ok",
// "twin.write_failed" or "twin.write_unknown" with the error). The desired value stays
// either way (docs/model.md): on success the reported value converges and the delta
// disappears; on failure the delta stays and the event says why. Critical tags are not
// written: they need an approval, which this version cannot give.
//
// Thread safety: all public methods are thread-safe. The AssetStore, Writer, Bus,
// AuditLog, MetricsRegistry and Clock must outlive this object; Stop() (or the
// destructor) must run before the Writer is destroyed.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/debouncer.h"
#include "auth/audit.h"
#include "connect/opcua/collector.h"
#include "core/metrics.h"
#include "ingest/bus.h"
#include "model/asset_store.h"
#include "model/plant_config.h"
#include "server/server.h"

namespace shopfloor::app {

struct OpcUaSourcesOptions {
  std::string pki_dir;  // <data dir>/pki/opcua
  core::Duration restart_debounce = 500 * core::kMillisecond;
  core::Duration initial_backoff = 500 * core::kMillisecond;
  core::Duration max_backoff = 30 * core::kSecond;
  // Reads an environment variable (null: std::getenv); tests pass their own.
  std::function<const char*(const char*)> getenv;
};

class OpcUaSources {
 public:
  // Registers the shopfloor_source_* metrics. Nothing connects before Start(). Sources of
  // other protocols in `config` are ignored; a null config means no sources.
  static core::Result<std::unique_ptr<OpcUaSources>> Create(const model::PlantConfig* config,
                                                            model::AssetStore* assets, ingest::Writer* writer,
                                                            ingest::Bus* bus, auth::AuditLog* audit,
                                                            core::MetricsRegistry* metrics, core::Clock* clock,
                                                            OpcUaSourcesOptions options);
  ~OpcUaSources();
  OpcUaSources(const OpcUaSources&) = delete;
  OpcUaSources& operator=(const OpcUaSources&) = delete;

  // Starts the collectors, the setpoint writers and the restart thread. Idempotent.
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
  struct Outcome;

  OpcUaSources(model::AssetStore* assets, ingest::Writer* writer, ingest::Bus* bus, auth::AuditLog* audit,
               core::Clock* clock, OpcUaSourcesOptions options);
  core::Status RegisterMetrics(core::MetricsRegistry* metrics);
  // The tags bound to `source` in the current model, sorted by series key; unusable
  // bindings (a bad NodeId) are described in *problems.
  std::vector<connect::opcua::CollectorTag> BoundTags(const std::string& source, std::string* problems) const;
  void StartCollector(Source* source);  // REQUIRES: mu_ held
  void ApplyModel();
  server::SourceStatus StatusOf(const Source& source) const;  // REQUIRES: mu_ held
  server::SourceStatus StatusAt(size_t index) const;

  // opcua_setpoints.cc
  void SetpointLoop(Source* source);
  Outcome Execute(Source* source, const SetpointJob& job);
  void Record(Source* source, const SetpointJob& job, const Outcome& outcome);

  model::AssetStore* const assets_;
  ingest::Writer* const writer_;
  ingest::Bus* const bus_;
  auth::AuditLog* const audit_;
  core::Clock* const clock_;
  const OpcUaSourcesOptions options_;
  std::vector<std::unique_ptr<Source>> sources_;  // fixed after Create

  mutable std::mutex mu_;
  std::condition_variable cv_;  // setpoint threads
  bool started_ = false;        // GUARDED_BY(mu_)
  bool stopping_ = false;       // GUARDED_BY(mu_)
  Debouncer restarts_;  // runs ApplyModel() once the model has been quiet for restart_debounce
};

}  // namespace shopfloor::app
