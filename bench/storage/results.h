// ResultWriter: appends benchmark records as JSON lines,
//   {"benchmark":..,"system":..,"dataset":..,"metric":..,"value":..,"unit":..}
// the format scripts/bench merges into bench/results/<suite>.json.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shopfloor::bench {

class ResultWriter {
 public:
  // Appends to `path`; "-" or empty writes to stdout.
  explicit ResultWriter(std::string path) : path_(std::move(path)) {}

  core::Status Add(std::string_view benchmark, std::string_view system, std::string_view dataset,
                   std::string_view metric, double value, std::string_view unit);

 private:
  std::string path_;
};

}  // namespace shopfloor::bench
