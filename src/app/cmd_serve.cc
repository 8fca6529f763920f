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
#include "app/storage_options.h"
#include "core/log.h"
#include "model/plant_config.h"
#include "server/server.h"
#include "storage/storage.h"

namespace shopfloor::app {

namespace {

struct ServeArgs {
  std::string config_path;
  std::string data_dir;
  std::string http;
  std::string durability;
  int http_threads = 2;
};

int Serve(const ServeArgs& args) {
  std::optional<model::PlantConfig> config;
  if (!args.config_path.empty()) {
    std::vector<core::Status> problems;
    auto loaded = model::LoadPlantConfigFile(core::Env::Posix(), args.config_path, &problems);
    if (!problems.empty() || !loaded.ok()) {
      for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.ToString().c_str());
      if (problems.empty()) std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
      std::fprintf(stderr, "shopfloor: the configuration has problems; not starting\n");
      return 2;
    }
    config = std::move(loaded).value();
  }
  const std::string dir = !args.data_dir.empty() ? args.data_dir : config ? config->storage.data_dir : "";
  if (dir.empty()) {
    std::fprintf(stderr, "shopfloor serve: --data DIR is required (or a config with storage.data_dir)\n");
    return 2;
  }
  std::string http = args.http;
  if (http.empty()) http = config ? config->server.http_host + ":" + std::to_string(config->server.http_port) : "127.0.0.1:8080";
  auto listen = ParseHostPort(http, "--http");
  auto options = MakeStorageOptions(config ? &*config : nullptr, dir, args.durability);
  for (const core::Status& s : {listen.status(), options.status()}) {
    if (!s.ok()) {
      std::fprintf(stderr, "shopfloor serve: %s\n", s.message().c_str());
      return 2;
    }
  }

  auto storage = storage::Storage::Open(*options);
  if (!storage.ok()) {
    SF_LOG(critical, "serve.storage_failed", "dir={} error=\"{}\"", dir, storage.status().ToString());
    return 1;
  }
  server::HttpServerOptions http_options;
  http_options.host = listen->host;
  http_options.port = listen->port;
  http_options.threads = args.http_threads;
  auto server = server::HttpServer::Start(http_options, storage->get(), core::Clock::System());
  if (!server.ok()) {
    SF_LOG(critical, "serve.http_failed", "listen={} error=\"{}\"", http, server.status().ToString());
    return 1;
  }
  SF_LOG(info, "serve.ready", "http=http://{}:{} data={} durability={} config={}", listen->host, (*server)->port(),
         dir, options->durability.ToString(), args.config_path.empty() ? "-" : args.config_path);
  const int sig = WaitForShutdownSignal();
  SF_LOG(info, "serve.stopping", "signal={}", sig == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->Stop();
  server->reset();
  storage->reset();  // closes the WAL; unflushed data is replayed on the next start
  SF_LOG(info, "serve.stopped", "data={}", dir);
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* serve = app.add_subcommand("serve", "Run Shopfloor: the historian and its HTTP API");
  serve->add_option("--config", args->config_path, "Plant configuration (YAML)")->check(CLI::ExistingFile);
  serve->add_option("--data", args->data_dir, "Data directory (created if missing)");
  serve->add_option("--http", args->http, "HTTP listen address HOST:PORT (default 127.0.0.1:8080)");
  serve->add_option("--durability", args->durability,
                    "WAL durability: always | interval=<ms> | none (overrides the config)");
  serve->add_option("--http-threads", args->http_threads, "HTTP I/O threads")->check(CLI::Range(1, 64));
  serve->callback([args, exit_code] { *exit_code = Serve(*args); });
}

}  // namespace shopfloor::app
