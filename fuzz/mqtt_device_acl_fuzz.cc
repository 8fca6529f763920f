// Fuzz target for the device ACL decisions (connect/mqtt/device_auth.h): the input's first
// line is the device's asset path, the rest a topic or filter from a client. An allowed
// publish is the path itself or below it with no '$' level; an allowed subscription is
// below the path, has a "$cmd" level followed by exactly one last level, and no wildcard
// before it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "connect/mqtt/device_auth.h"

namespace mqtt = shopfloor::connect::mqtt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  const std::string_view path = input.substr(0, newline);
  const std::string_view topic = input.substr(newline + 1);
  const bool below = topic.size() > path.size() + 1 && topic.starts_with(path) && topic[path.size()] == '/';
  if (mqtt::DevicePublishDecision(path, topic) == mqtt::Denial::kNone) {
    if (topic != path && !below) std::abort();
    if (below && topic.substr(path.size()).find("/$") != std::string_view::npos) std::abort();
  }
  if (mqtt::DeviceSubscribeDecision(path, topic) == mqtt::Denial::kNone) {
    if (!below) std::abort();
    const std::string_view rest = topic.substr(path.size() + 1);
    const size_t cmd = rest.find("$cmd/");
    if (cmd == std::string_view::npos || (cmd != 0 && rest[cmd - 1] != '/')) std::abort();
    const std::string_view before = rest.substr(0, cmd);
    const std::string_view after = rest.substr(cmd + 5);
    if (before.find_first_of("+#$") != std::string_view::npos) std::abort();
    if (after.empty() || after.find('/') != std::string_view::npos) std::abort();
    if (!mqtt::IsCommandTopic(topic)) std::abort();
  }
  return 0;
}
