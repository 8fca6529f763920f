// The demo plant (config/demo-works.yaml), built into the binary.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "model/plant_config.h"

namespace shopfloor::app {

// The text of config/demo-works.yaml as of the build.
std::string_view DemoConfigText();

struct LoadedConfig {
  model::PlantConfig config;
  std::string text;
};

// `path` when not empty, else the built-in demo plant (named "demo-works.yaml" in
// messages). Problems are printed to stderr, one per line, and the result is an error.
core::Result<LoadedConfig> LoadConfigOrDemo(const std::string& path);

}  // namespace shopfloor::app
