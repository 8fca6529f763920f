// `shopfloor demo`: Shopfloor and the factory simulator in one process, wired over loopback
// exactly as a plant would be: Shopfloor's Modbus collectors poll the simulated PLCs, the
// simulated Sparkplug B edge node publishes to Shopfloor's MQTT endpoint, and the vibration
// gateway pushes waveform bursts to the HTTP ingest. Data persists in --data across restarts.
//
// Logins: on the first start (no users) it creates "admin" with a random password and
// prints it once. The simulator logs in as the engineer "demo-plant" with an API token
// made fresh on every start (the previous one is revoked), so no secret is stored in clear.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "app/commands.h"
#include "app/demo_config.h"
#include "app/host_port.h"
#include "app/runtime.h"
#include "app/shutdown.h"
#include "app/sim_backfill.h"
#include "app/sim_options.h"
#include "auth/crypto.h"
#include "core/log.h"
#include "sim/simulator.h"

namespace shopfloor::app {

namespace {

constexpr std::string_view kPlantUser = "demo-plant";
constexpr std::string_view kPlantTokenName = "demo-simulator";

struct DemoArgs {
  std::string config_path;
  std::string data_dir = "demo-data";
  std::string http = "127.0.0.1:8080";
  std::string mqtt = "127.0.0.1:1883";
  std::string mqtt_tls;  // "" = off
  std::string durability;
  SimCommonArgs sim;
};

std::string RandomPassword() {
  std::string token = auth::NewTokenText(auth::TokenKind::kApiToken);  // random, URL-safe
  std::string out;
  for (char c : token.substr(token.find('_') + 1)) {
    if (std::isalnum(static_cast<unsigned char>(c))) out += c;
    if (out.size() == 20) break;
  }
  return out;
}

// The admin login on the first start; the simulator's fresh token every start.
core::Result<std::string> PrepareLogins(Runtime* rt, std::string* admin_password) {
  auth::UserStore* users = rt->users();
  if (!users->HasUsers()) {
    *admin_password = RandomPassword();
    auto admin = users->CreateUser("demo", "admin", *admin_password, auth::Role::kAdmin, {});
    if (!admin.ok()) return admin.status();
  }
  if (!users->GetUser(kPlantUser).ok()) {
    auto plant = users->CreateUser("demo", kPlantUser, RandomPassword() + RandomPassword(), auth::Role::kEngineer, {});
    if (!plant.ok()) return plant.status();
  }
  for (const auto& t : users->ListTokens(kPlantUser)) {
    if (t.name == kPlantTokenName) (void)users->RevokeToken("demo", t.id);
  }
  auto token = users->CreateToken("demo", kPlantUser, kPlantTokenName);
  if (!token.ok()) return token.status();
  return token->secret;
}

int RunDemo(const DemoArgs& args) {
  auto loaded = LoadConfigOrDemo(args.config_path);
  if (!loaded.ok()) return 2;
  model::PlantConfig& config = loaded->config;
  auto http = ParseHostPort(args.http, "--http");
  auto mqtt = ParseHostPort(args.mqtt, "--mqtt");
  if (!http.ok() || !mqtt.ok() || mqtt->port == 0) {
    std::fprintf(stderr, "shopfloor demo: %s\n",
                 !http.ok() ? http.status().message().c_str()
                 : !mqtt.ok() ? mqtt.status().message().c_str() : "--mqtt needs a port");
    return 2;
  }
  // 1. The simulated PLCs, so that the collectors find them at once.
  sim::SimulatorOptions sim_options;
  if (core::Status s = ApplySimArgs(args.sim, config, &sim_options); !s.ok()) {
    std::fprintf(stderr, "shopfloor demo: %s\n", s.message().c_str());
    return 2;
  }
  // A fresh data directory may first get days of history (--backfill), and the live
  // simulator then continues from the backfilled plant.
  std::unique_ptr<sim::Factory> factory;
  if (!args.sim.backfill.empty()) {
    std::error_code ec;
    if (std::filesystem::exists(args.data_dir, ec) && !std::filesystem::is_empty(args.data_dir, ec)) {
      SF_LOG(info, "demo.backfill_skipped", "data={} reason=\"the data directory is not empty\"", args.data_dir);
    } else {
      auto backfilled = BackfillDataDir(config, args.data_dir, *model::ParseDuration(args.sim.backfill),
                                        sim_options.factory);
      if (!backfilled.ok()) {
        std::fprintf(stderr, "shopfloor demo: backfill failed: %s\n", backfilled.status().ToString().c_str());
        return 1;
      }
      factory = std::move(backfilled).value();
    }
  }
  auto simulator = sim::Simulator::Start(config, sim_options, core::Clock::System(), std::move(factory));
  if (!simulator.ok()) {
    std::fprintf(stderr, "shopfloor demo: the simulator cannot start: %s\n", simulator.status().message().c_str());
    return 1;
  }
  // 2. Shopfloor, with the sources pointed at where the simulator really listens.
  const auto endpoints = (*simulator)->modbus_endpoints();
  for (auto& source : config.sources) {
    if (auto e = endpoints.find(source.name); e != endpoints.end()) source.endpoint = e->second;
    if (source.protocol == model::Protocol::kSparkplug) {
      source.endpoint = fmt::format("mqtt://{}:{}", mqtt->host, mqtt->port);
    }
  }
  RuntimeOptions options;
  options.data_dir = args.data_dir;
  options.durability = args.durability;
  options.config_text = loaded->text;
  options.config = std::move(config);
  options.http.host = http->host;
  options.http.port = http->port;
  options.mqtt = std::make_pair(mqtt->host, mqtt->port);
  if (!args.mqtt_tls.empty()) {
    auto tls = ParseHostPort(args.mqtt_tls, "--mqtt-tls");
    if (!tls.ok()) {
      std::fprintf(stderr, "shopfloor demo: %s\n", tls.status().message().c_str());
      return 2;
    }
    options.mqtt_tls = std::make_pair(tls->host, tls->port);
  }
  auto runtime = Runtime::Open(std::move(options), core::Clock::System());
  if (!runtime.ok()) {
    SF_LOG(critical, "demo.start_failed", "data={} error=\"{}\"", args.data_dir, runtime.status().ToString());
    return 1;
  }
  Runtime* rt = runtime->get();
  std::string admin_password;
  auto token = PrepareLogins(rt, &admin_password);
  core::Status s = token.ok() ? rt->StartMqtt() : token.status();
  if (s.ok()) s = rt->StartHttp();
  // 3. The edge node and the vibration gateway talk to the running endpoints.
  if (s.ok()) s = (*simulator)->ConnectMqtt(mqtt->host, rt->mqtt_port(), std::string(kPlantUser), *token);
  if (!s.ok()) {
    SF_LOG(critical, "demo.start_failed", "data={} error=\"{}\"", args.data_dir, s.ToString());
    return 1;
  }
  (*simulator)->ConnectHttp(http->host, rt->http_port(), *token);
  rt->StartSources();

  const std::string url = fmt::format("http://{}:{}", http->host, rt->http_port());
  std::printf("\n  Demo Works is running: %s\n", url.c_str());
  if (!admin_password.empty()) {
    std::printf("  First start: a one-time admin login was created. It is shown only now; keep it.\n"
                "    user:      admin\n    password:  %s\n", admin_password.c_str());
  } else {
    std::printf("  Log in as admin with the password shown on the first start (data in %s).\n", args.data_dir.c_str());
  }
  std::printf("  Try: curl -u admin:PASSWORD '%s/api/v1/latest?asset=demo-works/stuttgart/utilities/compressor-1'\n",
              url.c_str());
  std::printf("  MQTT: %s:%u   simulated PLCs:", mqtt->host.c_str(), static_cast<unsigned>(rt->mqtt_port()));
  for (const auto& [source, endpoint] : endpoints) std::printf(" %s=%s", source.c_str(), endpoint.c_str());
  std::printf("\n  Ctrl-C stops it; the history stays in %s.\n\n", args.data_dir.c_str());
  std::fflush(stdout);
  SF_LOG(info, "demo.ready", "http={} mqtt={}:{} data={} seed={} speed={}", url, mqtt->host, rt->mqtt_port(),
         args.data_dir, sim_options.factory.seed, sim_options.speed);

  const int sig = WaitForShutdownSignal();
  SF_LOG(info, "demo.stopping", "signal={}", sig == SIGINT ? "SIGINT" : "SIGTERM");
  simulator->reset();  // first: its edge node says goodbye while the broker still runs
  runtime->reset();
  SF_LOG(info, "demo.stopped", "data={}", args.data_dir);
  return 0;
}

}  // namespace

void AddDemoCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* demo = app.add_subcommand(
      "demo", "Run the demo factory: Shopfloor and the plant simulator, wired over loopback Modbus TCP, "
              "Sparkplug B and HTTP");
  demo->add_option("--config", args->config_path, "Plant configuration (default: the built-in demo plant)")
      ->check(CLI::ExistingFile);
  demo->add_option("--data", args->data_dir, "Data directory (created if missing)")->capture_default_str();
  demo->add_option("--http", args->http, "HTTP listen address of the dashboard and API")->capture_default_str();
  demo->add_option("--mqtt", args->mqtt, "MQTT listen address (the edge node publishes here)")->capture_default_str();
  demo->add_option("--mqtt-tls", args->mqtt_tls, "MQTT over TLS listen address HOST:PORT (default: off)");
  demo->add_option("--durability", args->durability, "WAL durability: always | interval=<ms> | none");
  AddSimCommonOptions(demo, &args->sim);
  demo->callback([args, exit_code] { *exit_code = RunDemo(*args); });
}

}  // namespace shopfloor::app
