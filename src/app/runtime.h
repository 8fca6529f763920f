// Runtime: everything a running Shopfloor holds, opened in dependency order and closed in
// reverse: storage, the metadata database (users, audit, asset model, twins, events), the
// bus and the durable writer, the source connectors (collectors and setpoint writes),
// metrics, and the HTTP server. `serve` runs one; `demo` will
// run one beside the simulator; the API tests build theirs with Open() and no sockets, so
// they exercise exactly this wiring.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "app/modbus_sources.h"
#include "app/mqtt_commands.h"
#include "app/mqtt_sources.h"
#include "app/opcua_sources.h"
#include "app/sparkplug_host.h"
#include "auth/audit.h"
#include "auth/devices.h"
#include "connect/mqtt/broker.h"
#include "connect/mqtt/device_auth.h"
#include "connect/mqtt/telemetry.h"
#include "connect/mqtt/user_auth.h"
#include "auth/auth.h"
#include "core/metrics.h"
#include "ingest/bus.h"
#include "ingest/event_log.h"
#include "ingest/writer.h"
#include "meta/db.h"
#include "model/asset_store.h"
#include "model/plant_config.h"
#include "model/twin.h"
#include "server/server.h"
#include "storage/storage.h"

namespace shopfloor::app {

struct RuntimeOptions {
  std::optional<model::PlantConfig> config;  // seeds the asset model when present
  std::string config_text;                   // the file's bytes (its hash decides re-seeding)
  std::string data_dir;
  std::string durability;  // override, "" = config/default
  server::HttpServerOptions http;
  auth::AuthOptions auth;  // tests set fast_hash_for_tests
  // The MQTT endpoint (docs/mqtt.md): "" = off. host and port (0 = ephemeral).
  std::optional<std::pair<std::string, uint16_t>> mqtt;
  // --- MQTT over TLS (docs/mqtt.md, TLS): its listener, off when unset (port 0 = ephemeral).
  // Certificate and key: both files, or neither for a self-signed certificate kept under
  // <data_dir>/pki/mqtt/. A client CA file makes client certificates required.
  std::optional<std::pair<std::string, uint16_t>> mqtt_tls;
  std::string mqtt_tls_cert, mqtt_tls_key, mqtt_tls_client_ca;
  // --- end MQTT over TLS
};

class Runtime {
 public:
  // Opens everything and starts serving. Failures name the component.
  static core::Result<std::unique_ptr<Runtime>> Start(RuntimeOptions options, core::Clock* clock);
  // Opens everything but the HTTP server (tests drive server::Api on services() directly).
  static core::Result<std::unique_ptr<Runtime>> Open(RuntimeOptions options, core::Clock* clock);
  core::Status StartHttp();
  // Starts the MQTT broker when options.mqtt is set: users authenticate with their password
  // or an API token, devices with their secret (DeviceAuthHooks), telemetry under the
  // enterprise is stored before its PUBACK, and desired values of unbound tags go down to
  // devices on "<asset path>/$cmd/<tag>" (MqttCommands).
  core::Status StartMqtt();
  uint16_t mqtt_port() const;
  uint16_t mqtt_tls_port() const;                   // 0 when off
  const std::string& mqtt_tls_cert_file() const { return mqtt_tls_cert_file_; }  // what clients may trust
  const std::string& mqtt_tls_fingerprint() const { return mqtt_tls_fingerprint_; }  // SHA-256, "AB:CD:..."
  // Starts the connectors of the config's sources (OPC UA: OpcUaSources; Modbus:
  // ModbusSources; MQTT bridges: MqttSources). Start() calls it
  // before StartHttp(); Open() alone collects nothing and writes no setpoints.
  void StartSources();
  ~Runtime();  // stops the server first, then closes in reverse order

  // What the server serves; valid while the Runtime lives.
  const server::Services& services() const { return services_; }
  uint16_t http_port() const { return server_ ? server_->port() : 0; }
  auth::UserStore* users() const { return users_.get(); }
  auth::DeviceStore* devices() const { return devices_.get(); }
  MqttCommands* mqtt_commands() const { return mqtt_commands_.get(); }
  connect::mqtt::DeviceAuthHooks* mqtt_device_auth() const { return mqtt_devices_.get(); }
  auth::AuditLog* audit() const { return audit_.get(); }
  model::TwinStore* twins() const { return twins_.get(); }
  ingest::EventLog* events() const { return events_.get(); }
  model::AssetStore* assets() const { return assets_.get(); }
  ingest::Writer* writer() const { return writer_.get(); }
  OpcUaSources* opcua_sources() const { return opcua_sources_.get(); }
  MqttSources* mqtt_sources() const { return mqtt_sources_.get(); }
  ModbusSources* modbus_sources() const { return modbus_sources_.get(); }
  storage::Storage* storage() const { return storage_.get(); }
  const std::string& durability() const { return durability_; }

 private:
  Runtime() = default;
  core::Status SeedTwins();

  RuntimeOptions options_;
  core::Clock* clock_ = nullptr;
  std::string durability_;
  core::MetricsRegistry metrics_;
  std::unique_ptr<storage::Storage> storage_;
  enum { kAuditDb, kUsersDb, kModelDb, kTwinDb, kEventsDb, kDbs };
  std::unique_ptr<meta::Db> dbs_[kDbs];
  std::unique_ptr<auth::AuditLog> audit_;
  std::unique_ptr<auth::UserStore> users_;
  std::unique_ptr<auth::DeviceStore> devices_;
  std::unique_ptr<model::AssetStore> assets_;
  std::unique_ptr<model::TwinStore> twins_;
  ingest::Bus bus_;
  std::unique_ptr<ingest::Writer> writer_;
  std::unique_ptr<ingest::EventLog> events_;
  ingest::Bus::Subscription twin_feed_;
  int model_listener_ = 0;
  std::unique_ptr<OpcUaSources> opcua_sources_;  // after the writer, stopped before it
  int sources_listener_ = 0;
  std::unique_ptr<ModbusSources> modbus_sources_;  // after the writer, stopped before it
  int modbus_listener_ = 0;
  std::unique_ptr<MqttSources> mqtt_sources_;  // stopped before the broker and the writer
  server::Services services_;
  std::unique_ptr<server::HttpServer> server_;
  std::unique_ptr<connect::mqtt::UserAuthHooks> mqtt_auth_;
  std::unique_ptr<connect::mqtt::TelemetryHooks> mqtt_telemetry_;
  std::unique_ptr<connect::mqtt::Broker> mqtt_broker_;
  std::unique_ptr<SparkplugHost> sparkplug_;  // in front of the telemetry hooks
  std::atomic<SparkplugHost*> sparkplug_live_{nullptr};  // for the twin listener: set once attached
  std::string mqtt_tls_cert_file_, mqtt_tls_fingerprint_;
  // MQTT devices and commands (mqtt-devices). The twin listener reads commands_ through the
  // atomic, since the listener is set in Open() and the commands start in StartMqtt().
  std::unique_ptr<connect::mqtt::DeviceAuthHooks> mqtt_devices_;
  std::unique_ptr<MqttCommands> mqtt_commands_;
  std::atomic<MqttCommands*> commands_{nullptr};
};

}  // namespace shopfloor::app
