// Building storage::Options from the plant configuration and command-line overrides.
#pragma once

#include <optional>
#include <string>

#include "model/plant_config.h"
#include "storage/storage.h"

namespace shopfloor::app {

// Storage options for `dir` from the config's storage section (when a config is given) and
// an optional --durability override ("always", "none", "interval=<ms>").
core::Result<storage::Options> MakeStorageOptions(const model::PlantConfig* config, const std::string& dir,
                                                  const std::string& durability_override);

}  // namespace shopfloor::app
