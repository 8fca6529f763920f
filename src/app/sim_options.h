// Command-line options shared by `shopfloor sim` and `shopfloor demo`: the simulator's
// seed, speed, fault settings and Modbus listen ports.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "model/plant_config.h"
#include "sim/simulator.h"

namespace CLI {
class App;
}

namespace shopfloor::app {

struct SimCommonArgs {
  uint64_t seed = 1;
  double speed = 1.0;
  int modbus_base = -1;  // -1: the sources' config endpoints; 0: free ports; else PORT, PORT+1, ...
  std::string bearing_life = "21d";
  std::string burst_interval = "5m";
  bool no_faults = false;
  std::string backfill;  // "" or a duration of history to generate first (sim_backfill.h)
};

void AddSimCommonOptions(CLI::App* cmd, SimCommonArgs* args);
// Fills options from the arguments; InvalidArgument names a bad one. With modbus_base set,
// the Modbus sources (in config order) listen on 127.0.0.1:base+i (or free ports for 0).
core::Status ApplySimArgs(const SimCommonArgs& args, const model::PlantConfig& config, sim::SimulatorOptions* options);

}  // namespace shopfloor::app
