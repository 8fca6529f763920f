#include <charconv>
#include <string>

#include <fmt/format.h>

#include "storage/storage.h"

namespace shopfloor::storage {

Result<DurabilityPolicy> DurabilityPolicy::Parse(std::string_view text) {
  DurabilityPolicy policy;
  if (text == "always") {
    policy.mode = Mode::kAlways;
    return policy;
  }
  if (text == "none") {
    policy.mode = Mode::kNone;
    return policy;
  }
  constexpr std::string_view kPrefix = "interval=";
  if (text.starts_with(kPrefix)) {
    std::string_view ms = text.substr(kPrefix.size());
    if (ms.ends_with("ms")) ms.remove_suffix(2);
    int64_t value = 0;
    auto [ptr, ec] = std::from_chars(ms.data(), ms.data() + ms.size(), value);
    if (ec == std::errc() && ptr == ms.data() + ms.size() && value > 0 && value <= 3'600'000) {
      policy.mode = Mode::kInterval;
      policy.interval = value * core::kMillisecond;
      return policy;
    }
  }
  return Status::InvalidArgument(fmt::format(
      "invalid durability \"{}\": expected \"always\", \"none\" or \"interval=<ms>\" with 1..3600000 ms", text));
}

std::string DurabilityPolicy::ToString() const {
  switch (mode) {
    case Mode::kAlways: return "always";
    case Mode::kNone: return "none";
    case Mode::kInterval: return fmt::format("interval={}", interval / core::kMillisecond);
  }
  return "unknown";
}

}  // namespace shopfloor::storage
