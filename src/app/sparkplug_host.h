// SparkplugHost: the `sparkplug` sources of the plant config, served by Shopfloor as the
// Sparkplug B primary host application on its own MQTT endpoint (connect/sparkplug/ingest.h).
// Edge nodes publish to Shopfloor's broker exactly as they would to any broker; a source
// whose endpoint names another broker is reported in state "error" (use the source's group
// on Shopfloor's endpoint, or bridge the broker with an `mqtt` source).
//
// Setpoints. OnDesired() (the TwinStore listener, event "twin.desired") sends each desired
// value of a writable tag bound to a Sparkplug source as a DCMD (device metric) or NCMD
// (node metric). Sparkplug commands have no acknowledgement, so the outcome is what the
// edge node reports back: "ok" once the twin's reported value equals the desired value
// (the delta is gone) within `confirm_timeout`; "unknown" when no report confirms it in
// time (the node may or may not have applied it; never resent); "failed" when it could not
// be sent (node or device offline, value does not fit the metric's datatype, critical tag).
// Each outcome is one audit entry (action "setpoint.write", result as above, the user who
// set the desired value) and one event (twin.write_ok / _failed / _unknown), as for OPC UA.
//
// Thread safety: thread-safe. The stores, Writer, Bus, AuditLog and Clock must outlive it;
// Stop() before the Writer is destroyed.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/audit.h"
#include "connect/mqtt/broker.h"
#include "connect/sparkplug/ingest.h"
#include "core/metrics.h"
#include "ingest/bus.h"
#include "model/asset_store.h"
#include "model/plant_config.h"
#include "model/twin.h"
#include "server/server.h"

namespace shopfloor::app {

struct SparkplugHostOptions {
  core::Duration confirm_timeout = 10 * core::kSecond;
  core::Duration check_interval = 100 * core::kMillisecond;
  std::function<bool(const connect::mqtt::ClientView&)> may_publish;  // births/data/deaths
};

class SparkplugHost {
 public:
  // Null when the config has no sparkplug source. `next` handles every other topic.
  static std::unique_ptr<SparkplugHost> Create(const model::PlantConfig* config, model::AssetStore* assets,
                                               model::TwinStore* twins, ingest::Writer* writer, ingest::Bus* bus,
                                               auth::AuditLog* audit, core::Clock* clock,
                                               connect::mqtt::BrokerHooks* next, SparkplugHostOptions options);
  ~SparkplugHost();

  connect::mqtt::BrokerHooks* hooks() { return hooks_.get(); }
  // After the broker started: announce the host online and start confirming setpoints.
  // `local_endpoint` is the broker's "host:port" (for the status).
  void Attach(connect::mqtt::Broker* broker, const std::string& local_endpoint);
  // Before the broker stops: announce offline; pending setpoints end "unknown".
  void Stop();

  void OnDesired(const model::ModelEvent& event);
  std::vector<server::SourceStatus> Status() const;
  core::Status RegisterMetrics(core::MetricsRegistry* metrics);

 private:
  struct Pending {
    std::string actor, asset_path, tag, source, topic;
    int64_t asset_id = 0;
    core::Value value;
    core::Timestamp deadline = 0;
  };
  SparkplugHost(std::vector<model::SourceConfig> sources, model::AssetStore* assets, model::TwinStore* twins,
                ingest::Bus* bus, auth::AuditLog* audit, core::Clock* clock, SparkplugHostOptions options);
  void ConfirmLoop();
  void Record(const Pending& p, const char* result, const std::string& error);

  std::vector<model::SourceConfig> sources_;
  model::AssetStore* const assets_;
  model::TwinStore* const twins_;
  ingest::Bus* const bus_;
  auth::AuditLog* const audit_;
  core::Clock* const clock_;
  const SparkplugHostOptions options_;
  std::unique_ptr<connect::sparkplug::SparkplugHooks> hooks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> pending_;  // GUARDED_BY(mu_)
  bool attached_ = false, stopping_ = false;
  std::string local_endpoint_;
  uint64_t ok_ = 0, failed_ = 0, unknown_ = 0;
  std::thread confirm_;
};

}  // namespace shopfloor::app
