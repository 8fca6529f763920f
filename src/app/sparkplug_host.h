// SparkplugHost: the `sparkplug` sources of the plant config, served by Shopfloor as the
// Sparkplug B primary host application (connect/sparkplug/ingest.h).
//
// Where edge nodes publish. Every source's group is served on Shopfloor's own MQTT endpoint:
// edge nodes publish to it exactly as they would to any broker. A source whose endpoint
// names another broker (a plant broker: not one of Shopfloor's listeners, where a loopback
// name matches a listener on loopback or all addresses with the same port) is also read from
// there: an MQTT client (connect/mqtt/bridge.h) subscribes to "spBv1.0/<group>/#" with the
// source's credentials, announces STATE online on every connect and offline as its will
// (both retained, the same timestamp), and carries rebirth requests and commands back to
// the nodes that came that way. A message is acknowledged to that broker once stored.
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
#include "connect/mqtt/bridge.h"
#include "connect/sparkplug/ingest.h"
#include "core/metrics.h"
#include "ingest/bus.h"
#include "model/asset_store.h"
#include "model/plant_config.h"
#include "model/twin.h"
#include "server/server.h"

namespace shopfloor::app {

struct SparkplugHostOptions {
  std::string enterprise;  // for the bridge options
  core::Duration initial_backoff = 500 * core::kMillisecond;
  core::Duration max_backoff = 30 * core::kSecond;
  std::function<const char*(const char*)> getenv;  // null: std::getenv
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
  // After the broker started: announce the host online, start the clients of sources on
  // plant brokers and start confirming setpoints. `listeners` are the broker's bound
  // "host:port"s (plain and TLS): a source naming one of them is local.
  void Attach(connect::mqtt::Broker* broker, const std::vector<std::string>& listeners);
  // Before the broker stops: announce offline; pending setpoints end "unknown".
  void Stop();

  void OnDesired(const model::ModelEvent& event);
  std::vector<server::SourceStatus> Status() const;
  core::Status RegisterMetrics(core::MetricsRegistry* metrics);

 private:
  struct Remote {
    size_t source = 0;  // index into sources_
    std::unique_ptr<connect::mqtt::BridgeClient> client;
    std::string error;  // setup error (e.g. the password variable is unset)
  };
  std::vector<Remote> MakeRemotes(const std::vector<std::string>& listeners);
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
  std::vector<Remote> remotes_;  // created by Create, started by Attach, stopped by Stop

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> pending_;  // GUARDED_BY(mu_)
  bool attached_ = false, stopping_ = false;
  uint64_t ok_ = 0, failed_ = 0, unknown_ = 0;
  std::thread confirm_;
};

}  // namespace shopfloor::app
