// `--backfill DURATION` of `shopfloor sim` and `shopfloor demo`: days of simulated history
// written straight into a data directory's storage engine (sim/backfill.h), ending now.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "model/plant_config.h"
#include "sim/factory.h"

namespace shopfloor::app {

// Opens the storage of `data_dir` (the config's storage settings; nothing else may have it
// open), runs a factory made from `factory_options` (its start is set to now - duration)
// up to now, and returns that factory so a live simulator can continue from its state.
// Prints progress to stderr.
core::Result<std::unique_ptr<sim::Factory>> BackfillDataDir(const model::PlantConfig& config,
                                                            const std::string& data_dir, core::Duration duration,
                                                            sim::FactoryOptions factory_options);

}  // namespace shopfloor::app
