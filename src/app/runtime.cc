#include "app/runtime.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/mqtt_tls.h"
#include "app/storage_options.h"
#include "core/log.h"
#include "server/metrics_handler.h"

#ifndef SHOPFLOOR_VERSION
#define SHOPFLOOR_VERSION "0.1.0"
#endif

namespace shopfloor::app {

namespace {

// FNV-1a 64: a stable fingerprint of the config file (decides whether it is re-applied).
std::string Fingerprint(std::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("fnv1a64:{:016x}:{}", h, text.size());
}

ingest::Event ToEvent(const model::ModelEvent& e) {
  return ingest::Event{e.ts, e.kind, e.asset_path, e.actor, e.message, e.data_json};
}

}  // namespace

core::Result<std::unique_ptr<Runtime>> Runtime::Start(RuntimeOptions options, core::Clock* clock) {
  SF_ASSIGN_OR_RETURN(std::unique_ptr<Runtime> rt, Open(std::move(options), clock));
  rt->StartSources();
  SF_RETURN_IF_ERROR(rt->StartHttp());
  SF_RETURN_IF_ERROR(rt->StartMqtt());
  return rt;
}

core::Status Runtime::StartMqtt() {
  if (!options_.mqtt && !options_.mqtt_tls) return core::Status::OK();
  mqtt_auth_ = std::make_unique<connect::mqtt::UserAuthHooks>(users_.get(), assets_.get());
  connect::mqtt::TelemetryOptions telemetry;
  connect::mqtt::UserAuthHooks* users = mqtt_auth_.get();
  // Devices first (a "sfd_" secret), users behind them (mqtt-devices).
  mqtt_devices_ = std::make_unique<connect::mqtt::DeviceAuthHooks>(devices_.get(), users, clock_);
  connect::mqtt::DeviceAuthHooks* auth = mqtt_devices_.get();
  auth->set_users_may_provision([users](const connect::mqtt::ClientView& client) { return users->MayProvision(client); });
  telemetry.may_provision = [auth](const connect::mqtt::ClientView& client) { return auth->MayProvision(client); };
  mqtt_telemetry_ = std::make_unique<connect::mqtt::TelemetryHooks>(assets_.get(), writer_.get(), clock_,
                                                                    std::move(telemetry), auth);
  connect::mqtt::BrokerOptions broker;
  broker.plain_listener = options_.mqtt.has_value();
  if (options_.mqtt) {
    broker.host = options_.mqtt->first;
    broker.port = options_.mqtt->second;
  }
  // --- MQTT over TLS: the certificate (given, or self-signed under <data>/pki/mqtt/).
  if (options_.mqtt_tls) {
    MqttTlsRequest request{options_.mqtt_tls->first, options_.mqtt_tls->second,  options_.mqtt_tls_cert,
                           options_.mqtt_tls_key,    options_.mqtt_tls_client_ca, options_.data_dir};
    SF_ASSIGN_OR_RETURN(MqttTlsSetup tls, ResolveMqttTls(request, clock_->Now()));
    if (tls.created) SF_LOG(info, "mqtt.tls_certificate_created", "cert={} key={}", tls.listener.cert_chain_file, tls.listener.private_key_file);
    mqtt_tls_cert_file_ = tls.listener.cert_chain_file;
    mqtt_tls_fingerprint_ = tls.fingerprint;
    broker.tls = std::move(tls.listener);
  }
  // --- end MQTT over TLS
  broker.clock = clock_;
  SparkplugHostOptions sparkplug;
  if (options_.config) sparkplug.enterprise = options_.config->enterprise.name;
  sparkplug.may_publish = [users](const connect::mqtt::ClientView& client) { return users->MayPublishData(client); };
  sparkplug_ = SparkplugHost::Create(options_.config ? &*options_.config : nullptr, assets_.get(), twins_.get(),
                                     writer_.get(), &bus_, audit_.get(), clock_, mqtt_telemetry_.get(), sparkplug);
  connect::mqtt::BrokerHooks* hooks = sparkplug_ ? sparkplug_->hooks() : mqtt_telemetry_.get();
  mqtt_broker_ = std::make_unique<connect::mqtt::Broker>(broker, hooks);
  core::Status started = mqtt_broker_->Start();
  if (!started.ok()) {
    return started.WithPrefix(options_.mqtt ? fmt::format("MQTT on {}:{}: ", broker.host, broker.port) : "MQTT: ");
  }
  if (sparkplug_) {
    SF_RETURN_IF_ERROR(sparkplug_->RegisterMetrics(&metrics_));
    std::vector<std::string> listeners;
    if (options_.mqtt) listeners.push_back(fmt::format("{}:{}", broker.host, mqtt_broker_->port()));
    if (broker.tls) listeners.push_back(fmt::format("{}:{}", broker.tls->host, mqtt_broker_->tls_port()));
    sparkplug_->Attach(mqtt_broker_.get(), listeners);
    sparkplug_live_.store(sparkplug_.get());
  }
  connect::mqtt::Broker* b = mqtt_broker_.get();
  connect::mqtt::TelemetryHooks* t = mqtt_telemetry_.get();
  struct Def {
    const char* name;
    const char* help;
    std::function<double()> fn;
    bool counter;
  };
  const Def defs[] = {
      {"shopfloor_mqtt_connections", "MQTT connections open", [b] { return double(b->stats().connections_current); }, false},
      {"shopfloor_mqtt_messages_received_total", "MQTT PUBLISHes received", [b] { return double(b->stats().messages_received); }, true},
      {"shopfloor_mqtt_messages_delivered_total", "MQTT PUBLISHes delivered to subscribers", [b] { return double(b->stats().messages_delivered); }, true},
      {"shopfloor_mqtt_auth_failures_total", "MQTT CONNECTs refused", [b] { return double(b->stats().auth_failures); }, true},
      {"shopfloor_mqtt_denied_total", "MQTT PUBLISH and SUBSCRIBE refused by the ACLs", [b] { auto s = b->stats(); return double(s.publishes_denied + s.subscribes_denied); }, true},
      {"shopfloor_mqtt_malformed_packets_total", "MQTT packets refused as malformed or protocol errors", [b] { return double(b->stats().malformed_packets); }, true},
      {"shopfloor_mqtt_telemetry_samples_total", "samples stored from MQTT telemetry", [t] { return double(t->stats().samples); }, true},
      {"shopfloor_mqtt_telemetry_refused_total", "MQTT telemetry messages refused (unknown path or bad payload)", [t] { auto s = t->stats(); return double(s.refused_unknown + s.refused_invalid); }, true},
      {"shopfloor_mqtt_tls_connections", "MQTT connections open on the TLS listener", [b] { return double(b->stats().tls_connections_current); }, false},
      {"shopfloor_mqtt_tls_connections_accepted_total", "MQTT connections accepted on the TLS listener", [b] { return double(b->stats().tls_connections_accepted); }, true},
      {"shopfloor_mqtt_tls_handshake_failures_total", "MQTT TLS handshakes refused, broken or not finished within the CONNECT timeout", [b] { return double(b->stats().tls_handshake_failures); }, true},
  };
  for (const Def& def : defs) {
    core::Status s = def.counter ? metrics_.AddCounterCallback(def.name, def.help, def.fn)
                                 : metrics_.AddGaugeCallback(def.name, def.help, def.fn);
    if (!s.ok()) return s;
  }
  mqtt_sources_->SetLocalBroker(mqtt_broker_.get());  // bridged messages reach local subscribers
  if (options_.mqtt) SF_LOG(info, "mqtt.listening", "address={}:{}", broker.host, mqtt_broker_->port());
  if (broker.tls) {
    SF_LOG(info, "mqtt.tls_listening", "address={}:{} cert={} sha256={} client_certificates={}", broker.tls->host,
           mqtt_broker_->tls_port(), mqtt_tls_cert_file_, mqtt_tls_fingerprint_,
           broker.tls->client_ca_file.empty() ? "off" : "required");
  }
  // mqtt-devices: denials per reason, and desired values down to devices.
  SF_ASSIGN_OR_RETURN(core::CounterFamily * denied,
                      metrics_.AddCounterFamily("shopfloor_mqtt_device_denied_total",
                                                "MQTT requests refused by the device ACLs (and command topics), by reason",
                                                {"reason"}));
  for (size_t i = 1; i < connect::mqtt::kDenialKinds; ++i) {
    const auto reason = static_cast<connect::mqtt::Denial>(i);
    SF_RETURN_IF_ERROR(denied->SetCallback({std::string(connect::mqtt::DenialName(reason))},
                                           [auth, i] { return double(auth->stats().denied[i]); }));
  }
  mqtt_commands_ = std::make_unique<MqttCommands>(mqtt_broker_.get(), assets_.get(), twins_.get(), audit_.get(),
                                                  &bus_, clock_);
  commands_.store(mqtt_commands_.get());
  return core::Status::OK();
}

uint16_t Runtime::mqtt_port() const { return mqtt_broker_ ? mqtt_broker_->port() : 0; }
uint16_t Runtime::mqtt_tls_port() const { return mqtt_broker_ ? mqtt_broker_->tls_port() : 0; }

core::Status Runtime::StartHttp() {
  SF_ASSIGN_OR_RETURN(server_, server::HttpServer::Start(options_.http, services_));
  if (!users_->HasUsers()) {
    SF_LOG(warn, "auth.no_users",
           "no users yet: every request but /healthz is refused. Create the first admin with: shopfloor admin "
           "create-user --data {} --name admin --role admin   (the password is read from stdin)",
           options_.data_dir);
  }
  return core::Status::OK();
}

void Runtime::StartSources() {
  opcua_sources_->Start();
  modbus_sources_->Start();
  mqtt_sources_->Start();
}

core::Result<std::unique_ptr<Runtime>> Runtime::Open(RuntimeOptions options, core::Clock* clock) {
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->options_ = std::move(options);
  rt->clock_ = clock;
  const model::PlantConfig* config = rt->options_.config ? &*rt->options_.config : nullptr;
  const std::string& dir = rt->options_.data_dir;

  SF_ASSIGN_OR_RETURN(storage::Options storage_options, MakeStorageOptions(config, dir, rt->options_.durability));
  storage_options.clock = clock;
  rt->durability_ = storage_options.durability.ToString();
  SF_ASSIGN_OR_RETURN(storage_options.wal_fsync_seconds, server::RegisterWalFsyncHistogram(&rt->metrics_));
  SF_ASSIGN_OR_RETURN(rt->storage_, storage::Storage::Open(storage_options));

  auto with = [](std::string_view what) {
    return [what](core::Status s) { return s.WithPrefix(what); };
  };
  // One connection per component: a SQLite connection's transaction is shared by every
  // thread using it, so components never share one. SQLite serializes the writers.
  for (int i = 0; i < kDbs; ++i) {
    auto db = meta::Db::OpenInDataDir(dir);
    if (!db.ok()) return with("metadata database")(db.status());
    rt->dbs_[i] = std::move(db).value();
  }
  SF_ASSIGN_OR_RETURN(rt->audit_, auth::AuditLog::Open(rt->dbs_[kAuditDb].get(), clock, dir + "/audit.head"));
  SF_ASSIGN_OR_RETURN(rt->users_, auth::UserStore::Open(rt->dbs_[kUsersDb].get(), clock, rt->audit_.get(), rt->options_.auth));
  SF_ASSIGN_OR_RETURN(rt->devices_, auth::DeviceStore::Open(rt->dbs_[kUsersDb].get(), clock, rt->audit_.get()));
  SF_ASSIGN_OR_RETURN(rt->assets_, model::AssetStore::Open(rt->dbs_[kModelDb].get(), clock));
  if (config != nullptr) {
    auto report = rt->assets_->SeedFromConfig(*config, config->file_name, Fingerprint(rt->options_.config_text));
    if (!report.ok()) return report.status().WithPrefix(fmt::format("applying {}", config->file_name));
    if (report->applied) {
      SF_LOG(info, "model.seeded", "file={} changes={}", config->file_name, report->changes.size());
      auth::AuditEntry entry;
      entry.actor = "config:" + config->file_name;
      entry.action = "config.apply";
      entry.target = config->file_name;
      nlohmann::json changes = report->changes;
      entry.new_value = changes.dump();
      SF_RETURN_IF_ERROR(rt->audit_->Append(std::move(entry)).status());
    }
  }
  storage::Storage* st = rt->storage_.get();
  SF_ASSIGN_OR_RETURN(rt->twins_, model::TwinStore::Open(rt->dbs_[kTwinDb].get(), rt->assets_.get(), clock,
                                                         [st](std::string_view key) -> std::optional<core::SeriesId> {
                                                           auto info = st->FindSeries(key);
                                                           if (!info.ok()) return std::nullopt;
                                                           return info->id;
                                                         }));
  SF_RETURN_IF_ERROR(rt->SeedTwins());
  SF_ASSIGN_OR_RETURN(rt->events_, ingest::EventLog::Open(rt->dbs_[kEventsDb].get()));
  rt->events_->Subscribe(&rt->bus_);
  rt->writer_ = std::make_unique<ingest::Writer>(st, &rt->bus_);
  model::TwinStore* twins = rt->twins_.get();
  ingest::Bus* bus = &rt->bus_;
  rt->twin_feed_ = bus->SubscribeSamples([twins](const core::SampleBatch& batch) { twins->OnSamples(batch); });
  OpcUaSourcesOptions sources_options;
  sources_options.pki_dir = dir + "/pki/opcua";
  SF_ASSIGN_OR_RETURN(rt->opcua_sources_,
                      OpcUaSources::Create(config, rt->assets_.get(), rt->writer_.get(), bus, rt->audit_.get(),
                                           &rt->metrics_, clock, std::move(sources_options)));
  OpcUaSources* sources = rt->opcua_sources_.get();
  SF_ASSIGN_OR_RETURN(rt->modbus_sources_,
                      ModbusSources::Create(config, rt->assets_.get(), rt->writer_.get(), bus, rt->audit_.get(),
                                            &rt->metrics_, clock, ModbusSourcesOptions{}));
  ModbusSources* modbus = rt->modbus_sources_.get();
  SF_ASSIGN_OR_RETURN(rt->mqtt_sources_, MqttSources::Create(config, rt->assets_.get(), rt->writer_.get(),
                                                             &rt->metrics_, clock, MqttSourcesOptions{}));
  MqttSources* bridges = rt->mqtt_sources_.get();
  Runtime* self = rt.get();
  std::atomic<MqttCommands*>* commands = &rt->commands_;
  twins->SetListener([bus, sources, modbus, commands, self](const model::ModelEvent& e) {
    bus->PublishEvent(ToEvent(e));
    sources->OnDesired(e);
    modbus->OnDesired(e);
    if (MqttCommands* c = commands->load()) c->OnDesired(e);  // mqtt-devices
    if (SparkplugHost* sparkplug = self->sparkplug_live_.load()) sparkplug->OnDesired(e);
  });
  rt->sources_listener_ = rt->assets_->AddListener([sources](const model::ModelEvent&) { sources->OnModelChanged(); });
  rt->modbus_listener_ = rt->assets_->AddListener([modbus](const model::ModelEvent&) { modbus->OnModelChanged(); });
  rt->model_listener_ = rt->assets_->AddListener([bus, twins](const model::ModelEvent& e) {
    core::Status s = twins->Rebuild();
    if (!s.ok()) SF_LOG(error, "twins.rebuild_failed", "error=\"{}\"", s.ToString());
    bus->PublishEvent(ToEvent(e));
  });

  SF_RETURN_IF_ERROR(server::RegisterStorageMetrics(&rt->metrics_, st));
  SF_RETURN_IF_ERROR(server::RegisterProcessMetrics(&rt->metrics_, clock, SHOPFLOOR_VERSION));
  SF_RETURN_IF_ERROR(server::RegisterIngestMetrics(&rt->metrics_, rt->writer_.get()));

  server::Services& services = rt->services_;
  services.storage = st;
  services.clock = clock;
  services.writer = rt->writer_.get();
  services.bus = bus;
  services.events = rt->events_.get();
  services.users = rt->users_.get();
  services.devices = rt->devices_.get();
  services.audit = rt->audit_.get();
  services.assets = rt->assets_.get();
  services.twins = twins;
  services.metrics = &rt->metrics_;
  services.config = config;
  services.sources = [sources, modbus, bridges, self] {
    std::vector<server::SourceStatus> all = sources->Status();
    for (server::SourceStatus& s : modbus->Status()) all.push_back(std::move(s));
    for (server::SourceStatus& s : bridges->Status()) all.push_back(std::move(s));
    if (SparkplugHost* sparkplug = self->sparkplug_live_.load()) {
      for (auto& s : sparkplug->Status()) all.push_back(std::move(s));
    }
    return all;
  };
  return rt;
}

core::Status Runtime::SeedTwins() {
  std::vector<std::string> keys;
  std::vector<core::SeriesId> ids;
  for (const model::Asset& asset : assets_->AllAssets()) {
    for (const model::Tag& tag : asset.tags) {
      auto info = storage_->FindSeries(tag.series_key);
      if (!info.ok()) continue;
      keys.push_back(tag.series_key);
      ids.push_back(info->id);
    }
  }
  std::vector<std::optional<core::Sample>> latest = storage_->Latest(ids);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (latest[i]) twins_->SeedReported(keys[i], *latest[i]);
  }
  return core::Status::OK();
}

Runtime::~Runtime() {
  if (server_) server_->Stop();
  server_.reset();
  mqtt_sources_.reset();  // the bridges forward to the broker and write through the writer
  // The broker stops before its hooks go (queued telemetry is answered, then dropped), and
  // all of it before the writer and the model.
  commands_.store(nullptr);  // commands first: they publish through the broker
  mqtt_commands_.reset();
  sparkplug_live_.store(nullptr);
  if (sparkplug_) sparkplug_->Stop();  // announces the host offline while the broker runs
  if (mqtt_broker_) mqtt_broker_->Stop();
  sparkplug_.reset();
  mqtt_telemetry_.reset();
  mqtt_broker_.reset();
  mqtt_devices_.reset();
  mqtt_auth_.reset();
  twin_feed_.Reset();
  if (assets_ && model_listener_ != 0) assets_->RemoveListener(model_listener_);
  if (assets_ && sources_listener_ != 0) assets_->RemoveListener(sources_listener_);
  if (assets_ && modbus_listener_ != 0) assets_->RemoveListener(modbus_listener_);
  if (twins_) twins_->SetListener(nullptr);
  opcua_sources_.reset();  // stops collectors and setpoint writers while the writer lives
  modbus_sources_.reset();
  events_.reset();
  writer_.reset();
  twins_.reset();
  assets_.reset();
  devices_.reset();
  users_.reset();
  audit_.reset();
  for (auto& db : dbs_) db.reset();
  storage_.reset();  // closes the WAL; unflushed data is replayed on the next start
}

}  // namespace shopfloor::app
