// Retained messages (3.3.1.3): the last retained PUBLISH per topic, replaced by a newer one
// and deleted by one with an empty payload; handed to new subscriptions whose filter
// matches. A message with a Message Expiry Interval is dropped once it has expired.
//
// Thread safety: none; the broker guards it with its mutex.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "connect/mqtt/packet.h"

namespace shopfloor::connect::mqtt {

class RetainedStore {
 public:
  // Stores (or with an empty payload deletes) the message for `publish.topic`. `now` is
  // steady-clock ns, used for message expiry.
  void Set(const Publish& publish, int64_t now);
  // The retained messages whose topic matches `filter`, with the Message Expiry Interval
  // reduced by the time they were held (expired ones are removed, not returned).
  std::vector<Publish> Match(std::string_view filter, int64_t now);
  size_t size() const { return messages_.size(); }

 private:
  struct Entry {
    Publish publish;
    int64_t stored_at = 0;
  };
  std::map<std::string, Entry, std::less<>> messages_;
};

// The seconds left of `publish`'s Message Expiry Interval after `held_ns` nanoseconds; false
// when it has expired (a message without the property never expires).
bool RemainingExpiry(const Publish& publish, int64_t held_ns, uint32_t* remaining);

}  // namespace shopfloor::connect::mqtt
