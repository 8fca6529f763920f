// The broker's socket-free parts: the subscription trie (wildcards, the '$' rule,
// overlapping subscriptions, No Local, subscription identifiers), the retained store and a
// session's outbound window.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "connect/mqtt/codec.h"
#include "connect/mqtt/retained.h"
#include "connect/mqtt/session.h"
#include "connect/mqtt/subscriptions.h"
#include "core/types.h"

namespace shopfloor::connect::mqtt {
namespace {

Subscription Sub(uint8_t qos, uint32_t id = 0, bool no_local = false) {
  Subscription s;
  s.options.max_qos = qos;
  s.options.no_local = no_local;
  s.identifier = id;
  return s;
}

std::vector<std::string> Clients(const std::vector<Delivery>& deliveries) {
  std::vector<std::string> out;
  for (const Delivery& d : deliveries) out.push_back(d.client_id);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(MqttSubscriptionTrie, WildcardsMatchLikeTopicMatches) {
  const std::vector<std::string> filters = {"a/b/c", "a/+/c", "a/#", "#", "+/+", "+", "a/+", "a/b/#", "/+", "+/#",
                                            "$SYS/#", "$SYS/+", "a//c", "a/+/+/#"};
  const std::vector<std::string> topics = {"a", "a/b", "a/b/c", "a/b/c/d", "/x", "x", "$SYS/load", "$SYS",
                                           "a//c", "b/c", "/", "a/"};
  SubscriptionTrie trie;
  for (size_t i = 0; i < filters.size(); ++i) trie.Add("c" + std::to_string(i), filters[i], Sub(0));
  EXPECT_EQ(trie.size(), filters.size());
  for (const std::string& topic : topics) {
    std::vector<std::string> expected;
    for (size_t i = 0; i < filters.size(); ++i) {
      if (TopicMatches(filters[i], topic)) expected.push_back("c" + std::to_string(i));
    }
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(Clients(trie.Match(topic, "")), expected) << topic;
  }
}

TEST(MqttSubscriptionTrie, DollarTopicsAreNotMatchedByLeadingWildcards) {
  SubscriptionTrie trie;
  trie.Add("all", "#", Sub(0));
  trie.Add("plus", "+/load", Sub(0));
  trie.Add("sys", "$SYS/#", Sub(0));
  EXPECT_EQ(Clients(trie.Match("$SYS/load", "")), std::vector<std::string>{"sys"});
  EXPECT_EQ(Clients(trie.Match("x/load", "")), (std::vector<std::string>{"all", "plus"}));
}

TEST(MqttSubscriptionTrie, OverlappingSubscriptionsGiveOneDeliveryAtTheHighestQos) {
  SubscriptionTrie trie;
  trie.Add("c", "plant/#", Sub(0, 7));
  trie.Add("c", "plant/+/temp", Sub(2, 9));
  trie.Add("c", "other/#", Sub(1, 11));
  trie.Add("d", "plant/l1/temp", Sub(1));
  const auto deliveries = trie.Match("plant/l1/temp", "");
  ASSERT_EQ(deliveries.size(), 2u);
  const Delivery& c = deliveries[0].client_id == "c" ? deliveries[0] : deliveries[1];
  const Delivery& d = deliveries[0].client_id == "c" ? deliveries[1] : deliveries[0];
  EXPECT_EQ(c.qos, 2);
  std::vector<uint32_t> ids = c.identifiers;
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<uint32_t>{7, 9}));
  EXPECT_EQ(d.qos, 1);
  EXPECT_TRUE(d.identifiers.empty());
}

TEST(MqttSubscriptionTrie, ReplaceRemoveAndNoLocal) {
  SubscriptionTrie trie;
  EXPECT_FALSE(trie.Add("c", "a/+", Sub(0)));
  EXPECT_TRUE(trie.Add("c", "a/+", Sub(1, 0, true)));  // replaced
  EXPECT_EQ(trie.size(), 1u);
  EXPECT_TRUE(trie.Match("a/b", "c").empty());         // No Local: not to its own publisher
  ASSERT_EQ(trie.Match("a/b", "other").size(), 1u);
  EXPECT_EQ(trie.Match("a/b", "other")[0].qos, 1);
  EXPECT_FALSE(trie.Remove("c", "a/b"));
  EXPECT_FALSE(trie.Remove("d", "a/+"));
  EXPECT_TRUE(trie.Remove("c", "a/+"));
  EXPECT_EQ(trie.size(), 0u);
  EXPECT_TRUE(trie.Match("a/b", "other").empty());
  EXPECT_FALSE(trie.Remove("c", "a/+"));
}

Publish Retained(std::string topic, std::string payload, std::optional<uint32_t> expiry = std::nullopt) {
  Publish p;
  p.topic = std::move(topic);
  p.payload = std::move(payload);
  p.retain = true;
  p.qos = 1;
  p.packet_id = 5;
  p.properties.message_expiry_interval = expiry;
  return p;
}

TEST(MqttRetainedStore, SetReplaceDeleteAndMatch) {
  RetainedStore store;
  store.Set(Retained("plant/l1/temp", "20"), 0);
  store.Set(Retained("plant/l2/temp", "21"), 0);
  store.Set(Retained("plant/l1/temp", "22"), 0);  // replaces
  store.Set(Retained("$SYS/uptime", "9"), 0);
  EXPECT_EQ(store.size(), 3u);
  auto l1 = store.Match("plant/l1/temp", 0);
  ASSERT_EQ(l1.size(), 1u);
  EXPECT_EQ(l1[0].payload, "22");
  EXPECT_EQ(l1[0].packet_id, 0);
  EXPECT_EQ(store.Match("plant/+/temp", 0).size(), 2u);
  EXPECT_EQ(store.Match("#", 0).size(), 2u);  // not the $SYS one
  EXPECT_EQ(store.Match("$SYS/#", 0).size(), 1u);
  store.Set(Retained("plant/l1/temp", ""), 0);  // an empty payload deletes
  EXPECT_TRUE(store.Match("plant/l1/temp", 0).empty());
  EXPECT_EQ(store.size(), 2u);
}

TEST(MqttRetainedStore, MessageExpiryCountsDownAndDrops) {
  RetainedStore store;
  store.Set(Retained("t", "x", 10), 0);
  auto held = store.Match("t", 4 * core::kSecond);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].properties.message_expiry_interval, 6u);
  EXPECT_TRUE(store.Match("t", 10 * core::kSecond).empty());
  EXPECT_EQ(store.size(), 0u);
}

Outbound Out(uint8_t qos, const std::string& payload) {
  auto m = std::make_shared<Message>();
  m->publish.topic = "t";
  m->publish.payload = payload;
  m->publish.qos = qos;
  Outbound out;
  out.message = m;
  out.qos = qos;
  return out;
}

TEST(MqttSession, ReceiveMaximumWindowQueueAndAcks) {
  Session s("c");
  s.client_receive_maximum = 2;
  Outbound a = Out(1, "a"), b = Out(2, "b"), c = Out(1, "c"), q0 = Out(0, "z");
  EXPECT_EQ(s.Admit(&a, true, 10), Session::Placement::kSend);
  EXPECT_EQ(s.Admit(&b, true, 10), Session::Placement::kSend);
  EXPECT_EQ(s.Admit(&c, true, 10), Session::Placement::kQueued);  // window full
  EXPECT_EQ(s.Admit(&q0, false, 10), Session::Placement::kDropped);  // QoS 0 offline
  ASSERT_EQ(s.inflight.size(), 2u);
  const uint16_t id_a = s.inflight.front().packet_id, id_b = s.inflight.back().packet_id;
  EXPECT_NE(id_a, id_b);
  EXPECT_FALSE(s.OnPuback(id_b));  // QoS 2 is not acknowledged by PUBACK
  EXPECT_TRUE(s.OnPuback(id_a));
  auto promoted = s.Promote(s.client_receive_maximum);
  ASSERT_EQ(promoted.size(), 1u);
  EXPECT_EQ(promoted[0]->message->publish.payload, "c");
  EXPECT_FALSE(s.OnPubcomp(id_b));  // no PUBREC yet
  EXPECT_TRUE(s.OnPubrec(id_b, false));
  EXPECT_TRUE(s.OnPubcomp(id_b));
  EXPECT_EQ(s.inflight.size(), 1u);
  Outbound d = Out(1, "d"), e = Out(1, "e");
  EXPECT_EQ(s.Admit(&d, false, 1), Session::Placement::kQueued);
  EXPECT_EQ(s.Admit(&e, false, 1), Session::Placement::kDropped);  // bounded queue
}

TEST(MqttSession, ToPublishCarriesExpiryIdsAndDup) {
  Session s("c");
  s.protocol_level = kMqtt5;
  Outbound out = Out(1, "p");
  auto m = std::make_shared<Message>(*out.message);
  m->publish.properties.message_expiry_interval = 30;
  m->publish.properties.user_properties = {{"k", "v"}};
  m->received_at = 0;
  out.message = m;
  out.identifiers = {3};
  out.packet_id = 9;
  Publish p;
  ASSERT_TRUE(s.ToPublish(out, true, 12 * core::kSecond, &p));
  EXPECT_TRUE(p.dup);
  EXPECT_EQ(p.packet_id, 9);
  EXPECT_EQ(p.properties.message_expiry_interval, 18u);
  EXPECT_EQ(p.properties.subscription_identifiers, std::vector<uint32_t>{3});
  EXPECT_EQ(p.properties.user_properties.size(), 1u);
  EXPECT_FALSE(s.ToPublish(out, false, 31 * core::kSecond, &p));
  s.protocol_level = kMqtt311;
  ASSERT_TRUE(s.ToPublish(out, false, 0, &p));
  EXPECT_EQ(p.properties, Properties{});  // no properties for a 3.1.1 client
}

}  // namespace
}  // namespace shopfloor::connect::mqtt
