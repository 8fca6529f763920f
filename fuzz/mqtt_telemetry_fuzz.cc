// Fuzz target for the unified-namespace telemetry parser (connect/mqtt/telemetry.h): the
// input's first line is the topic, the rest the payload. A parsed message has at least one
// point, every tag and asset level a valid name, and nothing but JSON is ever accepted.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "connect/mqtt/telemetry.h"
#include "model/plant_config.h"

namespace mqtt = shopfloor::connect::mqtt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  auto message = mqtt::ParseTelemetry(input.substr(0, newline), input.substr(newline + 1), 1'700'000'000'000'000'000);
  if (!message.ok()) {
    if (message.status().message().empty()) std::abort();
    return 0;
  }
  if (message->points.empty() || message->asset_path.empty()) std::abort();
  for (const auto& point : message->points) {
    if (!shopfloor::model::IsValidName(point.tag)) std::abort();
  }
  return 0;
}
