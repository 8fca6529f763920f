// `shopfloor serve`: runs the historian and its HTTP API until SIGINT/SIGTERM.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/host_port.h"
#include "app/shutdown.h"
#include "app/runtime.h"
#include "core/log.h"
#include "model/plant_config.h"

namespace shopfloor::app {

namespace {

struct ServeArgs {
  std::string config_path;
  std::string data_dir;
  std::string http;
  std::string durability;
  int http_threads = 2;
  std::string tls_cert;
  std::string tls_key;
  std::string mqtt;  // HOST:PORT, "" = no MQTT endpoint
  // MQTT over TLS: HOST:PORT ("" = off); certificate files ("" = the HTTP ones, else self-signed).
  std::string mqtt_tls, mqtt_tls_cert, mqtt_tls_key, mqtt_tls_client_ca;
};

int Serve(const ServeArgs& args) {
  RuntimeOptions options;
  if (!args.config_path.empty()) {
    std::vector<core::Status> problems;
    auto text = core::Env::Posix()->ReadFileToString(args.config_path);
    auto loaded = model::LoadPlantConfigFile(core::Env::Posix(), args.config_path, &problems);
    if (!problems.empty() || !loaded.ok() || !text.ok()) {
      for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.ToString().c_str());
      if (problems.empty()) std::fprintf(stderr, "%s\n", (!loaded.ok() ? loaded.status() : text.status()).ToString().c_str());
      std::fprintf(stderr, "shopfloor: the configuration has problems; not starting\n");
      return 2;
    }
    options.config = std::move(loaded).value();
    options.config_text = std::move(text).value();
  }
  const model::PlantConfig* config = options.config ? &*options.config : nullptr;
  options.data_dir = !args.data_dir.empty() ? args.data_dir : config ? config->storage.data_dir : "";
  if (options.data_dir.empty()) {
    std::fprintf(stderr, "shopfloor serve: --data DIR is required (or a config with storage.data_dir)\n");
    return 2;
  }
  std::string http = args.http;
  if (http.empty()) http = config ? config->server.http_host + ":" + std::to_string(config->server.http_port) : "127.0.0.1:8080";
  auto listen = ParseHostPort(http, "--http");
  if (!listen.ok()) {
    std::fprintf(stderr, "shopfloor serve: %s\n", listen.status().message().c_str());
    return 2;
  }
  std::string tls_cert = args.tls_cert, tls_key = args.tls_key;
  if (tls_cert.empty() && tls_key.empty() && config != nullptr) {
    tls_cert = config->server.tls_cert;
    tls_key = config->server.tls_key;
  }
  if (tls_cert.empty() != tls_key.empty()) {
    std::fprintf(stderr, "shopfloor serve: --tls-cert and --tls-key go together\n");
    return 2;
  }
  if (!args.mqtt.empty()) {
    auto mqtt = ParseHostPort(args.mqtt, "--mqtt");
    if (!mqtt.ok()) {
      std::fprintf(stderr, "shopfloor serve: %s\n", mqtt.status().message().c_str());
      return 2;
    }
    options.mqtt = std::make_pair(mqtt->host, mqtt->port);
  }
  // --- MQTT over TLS
  if (!args.mqtt_tls.empty()) {
    auto mqtt_tls = ParseHostPort(args.mqtt_tls, "--mqtt-tls");
    if (!mqtt_tls.ok()) {
      std::fprintf(stderr, "shopfloor serve: %s\n", mqtt_tls.status().message().c_str());
      return 2;
    }
    if (args.mqtt_tls_cert.empty() != args.mqtt_tls_key.empty()) {
      std::fprintf(stderr, "shopfloor serve: --mqtt-tls-cert and --mqtt-tls-key go together\n");
      return 2;
    }
    options.mqtt_tls = std::make_pair(mqtt_tls->host, mqtt_tls->port);
    const bool own = !args.mqtt_tls_cert.empty();
    options.mqtt_tls_cert = own ? args.mqtt_tls_cert : tls_cert;  // else HTTPS's, else self-signed
    options.mqtt_tls_key = own ? args.mqtt_tls_key : tls_key;
    options.mqtt_tls_client_ca = args.mqtt_tls_client_ca;
  } else if (!args.mqtt_tls_cert.empty() || !args.mqtt_tls_key.empty() || !args.mqtt_tls_client_ca.empty()) {
    std::fprintf(stderr, "shopfloor serve: --mqtt-tls-cert, --mqtt-tls-key and --mqtt-tls-client-ca need --mqtt-tls HOST:PORT\n");
    return 2;
  }
  // --- end MQTT over TLS
  options.durability = args.durability;
  options.http.host = listen->host;
  options.http.port = listen->port;
  options.http.threads = args.http_threads;
  options.http.tls_cert_file = tls_cert;
  options.http.tls_key_file = tls_key;

  auto runtime = Runtime::Start(std::move(options), core::Clock::System());
  if (!runtime.ok()) {
    const core::Status& s = runtime.status();
    SF_LOG(critical, "serve.start_failed", "data={} error=\"{}\"", args.data_dir, s.ToString());
    return s.code() == core::StatusCode::kInvalidArgument ? 2 : 1;
  }
  SF_LOG(info, "serve.ready", "http={}://{}:{} mqtt={} mqtt_tls={} durability={} config={}",
         tls_cert.empty() ? "http" : "https", listen->host, (*runtime)->http_port(),
         args.mqtt.empty() ? std::string("off") : fmt::format("{}", (*runtime)->mqtt_port()),
         args.mqtt_tls.empty() ? std::string("off") : fmt::format("{}", (*runtime)->mqtt_tls_port()),
         (*runtime)->durability(),
         args.config_path.empty() ? "-" : args.config_path);
  const int sig = WaitForShutdownSignal();
  SF_LOG(info, "serve.stopping", "signal={}", sig == SIGINT ? "SIGINT" : "SIGTERM");
  runtime->reset();
  SF_LOG(info, "serve.stopped", "data={}", args.data_dir);
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* serve = app.add_subcommand("serve", "Run Shopfloor: the historian and its HTTP API");
  serve->add_option("--config", args->config_path, "Plant configuration (YAML)")->check(CLI::ExistingFile);
  serve->add_option("--data", args->data_dir, "Data directory (created if missing)");
  serve->add_option("--http", args->http, "HTTP listen address HOST:PORT (default 127.0.0.1:8080)");
  serve->add_option("--mqtt", args->mqtt,
                    "MQTT listen address HOST:PORT (e.g. 127.0.0.1:1883); users log in with their password or an API token");
  serve->add_option("--mqtt-tls", args->mqtt_tls,
                    "MQTT over TLS listen address HOST:PORT (e.g. 127.0.0.1:8883); same users and topics as --mqtt");
  serve->add_option("--mqtt-tls-cert", args->mqtt_tls_cert,
                    "PEM certificate chain for --mqtt-tls (default: --tls-cert, else a self-signed one under DATA/pki/mqtt/)")
      ->check(CLI::ExistingFile);
  serve->add_option("--mqtt-tls-key", args->mqtt_tls_key, "PEM private key of --mqtt-tls-cert")->check(CLI::ExistingFile);
  serve->add_option("--mqtt-tls-client-ca", args->mqtt_tls_client_ca,
                    "PEM CA certificates: --mqtt-tls clients must present a certificate they signed")
      ->check(CLI::ExistingFile);
  serve->add_option("--durability", args->durability,
                    "WAL durability: always | interval=<ms> | none (overrides the config)");
  serve->add_option("--http-threads", args->http_threads, "HTTP I/O threads")->check(CLI::Range(1, 64));
  serve->add_option("--tls-cert", args->tls_cert, "PEM certificate: serve HTTPS only")->check(CLI::ExistingFile);
  serve->add_option("--tls-key", args->tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  serve->callback([args, exit_code] { *exit_code = Serve(*args); });
}

}  // namespace shopfloor::app
