#include "connect/mqtt/subscriptions.h"

#include <algorithm>

namespace shopfloor::connect::mqtt {

namespace {

// Splits off the first level: "a/b/c" -> "a", rest "b/c"; the last level has no rest.
std::string_view FirstLevel(std::string_view s, std::string_view* rest, bool* last) {
  const size_t slash = s.find('/');
  *last = slash == std::string_view::npos;
  *rest = *last ? std::string_view() : s.substr(slash + 1);
  return *last ? s : s.substr(0, slash);
}

}  // namespace

bool SubscriptionTrie::Add(const std::string& client_id, std::string_view filter, const Subscription& subscription) {
  Node* node = &root_;
  for (;;) {
    std::string_view rest;
    bool last = false;
    const std::string_view level = FirstLevel(filter, &rest, &last);
    auto it = node->children.find(level);
    if (it == node->children.end()) it = node->children.emplace(std::string(level), std::make_unique<Node>()).first;
    node = it->second.get();
    if (last) break;
    filter = rest;
  }
  const auto [it, inserted] = node->subscribers.insert_or_assign(client_id, subscription);
  if (inserted) ++size_;
  return !inserted;
}

bool SubscriptionTrie::Remove(const std::string& client_id, std::string_view filter) {
  if (!RemoveAt(&root_, filter, client_id)) return false;
  --size_;
  return true;
}

// Removes the subscription below `node` and prunes nodes left empty on the way back.
bool SubscriptionTrie::RemoveAt(Node* node, std::string_view filter, const std::string& client_id) {
  std::string_view rest;
  bool last = false;
  const std::string_view level = FirstLevel(filter, &rest, &last);
  auto it = node->children.find(level);
  if (it == node->children.end()) return false;
  Node* child = it->second.get();
  const bool removed = last ? child->subscribers.erase(client_id) > 0 : RemoveAt(child, rest, client_id);
  if (removed && child->empty()) node->children.erase(it);
  return removed;
}

void SubscriptionTrie::Collect(const Node& node, std::string_view publisher, std::vector<Delivery>* out,
                               std::map<std::string_view, size_t>* index) {
  for (const auto& [client, sub] : node.subscribers) {
    if (sub.options.no_local && client == publisher) continue;
    auto [it, inserted] = index->emplace(client, out->size());
    if (inserted) out->push_back(Delivery{client, 0, false, {}});
    Delivery& d = (*out)[it->second];
    d.qos = std::max(d.qos, sub.options.max_qos);
    d.retain_as_published = d.retain_as_published || sub.options.retain_as_published;
    if (sub.identifier != 0) d.identifiers.push_back(sub.identifier);
  }
}

void SubscriptionTrie::Walk(const Node& node, std::string_view topic, bool first, std::string_view publisher,
                            std::vector<Delivery>* out, std::map<std::string_view, size_t>* index) const {
  std::string_view rest;
  bool last = false;
  const std::string_view level = FirstLevel(topic, &rest, &last);
  const bool dollar = first && !level.empty() && level[0] == '$';
  if (!dollar) {
    // '#' matches this level and everything below it.
    if (auto it = node.children.find("#"); it != node.children.end()) Collect(*it->second, publisher, out, index);
    if (auto it = node.children.find("+"); it != node.children.end()) {
      if (last) {
        Collect(*it->second, publisher, out, index);
        // "a/+/#" matches "a/b": '#' also matches the parent level.
        if (auto hash = it->second->children.find("#"); hash != it->second->children.end()) {
          Collect(*hash->second, publisher, out, index);
        }
      } else {
        Walk(*it->second, rest, false, publisher, out, index);
      }
    }
  }
  if (auto it = node.children.find(level); it != node.children.end()) {
    if (last) {
      Collect(*it->second, publisher, out, index);
      if (auto hash = it->second->children.find("#"); hash != it->second->children.end()) {
        Collect(*hash->second, publisher, out, index);
      }
    } else {
      Walk(*it->second, rest, false, publisher, out, index);
    }
  }
}

std::vector<Delivery> SubscriptionTrie::Match(std::string_view topic, std::string_view publisher) const {
  std::vector<Delivery> out;
  std::map<std::string_view, size_t> index;
  Walk(root_, topic, true, publisher, &out, &index);
  return out;
}

}  // namespace shopfloor::connect::mqtt
