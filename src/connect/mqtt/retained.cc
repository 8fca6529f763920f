#include "connect/mqtt/retained.h"

#include "connect/mqtt/codec.h"
#include "core/types.h"

namespace shopfloor::connect::mqtt {

bool RemainingExpiry(const Publish& publish, int64_t held_ns, uint32_t* remaining) {
  if (!publish.properties.message_expiry_interval) return true;
  const int64_t interval = *publish.properties.message_expiry_interval;
  const int64_t held_s = held_ns / core::kSecond;
  if (held_s >= interval) return false;
  *remaining = static_cast<uint32_t>(interval - held_s);
  return true;
}

void RetainedStore::Set(const Publish& publish, int64_t now) {
  if (publish.payload.empty()) {
    messages_.erase(publish.topic);
    return;
  }
  Entry& e = messages_[publish.topic];
  e.publish = publish;
  e.publish.dup = false;
  e.publish.packet_id = 0;
  e.publish.properties.topic_alias.reset();
  e.publish.properties.subscription_identifiers.clear();
  e.stored_at = now;
}

std::vector<Publish> RetainedStore::Match(std::string_view filter, int64_t now) {
  std::vector<Publish> out;
  for (auto it = messages_.begin(); it != messages_.end();) {
    uint32_t remaining = 0;
    if (!RemainingExpiry(it->second.publish, now - it->second.stored_at, &remaining)) {
      it = messages_.erase(it);
      continue;
    }
    if (TopicMatches(filter, it->first)) {
      out.push_back(it->second.publish);
      if (out.back().properties.message_expiry_interval) out.back().properties.message_expiry_interval = remaining;
    }
    ++it;
  }
  return out;
}

}  // namespace shopfloor::connect::mqtt
