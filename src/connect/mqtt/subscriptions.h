// The subscription trie: topic filters by level, with '+' and '#' children, mapping each
// filter to the clients subscribed to it (4.7). Matching a topic walks at most the levels of
// the topic times the wildcard branches, independent of the number of subscriptions.
//
// Thread safety: none; the broker guards it with its mutex.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connect/mqtt/packet.h"

namespace shopfloor::connect::mqtt {

struct Subscription {
  SubscribeOptions options;
  uint32_t identifier = 0;  // MQTT 5 Subscription Identifier, 0 = none
};

// One client's share of a message: with overlapping subscriptions the client gets one copy
// at the highest granted QoS, carrying every matching subscription identifier (3.3.4).
struct Delivery {
  std::string client_id;
  uint8_t qos = 0;
  bool retain_as_published = false;
  std::vector<uint32_t> identifiers;
};

class SubscriptionTrie {
 public:
  // Adds or replaces the client's subscription to `filter` (a valid filter). Returns
  // whether it replaced one (for Retain Handling 1).
  bool Add(const std::string& client_id, std::string_view filter, const Subscription& subscription);
  // Returns whether the subscription existed.
  bool Remove(const std::string& client_id, std::string_view filter);
  // The clients whose subscriptions match `topic`, one Delivery each. Subscriptions with No
  // Local are skipped for their own client's messages (`publisher`). Filters starting with a
  // wildcard do not match topics starting with '$'.
  std::vector<Delivery> Match(std::string_view topic, std::string_view publisher) const;
  size_t size() const { return size_; }

 private:
  struct Node {
    std::map<std::string, std::unique_ptr<Node>, std::less<>> children;
    std::map<std::string, Subscription, std::less<>> subscribers;  // by client id
    bool empty() const { return children.empty() && subscribers.empty(); }
  };
  static void Collect(const Node& node, std::string_view publisher, std::vector<Delivery>* out,
                      std::map<std::string_view, size_t>* index);
  void Walk(const Node& node, std::string_view rest, bool first, std::string_view publisher,
            std::vector<Delivery>* out, std::map<std::string_view, size_t>* index) const;
  bool RemoveAt(Node* node, std::string_view rest, const std::string& client_id);

  Node root_;
  size_t size_ = 0;
};

}  // namespace shopfloor::connect::mqtt
