// Fuzz target for Sparkplug B (connect/sparkplug): the input's first line is the topic, the
// rest the payload. Topics and payloads either parse or say why; a decoded payload encodes
// and decodes again to the same values; the host state machine takes any sequence of
// messages (state kept across inputs) without crashing, and every update it reports names a
// metric of the topic's node.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "connect/sparkplug/host.h"
#include "connect/sparkplug/payload.h"

namespace sp = shopfloor::connect::sparkplug;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static sp::Host host;
  static int64_t now = 1'700'000'000'000'000'000;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  auto topic = sp::ParseTopic(input.substr(0, newline));
  if (!topic.ok() && topic.status().message().empty()) std::abort();
  auto payload = sp::DecodePayload(input.substr(newline + 1));
  if (!payload.ok()) {
    if (payload.status().message().empty()) std::abort();
    return 0;
  }
  auto again = sp::DecodePayload(sp::EncodePayload(*payload));
  if (!again.ok() || again->metrics.size() != payload->metrics.size()) std::abort();
  for (size_t i = 0; i < payload->metrics.size(); ++i) {
    const auto& a = payload->metrics[i];
    const auto& b = again->metrics[i];
    if (a.supported && a.value && (!b.value || !(*a.value == *b.value))) {
      // NaN payloads compare unequal to themselves; everything else must survive.
      if (!(a.value->is_double() && a.value->as_double() != a.value->as_double())) std::abort();
    }
  }
  if (!topic.ok()) return 0;
  now += 1'000'000;
  auto result = host.Handle(*topic, *payload, now);
  for (const auto& u : result.updates) {
    if (!u.address.starts_with(topic->edge_node_id + "/")) std::abort();
  }
  return 0;
}
