#include "app/sim_options.h"

#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include "model/plant_config.h"

namespace shopfloor::app {

void AddSimCommonOptions(CLI::App* cmd, SimCommonArgs* args) {
  cmd->add_option("--seed", args->seed, "Random seed: the same seed gives the same plant history")->capture_default_str();
  cmd->add_option("--speed", args->speed, "Simulated seconds per wall second, e.g. 3600 runs an hour per second")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 1e6));
  cmd->add_option("--modbus-base", args->modbus_base,
                  "The simulated PLCs listen on 127.0.0.1:PORT, PORT+1, ... in config order (0: free ports; "
                  "default: the sources' endpoints)");
  cmd->add_option("--bearing-life", args->bearing_life, "Mean bearing life in simulated time, e.g. 21d, 6h")
      ->capture_default_str();
  cmd->add_option("--burst-interval", args->burst_interval, "Vibration waveform burst interval (0: none)")
      ->capture_default_str();
  cmd->add_flag("--no-faults", args->no_faults, "No random faults (micro-stops, jams, sensor faults, ...)");
  cmd->add_option("--backfill", args->backfill,
                  "First generate this much history (e.g. 7d) ending now, as fast as possible, into --data");
}

core::Status ApplySimArgs(const SimCommonArgs& args, const model::PlantConfig& config, sim::SimulatorOptions* options) {
  options->factory.seed = args.seed;
  options->speed = args.speed;
  options->factory.random_faults = !args.no_faults;
  auto life = model::ParseDuration(args.bearing_life);
  if (!life.ok() || *life <= 0) return core::Status::InvalidArgument(fmt::format("--bearing-life: bad duration \"{}\"", args.bearing_life));
  options->factory.bearing_life = *life;
  auto burst = model::ParseDuration(args.burst_interval);
  if (!burst.ok() || *burst < 0) return core::Status::InvalidArgument(fmt::format("--burst-interval: bad duration \"{}\"", args.burst_interval));
  options->factory.burst_interval = *burst;
  if (!args.backfill.empty()) {
    auto backfill = model::ParseDuration(args.backfill);
    if (!backfill.ok() || *backfill <= 0 || *backfill > 366 * core::kDay) {
      return core::Status::InvalidArgument(fmt::format("--backfill: a duration up to 366d, got \"{}\"", args.backfill));
    }
  }
  // At high speed a coarser physics step keeps up (the models are stable up to 1 s).
  if (args.speed > 20) options->factory.step = core::kSecond;
  if (args.modbus_base >= 0) {
    int i = 0;
    for (const auto& source : config.sources) {
      if (source.protocol != model::Protocol::kModbus) continue;
      const int port = args.modbus_base == 0 ? 0 : args.modbus_base + i++;
      if (port > 65535) return core::Status::InvalidArgument("--modbus-base: ports beyond 65535");
      options->modbus_listen[source.name] = fmt::format("127.0.0.1:{}", port);
    }
  }
  return core::Status::OK();
}

}  // namespace shopfloor::app
