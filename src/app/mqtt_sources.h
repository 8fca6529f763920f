// MqttSources: the MQTT bridges of a running Shopfloor (`shopfloor serve`), one
// connect::mqtt::BridgeClient per `mqtt` source of the plant config (docs/mqtt.md "Bridge
// mode", docs/configuration.md).
//
// Each bridge subscribes to the source's topic filters on the external broker (default
// "<enterprise>/#", or "<remote_prefix>/#"). A message's topic is renamed from
// remote_prefix to local_prefix when those are set (a topic outside remote_prefix is
// refused), then handed to connect::mqtt::TelemetryHooks::OnPublish exactly like a PUBLISH
// to the local broker, with a ClientView whose principal is "source:<name>": the same
// parsing, provisioning rule (the source's may_provision option, default false), durability
// and counting. Outcomes:
//   stored (or not telemetry)  acknowledged to the external broker, and routed to the local
//                              broker's subscribers when SetLocalBroker() gave one
//   refused for good           (unknown path without may_provision, bad payload) counted,
//                              acknowledged, and shown as the source's last_error
//   storage failure            not acknowledged: the bridge reconnects and the external
//                              broker sends it again (persistent session, QoS >= 1)
// The password is read from the environment variable named by password_env when Start()
// runs; an unset variable puts the source in state "error" naming it.
//
// Thread safety: all public methods are thread-safe. The AssetStore, Writer, MetricsRegistry
// and Clock must outlive this object; Stop() (or the destructor) must run before the Writer
// is destroyed, and before the broker given to SetLocalBroker() is stopped.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "connect/mqtt/bridge.h"
#include "connect/mqtt/broker.h"
#include "connect/mqtt/telemetry.h"
#include "core/metrics.h"
#include "ingest/writer.h"
#include "model/asset_store.h"
#include "model/plant_config.h"
#include "server/server.h"

namespace shopfloor::app {

struct MqttSourcesOptions {
  core::Duration initial_backoff = 500 * core::kMillisecond;
  core::Duration max_backoff = 30 * core::kSecond;
  // Reads an environment variable (null: std::getenv); tests pass their own.
  std::function<const char*(const char*)> getenv;
};

// The bridge options of one mqtt source; InvalidArgument naming the source for an endpoint
// it cannot use. Does not read the password.
core::Result<connect::mqtt::BridgeOptions> BridgeOptionsFor(const model::SourceConfig& source,
                                                            const std::string& enterprise);

class MqttSources {
 public:
  // Registers the shopfloor_source_* metrics of the mqtt sources. Nothing connects before
  // Start(). Sources of other protocols are ignored; a null config means no sources.
  static core::Result<std::unique_ptr<MqttSources>> Create(const model::PlantConfig* config,
                                                           model::AssetStore* assets, ingest::Writer* writer,
                                                           core::MetricsRegistry* metrics, core::Clock* clock,
                                                           MqttSourcesOptions options);
  ~MqttSources();
  MqttSources(const MqttSources&) = delete;
  MqttSources& operator=(const MqttSources&) = delete;

  void Start();  // idempotent
  void Stop();   // stops the bridges (each waits for its messages in storage); idempotent
  // Messages from the bridges are routed to `broker`'s local subscribers too (null: off).
  void SetLocalBroker(connect::mqtt::Broker* broker);

  std::vector<server::SourceStatus> Status() const;
  size_t size() const { return sources_.size(); }

 private:
  struct Source;
  MqttSources(model::AssetStore* assets, ingest::Writer* writer, core::Clock* clock, MqttSourcesOptions options);
  core::Status RegisterMetrics(core::MetricsRegistry* metrics);
  void OnMessage(Source* source, connect::mqtt::BridgeMessage message, connect::mqtt::BridgeClient::Done done);
  void Refuse(Source* source, std::string error);
  server::SourceStatus StatusOf(const Source& source) const;

  model::AssetStore* const assets_;
  ingest::Writer* const writer_;
  core::Clock* const clock_;
  const MqttSourcesOptions options_;
  std::string enterprise_;  // fixed after Create
  std::vector<std::unique_ptr<Source>> sources_;  // fixed after Create
  std::unique_ptr<connect::mqtt::TelemetryHooks> telemetry_;
  std::atomic<connect::mqtt::Broker*> local_broker_{nullptr};
  mutable std::mutex mu_;
  bool started_ = false;  // GUARDED_BY(mu_)
};

}  // namespace shopfloor::app
