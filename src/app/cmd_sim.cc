// `shopfloor sim`: runs the demo factory simulator on its own, serving the plant config's
// sources (Modbus TCP servers, a Sparkplug B edge node, line-protocol push) until
// SIGINT/SIGTERM. `shopfloor demo` runs the same simulator beside Shopfloor.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "app/commands.h"
#include "app/demo_config.h"
#include "app/host_port.h"
#include "app/sim_backfill.h"
#include "app/sim_options.h"
#include "app/shutdown.h"
#include "core/log.h"
#include "sim/simulator.h"

namespace shopfloor::app {

namespace {

struct SimArgs {
  std::string config_path;
  SimCommonArgs common;
  std::string mqtt;  // HOST:PORT; "" = each sparkplug source's endpoint; "off" = none
  std::string mqtt_user;
  std::string mqtt_password_env = "SHOPFLOOR_SIM_MQTT_PASSWORD";
  std::string push;  // HOST:PORT of Shopfloor's HTTP ingest; "" = off
  std::string push_token_env = "SHOPFLOOR_SIM_TOKEN";
  std::string data_dir;  // --backfill's target
};

int RunSim(const SimArgs& args) {
  auto loaded = LoadConfigOrDemo(args.config_path);
  if (!loaded.ok()) return 2;
  sim::SimulatorOptions options;
  if (core::Status s = ApplySimArgs(args.common, loaded->config, &options); !s.ok()) {
    std::fprintf(stderr, "shopfloor sim: %s\n", s.message().c_str());
    return 2;
  }
  if (!args.common.backfill.empty()) {  // generate history and exit
    if (args.data_dir.empty()) {
      std::fprintf(stderr, "shopfloor sim: --backfill needs --data DIR (not one a running Shopfloor has open)\n");
      return 2;
    }
    auto factory = BackfillDataDir(loaded->config, args.data_dir, *model::ParseDuration(args.common.backfill),
                                   options.factory);
    if (!factory.ok()) {
      std::fprintf(stderr, "shopfloor sim: backfill failed: %s\n", factory.status().ToString().c_str());
      return 1;
    }
    return 0;
  }
  auto simulator = sim::Simulator::Start(loaded->config, options, core::Clock::System());
  if (!simulator.ok()) {
    std::fprintf(stderr, "shopfloor sim: %s\n", simulator.status().message().c_str());
    return 1;
  }
  for (const auto& [source, endpoint] : (*simulator)->modbus_endpoints()) {
    SF_LOG(info, "sim.modbus_listening", "source={} endpoint={}", source, endpoint);
  }
  if (args.mqtt != "off") {
    std::string host;
    uint16_t port = 0;
    if (!args.mqtt.empty()) {
      auto hp = ParseHostPort(args.mqtt, "--mqtt");
      if (!hp.ok()) {
        std::fprintf(stderr, "shopfloor sim: %s\n", hp.status().message().c_str());
        return 2;
      }
      host = hp->host;
      port = hp->port;
    }
    const char* password = std::getenv(args.mqtt_password_env.c_str());
    core::Status s = (*simulator)->ConnectMqtt(host, port, args.mqtt_user, password ? password : "");
    if (!s.ok()) {
      std::fprintf(stderr, "shopfloor sim: %s\n", s.message().c_str());
      return 2;
    }
  }
  if (!args.push.empty()) {
    auto hp = ParseHostPort(args.push, "--push");
    const char* token = std::getenv(args.push_token_env.c_str());
    if (!hp.ok() || token == nullptr) {
      std::fprintf(stderr, "shopfloor sim: %s\n",
                   !hp.ok() ? hp.status().message().c_str()
                            : fmt::format("--push needs an API token in ${}", args.push_token_env).c_str());
      return 2;
    }
    (*simulator)->ConnectHttp(hp->host, hp->port, token);
  }
  SF_LOG(info, "sim.ready", "seed={} speed={} config={}", options.factory.seed, options.speed,
         args.config_path.empty() ? "demo-works (built in)" : args.config_path);
  const int sig = WaitForShutdownSignal();
  SF_LOG(info, "sim.stopping", "signal={}", sig == SIGINT ? "SIGINT" : "SIGTERM");
  simulator->reset();
  return 0;
}

}  // namespace

void AddSimCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<SimArgs>();
  CLI::App* sim = app.add_subcommand(
      "sim", "Run the factory simulator: Modbus TCP servers, a Sparkplug B edge node and line-protocol push "
             "serving the plant config's sources (default: the built-in demo plant)");
  sim->add_option("--config", args->config_path, "Plant configuration (YAML); default: the demo plant")
      ->check(CLI::ExistingFile);
  AddSimCommonOptions(sim, &args->common);
  sim->add_option("--mqtt", args->mqtt,
                  "MQTT broker HOST:PORT of the Sparkplug edge node (default: the source's endpoint; off: none)");
  sim->add_option("--mqtt-user", args->mqtt_user, "MQTT user name of the edge node");
  sim->add_option("--mqtt-password-env", args->mqtt_password_env,
                  "Environment variable holding the edge node's MQTT password or API token")
      ->capture_default_str();
  sim->add_option("--push", args->push,
                  "Shopfloor's HTTP address HOST:PORT: push vibration bursts and ground truth as line protocol");
  sim->add_option("--push-token-env", args->push_token_env,
                  "Environment variable holding the API token for --push (engineer role)")
      ->capture_default_str();
  sim->add_option("--data", args->data_dir, "Data directory that --backfill writes into");
  sim->callback([args, exit_code] { *exit_code = RunSim(*args); });
}

}  // namespace shopfloor::app
