// Fuzz target: arbitrary bytes as a plant configuration file. ParsePlantConfig must never
// crash or throw; every failure must come back as positioned problems.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "model/plant_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<shopfloor::core::Status> problems;
  shopfloor::core::Result<shopfloor::model::PlantConfig> config =
      shopfloor::model::ParsePlantConfig(text, "fuzz.yaml", &problems);
  // The contract: success iff no problems, and every problem is an InvalidArgument.
  if (config.ok() != problems.empty()) std::abort();
  for (const shopfloor::core::Status& problem : problems) {
    if (!problem.IsInvalidArgument()) std::abort();
    (void)problem.ToString();
  }
  if (config.ok()) {
    for (const auto& series : shopfloor::model::ListSeries(*config)) {
      if (config->FindAsset(series.asset->path) != series.asset) std::abort();
    }
  }
  return 0;
}
