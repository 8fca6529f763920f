// The broker over real sockets with a raw client (mqtt_test_client.h): a table of malformed
// and out-of-order packets each answered per the specification, then MQTT 5 features, QoS
// flows, sessions and the hooks.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "connect/mqtt/broker.h"
#include "mqtt_test_client.h"

namespace shopfloor::connect::mqtt {
namespace {

using testing::TestClient;

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

std::string Encoded(const Packet& packet, uint8_t version) {
  std::string out;
  Encode(packet, version, &out);
  return out;
}

Connect ConnectPacket(uint8_t version, std::string client_id) {
  Connect c;
  c.protocol_level = version;
  c.client_id = std::move(client_id);
  return c;
}

class MqttBrokerTest : public ::testing::Test {
 protected:
  void StartBroker(BrokerOptions options = {}, BrokerHooks* hooks = nullptr) {
    options.port = 0;
    if (options.io_threads == 1) options.io_threads = 2;
    broker_ = std::make_unique<Broker>(options, hooks);
    ASSERT_TRUE(broker_->Start().ok());
  }
  void SetUp() override { StartBroker(); }
  uint16_t port() const { return broker_->port(); }
  std::unique_ptr<Broker> broker_;
};

struct MalformedCase {
  const char* name;
  uint8_t connect_first;  // 0: nothing before `bytes`; else a valid CONNECT at this level
  std::string bytes;
  std::string answer;     // the bytes the broker sends before closing
};

TEST_F(MqttBrokerTest, MalformedPacketsAreAnsweredPerSpecificationAndTheBrokerKeepsServing) {
  const std::string head = Bytes({0x00, 0x04, 'M', 'Q', 'T', 'T'});
  const std::string oversized = Bytes({0x30, 0x80, 0x80, 0x80, 0x01});  // 2 MiB PUBLISH announced
  const std::vector<MalformedCase> cases = {
      {"bad remaining length", 0, Bytes({0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}), ""},
      {"bad UTF-8 in client id (3.1.1)", 0, Bytes({0x10, 0x0E}) + head + Bytes({0x04, 0x02, 0x00, 0x3C, 0x00, 0x02, 0xC0, 0xAF}), ""},
      {"bad UTF-8 in client id (5)", 0, Bytes({0x10, 0x0F}) + head + Bytes({0x05, 0x02, 0x00, 0x3C, 0x00, 0x00, 0x02, 0xC0, 0xAF}),
       Bytes({0x20, 0x03, 0x00, 0x81, 0x00})},
      {"reserved CONNECT flag (3.1.1)", 0, Bytes({0x10, 0x0C}) + head + Bytes({0x04, 0x03, 0x00, 0x3C, 0x00, 0x00}), ""},
      {"reserved CONNECT flag (5)", 0, Bytes({0x10, 0x0D}) + head + Bytes({0x05, 0x03, 0x00, 0x3C, 0x00, 0x00, 0x00}),
       Bytes({0x20, 0x03, 0x00, 0x81, 0x00})},
      {"protocol level 3", 0, Bytes({0x10, 0x0C}) + head + Bytes({0x03, 0x02, 0x00, 0x3C, 0x00, 0x00}), Bytes({0x20, 0x02, 0x00, 0x01})},
      {"protocol level 6", 0, Bytes({0x10, 0x0C}) + head + Bytes({0x06, 0x02, 0x00, 0x3C, 0x00, 0x00}), Bytes({0x20, 0x02, 0x00, 0x01})},
      {"empty client id without clean session (3.1.1)", 0, Bytes({0x10, 0x0C}) + head + Bytes({0x04, 0x00, 0x00, 0x3C, 0x00, 0x00}),
       Bytes({0x20, 0x02, 0x00, 0x02})},
      {"PUBLISH before CONNECT", 0, Bytes({0x30, 0x05, 0x00, 0x01, 'a', 'h', 'i'}), ""},
      {"PINGREQ before CONNECT", 0, Bytes({0xC0, 0x00}), ""},
      {"oversized packet (3.1.1)", kMqtt311, oversized, ""},
      {"oversized packet (5)", kMqtt5, oversized, Bytes({0xE0, 0x02, 0x95, 0x00})},
      {"second CONNECT (3.1.1)", kMqtt311, Encoded(ConnectPacket(kMqtt311, "again"), kMqtt311), ""},
      {"second CONNECT (5)", kMqtt5, Encoded(ConnectPacket(kMqtt5, "again"), kMqtt5), Bytes({0xE0, 0x02, 0x82, 0x00})},
      {"wildcard in a topic name (3.1.1)", kMqtt311, Bytes({0x30, 0x05, 0x00, 0x03, 'a', '/', '#'}), ""},
      {"wildcard in a topic name (5)", kMqtt5, Bytes({0x30, 0x06, 0x00, 0x03, 'a', '/', '#', 0x00}), Bytes({0xE0, 0x02, 0x90, 0x00})},
      {"SUBSCRIBE with flags 0 (5)", kMqtt5, Bytes({0x80, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x00}), Bytes({0xE0, 0x02, 0x81, 0x00})},
      {"topic alias above the maximum (5)", kMqtt5, Bytes({0x30, 0x07, 0x00, 0x01, 'a', 0x03, 0x23, 0x00, 0x63}),
       Bytes({0xE0, 0x02, 0x94, 0x00})},
      {"unknown topic alias (5)", kMqtt5, Bytes({0x30, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01}), Bytes({0xE0, 0x02, 0x82, 0x00})},
      {"CONNACK from a client (3.1.1)", kMqtt311, Bytes({0x20, 0x02, 0x00, 0x00}), ""},
      {"AUTH (5)", kMqtt5, Bytes({0xF0, 0x00}), Bytes({0xE0, 0x02, 0x82, 0x00})},
  };
  for (const MalformedCase& c : cases) {
    SCOPED_TRACE(c.name);
    TestClient client(port(), c.connect_first == 0 ? kMqtt5 : c.connect_first);
    ASSERT_TRUE(client.connected());
    if (c.connect_first != 0) {
      EXPECT_EQ(client.ConnectAs(std::string("malformed-") + std::to_string(c.connect_first)).reason, Reason::kSuccess);
    }
    client.SendBytes(c.bytes);
    std::string rest;
    EXPECT_TRUE(client.WaitClosed(3000, &rest));
    EXPECT_EQ(rest, c.answer);
    // Another client is still served.
    TestClient probe(port(), kMqtt311);
    EXPECT_EQ(probe.ConnectAs("probe").reason, Reason::kSuccess);
    probe.Send(Ping{PacketType::kPingreq});
    EXPECT_EQ(probe.Expect<Ping>().type, PacketType::kPingresp);
  }
  EXPECT_GE(broker_->stats().malformed_packets, cases.size() - 1);
}

TEST_F(MqttBrokerTest, ConnectTimeoutClosesSilentConnections) {
  BrokerOptions options;
  options.connect_timeout_ms = 200;
  StartBroker(options);
  TestClient idle(port());
  EXPECT_TRUE(idle.WaitClosed(2000));
  EXPECT_EQ(broker_->stats().connect_timeouts, 1u);
}

TEST_F(MqttBrokerTest, MaxConnectionsRefusesTheExtraOne) {
  BrokerOptions options;
  options.max_connections = 1;
  StartBroker(options);
  TestClient first(port());
  EXPECT_EQ(first.ConnectAs("first").reason, Reason::kSuccess);
  TestClient second(port());
  EXPECT_TRUE(second.WaitClosed(2000));
  EXPECT_EQ(broker_->stats().connections_refused, 1u);
}

TEST_F(MqttBrokerTest, V5ConnackAnnouncesLimitsAndAssignsAClientId) {
  TestClient c(port());
  const Connack connack = c.ConnectAs("");
  EXPECT_EQ(connack.reason, Reason::kSuccess);
  ASSERT_TRUE(connack.properties.assigned_client_identifier);
  EXPECT_FALSE(connack.properties.assigned_client_identifier->empty());
  EXPECT_EQ(connack.properties.receive_maximum, 64);
  EXPECT_EQ(connack.properties.topic_alias_maximum, 16);
  EXPECT_EQ(connack.properties.maximum_packet_size, 1u << 20);
  EXPECT_EQ(connack.properties.shared_subscription_available, 0);
  TestClient v3(port(), kMqtt311);
  EXPECT_EQ(v3.ConnectAs("").reason, Reason::kSuccess);  // 3.1.1: empty id with clean session
}

TEST_F(MqttBrokerTest, V5PropertiesAliasesNoLocalAndSubscriptionIds) {
  TestClient sub(port());
  ASSERT_EQ(sub.ConnectAs("sub").reason, Reason::kSuccess);
  Subscribe s;
  s.packet_id = 3;
  s.properties.subscription_identifiers = {42};
  SubscribeOptions rap;
  rap.max_qos = 1;
  rap.retain_as_published = true;
  s.filters.emplace_back("plant/#", rap);
  SubscribeOptions local;
  local.no_local = true;
  s.filters.emplace_back("own/#", local);
  s.filters.emplace_back("bad/#/x", SubscribeOptions{});
  s.filters.emplace_back("$share/g/plant/#", SubscribeOptions{});
  sub.Send(s);
  const auto suback = sub.Expect<SubResponse>();
  EXPECT_EQ(suback.reasons, (std::vector<Reason>{Reason::kGrantedQos1, Reason::kSuccess, Reason::kTopicFilterInvalid,
                                                 Reason::kSharedSubscriptionsNotSupported}));

  TestClient pub(port());
  ASSERT_EQ(pub.ConnectAs("pub").reason, Reason::kSuccess);
  Publish p;
  p.topic = "plant/l1/temp";
  p.qos = 1;
  p.packet_id = 1;
  p.retain = true;
  p.payload = "21.5";
  p.properties.topic_alias = 1;
  p.properties.user_properties = {{"unit", "C"}};
  p.properties.content_type = "text/plain";
  p.properties.payload_format_indicator = 1;
  p.properties.message_expiry_interval = 100;
  pub.Send(p);
  EXPECT_EQ(pub.Expect<PubResponse>().type, PacketType::kPuback);
  Publish got = sub.Expect<Publish>();
  EXPECT_EQ(got.topic, "plant/l1/temp");
  EXPECT_EQ(got.qos, 1);
  EXPECT_TRUE(got.retain);  // Retain As Published
  EXPECT_EQ(got.properties.user_properties, p.properties.user_properties);
  EXPECT_EQ(got.properties.content_type, "text/plain");
  EXPECT_EQ(got.properties.payload_format_indicator, 1);
  EXPECT_LE(got.properties.message_expiry_interval.value_or(0), 100u);
  EXPECT_GE(got.properties.message_expiry_interval.value_or(0), 99u);
  EXPECT_EQ(got.properties.subscription_identifiers, std::vector<uint32_t>{42});
  EXPECT_FALSE(got.properties.topic_alias);
  sub.Send(PubResponse{PacketType::kPuback, got.packet_id});

  // The alias now stands for the topic.
  Publish aliased;
  aliased.properties.topic_alias = 1;
  aliased.payload = "22";
  pub.Send(aliased);
  got = sub.Expect<Publish>();
  EXPECT_EQ(got.topic, "plant/l1/temp");
  EXPECT_EQ(got.payload, "22");
  EXPECT_EQ(got.qos, 0);

  // No Local: the subscriber's own message on own/# does not come back.
  Publish own;
  own.topic = "own/x";
  own.payload = "mine";
  sub.Send(own);
  pub.Send(Publish{false, 0, false, "plant/after", 0, {}, "after"});
  EXPECT_EQ(sub.Expect<Publish>().payload, "after");
}

TEST_F(MqttBrokerTest, V5ClientLimitsReceiveMaximumAndMaximumPacketSize) {
  TestClient sub(port());
  Properties limits;
  limits.receive_maximum = 1;
  limits.maximum_packet_size = 64;
  ASSERT_EQ(sub.ConnectAs("limited", true, limits).reason, Reason::kSuccess);
  sub.SubscribeTo("t/#", 1);
  TestClient pub(port());
  ASSERT_EQ(pub.ConnectAs("p").reason, Reason::kSuccess);
  pub.Send(Publish{false, 0, false, "t/big", 0, {}, std::string(200, 'x')});  // too large for the client: dropped
  for (int i = 1; i <= 3; ++i) pub.Send(Publish{false, 1, false, "t/q", static_cast<uint16_t>(i), {}, std::to_string(i)});
  for (int i = 1; i <= 3; ++i) pub.Expect<PubResponse>();
  Publish first = sub.Expect<Publish>();
  EXPECT_EQ(first.payload, "1");
  Packet extra;
  EXPECT_FALSE(sub.Read(&extra, 300)) << "a second message beyond Receive Maximum 1";
  sub.Send(PubResponse{PacketType::kPuback, first.packet_id});
  Publish second = sub.Expect<Publish>();
  EXPECT_EQ(second.payload, "2");
  sub.Send(PubResponse{PacketType::kPuback, second.packet_id});
  EXPECT_EQ(sub.Expect<Publish>().payload, "3");
  EXPECT_GE(broker_->stats().messages_dropped, 1u);
}

TEST_F(MqttBrokerTest, QoS2BothDirectionsIsDeliveredOnce) {
  TestClient sub(port(), kMqtt311);
  ASSERT_EQ(sub.ConnectAs("s2").reason, Reason::kSuccess);
  sub.SubscribeTo("q2", 2);
  TestClient pub(port(), kMqtt311);
  ASSERT_EQ(pub.ConnectAs("p2").reason, Reason::kSuccess);
  Publish p{false, 2, false, "q2", 7, {}, "once"};
  pub.Send(p);
  EXPECT_EQ(pub.Expect<PubResponse>().type, PacketType::kPubrec);
  p.dup = true;
  pub.Send(p);  // resent before PUBREL: acknowledged again, not delivered again
  EXPECT_EQ(pub.Expect<PubResponse>().type, PacketType::kPubrec);
  pub.Send(PubResponse{PacketType::kPubrel, 7});
  EXPECT_EQ(pub.Expect<PubResponse>().type, PacketType::kPubcomp);
  const Publish got = sub.Expect<Publish>();
  EXPECT_EQ(got.qos, 2);
  sub.Send(PubResponse{PacketType::kPubrec, got.packet_id});
  const auto pubrel = sub.Expect<PubResponse>();
  EXPECT_EQ(pubrel.type, PacketType::kPubrel);
  sub.Send(PubResponse{PacketType::kPubcomp, got.packet_id});
  Packet extra;
  EXPECT_FALSE(sub.Read(&extra, 300)) << "delivered twice";
}

TEST_F(MqttBrokerTest, PersistentSessionResendsUnacknowledgedWithDup) {
  {
    TestClient sub(port(), kMqtt311);
    ASSERT_EQ(sub.ConnectAs("keeper", false).session_present, false);
    sub.SubscribeTo("k", 1);
    TestClient pub(port(), kMqtt311);
    ASSERT_EQ(pub.ConnectAs("kp").reason, Reason::kSuccess);
    pub.Send(Publish{false, 1, false, "k", 1, {}, "unacked"});
    const Publish got = sub.Expect<Publish>();
    EXPECT_FALSE(got.dup);
    pub.Send(Publish{false, 1, false, "k", 2, {}, "queued"});
    pub.Expect<PubResponse>();
    pub.Expect<PubResponse>();
    sub.Expect<Publish>();
  }  // both drop without DISCONNECT and without acknowledging
  TestClient again(port(), kMqtt311);
  EXPECT_TRUE(again.ConnectAs("keeper", false).session_present);
  const Publish first = again.Expect<Publish>();
  EXPECT_TRUE(first.dup);
  EXPECT_EQ(first.payload, "unacked");
  EXPECT_EQ(again.Expect<Publish>().payload, "queued");
}

TEST_F(MqttBrokerTest, V5MessageExpiryDropsQueuedMessagesAndRetainHandling) {
  Properties persistent;
  persistent.session_expiry_interval = 300;
  {
    TestClient sub(port());
    ASSERT_EQ(sub.ConnectAs("offline", true, persistent).reason, Reason::kSuccess);
    sub.SubscribeTo("exp/#", 1);
    sub.Send(Disconnect{});
    EXPECT_TRUE(sub.WaitClosed());
  }
  TestClient pub(port());
  ASSERT_EQ(pub.ConnectAs("exp-pub").reason, Reason::kSuccess);
  Publish short_lived{false, 1, false, "exp/short", 1, {}, "short"};
  short_lived.properties.message_expiry_interval = 1;
  Publish long_lived{false, 1, true, "exp/long", 2, {}, "long"};
  long_lived.properties.message_expiry_interval = 100;
  pub.Send(short_lived);
  pub.Send(long_lived);
  pub.Expect<PubResponse>();
  pub.Expect<PubResponse>();
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  TestClient back(port());
  EXPECT_TRUE(back.ConnectAs("offline", false, persistent).session_present);
  const Publish got = back.Expect<Publish>();
  EXPECT_EQ(got.payload, "long");  // the short one expired in the queue
  EXPECT_FALSE(got.retain);        // forwarded live: RETAIN cleared without Retain As Published
  EXPECT_LE(got.properties.message_expiry_interval.value_or(0), 98u);
  back.Send(PubResponse{PacketType::kPuback, got.packet_id});
  Packet packet;
  EXPECT_FALSE(back.Read(&packet, 300));

  // Retain Handling: 0 sends the retained message (RETAIN=1), 1 only for a new
  // subscription, 2 never.
  struct Step {
    uint8_t handling;
    const char* filter;
    bool sent;
  };
  for (const Step& step : {Step{0, "exp/long", true}, Step{1, "exp/long", false}, Step{1, "+/long", true},
                           Step{2, "exp/+", false}}) {
    SCOPED_TRACE(step.filter);
    Subscribe s;
    s.packet_id = 9;
    SubscribeOptions o;
    o.retain_handling = step.handling;
    s.filters.emplace_back(step.filter, o);
    back.Send(s);
    back.Expect<SubResponse>();
    Packet retained;
    ASSERT_EQ(back.Read(&retained, 300), step.sent) << "retain handling " << int(step.handling);
    if (step.sent) {
      const Publish& p = std::get<Publish>(retained);
      EXPECT_TRUE(p.retain);
      EXPECT_EQ(p.payload, "long");
    }
  }
}

TEST_F(MqttBrokerTest, V5TakeoverSessionExpiryAndWillDelay) {
  Properties expiring;
  expiring.session_expiry_interval = 1;
  TestClient watcher(port());
  ASSERT_EQ(watcher.ConnectAs("watcher").reason, Reason::kSuccess);
  watcher.SubscribeTo("wills/#", 0);

  Will will;
  will.topic = "wills/dev";
  will.payload = "gone";
  will.properties.will_delay_interval = 1;
  TestClient first(port());
  ASSERT_EQ(first.ConnectAs("dev", false, expiring, will).reason, Reason::kSuccess);
  TestClient second(port());
  const Connack resumed = second.ConnectAs("dev", false, expiring, will);
  EXPECT_TRUE(resumed.session_present);
  std::string rest;
  EXPECT_TRUE(first.WaitClosed(2000, &rest));
  EXPECT_EQ(rest, Bytes({0xE0, 0x02, 0x8E, 0x00}));  // Session taken over
  Packet packet;
  EXPECT_FALSE(watcher.Read(&packet, 300)) << "the will went out although the session continued";
  second.Close();  // network loss: the will follows after its delay (1 s) or at session expiry
  const Publish got = watcher.Expect<Publish>(3000);
  EXPECT_EQ(got.payload, "gone");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  TestClient third(port());
  EXPECT_FALSE(third.ConnectAs("dev", false, expiring).session_present) << "the session should have expired";
  EXPECT_EQ(broker_->stats().sessions_taken_over, 1u);
}

TEST_F(MqttBrokerTest, DisconnectWithWillReasonSendsTheWill) {
  TestClient watcher(port());
  ASSERT_EQ(watcher.ConnectAs("w").reason, Reason::kSuccess);
  watcher.SubscribeTo("status/#", 0);
  Will will;
  will.topic = "status/a";
  will.payload = "bye";
  TestClient normal(port());
  ASSERT_EQ(normal.ConnectAs("a", true, {}, will).reason, Reason::kSuccess);
  normal.Send(Disconnect{});
  EXPECT_TRUE(normal.WaitClosed());
  Packet packet;
  EXPECT_FALSE(watcher.Read(&packet, 300)) << "will sent on a normal DISCONNECT";
  TestClient asking(port());
  ASSERT_EQ(asking.ConnectAs("a", true, {}, will).reason, Reason::kSuccess);
  asking.Send(Disconnect{PacketType::kDisconnect, Reason::kDisconnectWithWill, {}});
  EXPECT_EQ(watcher.Expect<Publish>().payload, "bye");
}

// Hooks that refuse a user, deny topics, and hold PUBLISHes until released.
class TestHooks : public BrokerHooks {
 public:
  Reason Authenticate(const Connect& c, std::string_view, std::string* principal) override {
    if (c.username == std::string("mallory")) return Reason::kBadUserNameOrPassword;
    *principal = "device:" + c.client_id;
    return Reason::kSuccess;
  }
  bool AuthorizePublish(const ClientView& client, std::string_view topic) override {
    EXPECT_EQ(client.principal, "device:" + std::string(client.client_id));
    return topic.substr(0, 7) != "denied/";
  }
  bool AuthorizeSubscribe(const ClientView&, std::string_view filter) override { return filter != "secret/#"; }
  void OnPublish(const ClientView&, const Publish& p, std::function<void(Reason)> done) override {
    if (p.topic == "fail") return done(Reason::kImplementationSpecificError);
    std::lock_guard lock(mu_);
    held_.push_back(std::move(done));
    cv_.notify_all();
  }
  bool WaitHeld(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(3), [&] { return held_.size() >= n; });
  }
  size_t held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  // Completes the held PUBLISHes from another thread, last first.
  void ReleaseAll() {
    std::vector<std::function<void(Reason)>> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    std::thread([held = std::move(held)]() mutable {
      for (auto it = held.rbegin(); it != held.rend(); ++it) (*it)(Reason::kSuccess);
    }).join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void(Reason)>> held_;
};

TEST_F(MqttBrokerTest, HooksAuthenticateAuthorizeAndAckOnlyAfterOnPublish) {
  TestHooks hooks;
  BrokerOptions options;
  options.receive_maximum = 3;
  StartBroker(options, &hooks);

  TestClient bad(port());
  Connect c = ConnectPacket(kMqtt5, "m");
  c.username = "mallory";
  bad.Send(c);
  EXPECT_EQ(bad.Expect<Connack>().reason, Reason::kBadUserNameOrPassword);
  EXPECT_TRUE(bad.WaitClosed());

  TestClient sub(port());
  ASSERT_EQ(sub.ConnectAs("s").reason, Reason::kSuccess);
  Subscribe s;
  s.packet_id = 1;
  s.filters = {{"data/#", SubscribeOptions{1}}, {"secret/#", SubscribeOptions{1}}};
  sub.Send(s);
  EXPECT_EQ(sub.Expect<SubResponse>().reasons, (std::vector<Reason>{Reason::kGrantedQos1, Reason::kNotAuthorized}));

  TestClient pub(port());
  ASSERT_EQ(pub.ConnectAs("p").reason, Reason::kSuccess);
  pub.Send(Publish{false, 1, false, "denied/x", 1, {}, "no"});
  const auto denied = pub.Expect<PubResponse>();
  EXPECT_EQ(denied.reason, Reason::kNotAuthorized);
  pub.Send(Publish{false, 1, false, "fail", 2, {}, "no"});
  EXPECT_EQ(pub.Expect<PubResponse>().reason, Reason::kImplementationSpecificError);

  pub.Send(Publish{false, 1, false, "data/1", 3, {}, "one"});
  pub.Send(Publish{false, 2, false, "data/2", 4, {}, "two"});
  ASSERT_TRUE(hooks.WaitHeld(2));
  Packet packet;
  EXPECT_FALSE(pub.Read(&packet, 300)) << "acknowledged before OnPublish completed";
  EXPECT_FALSE(sub.Read(&packet, 10)) << "routed before OnPublish completed";
  hooks.ReleaseAll();  // completed in reverse order: still acknowledged and routed in order
  EXPECT_EQ(pub.Expect<PubResponse>().packet_id, 3);
  const auto pubrec = pub.Expect<PubResponse>();
  EXPECT_EQ(pubrec.type, PacketType::kPubrec);
  EXPECT_EQ(pubrec.packet_id, 4);
  EXPECT_EQ(sub.Expect<Publish>().payload, "one");
  EXPECT_EQ(sub.Expect<Publish>().payload, "two");

  // PUBREC 4 is not released yet: three more held PUBLISHes exceed Receive Maximum 3.
  for (uint16_t id = 10; id < 13; ++id) pub.Send(Publish{false, 1, false, "data/x", id, {}, "x"});
  std::string rest;
  EXPECT_TRUE(pub.WaitClosed(2000, &rest));
  EXPECT_EQ(rest, Bytes({0xE0, 0x02, 0x93, 0x00}));
  hooks.ReleaseAll();
  const BrokerStats stats = broker_->stats();
  EXPECT_EQ(stats.auth_failures, 1u);
  EXPECT_EQ(stats.publishes_denied, 1u);
  EXPECT_EQ(stats.subscribes_denied, 1u);
  EXPECT_EQ(stats.publishes_failed, 1u);
}

TEST_F(MqttBrokerTest, HooksDenialIn311IsAcknowledgedAndDropped) {
  TestHooks hooks;
  StartBroker({}, &hooks);
  TestClient sub(port(), kMqtt311);
  ASSERT_EQ(sub.ConnectAs("s").reason, Reason::kSuccess);
  Subscribe s;
  s.packet_id = 1;
  s.filters = {{"#", SubscribeOptions{1}}, {"secret/#", SubscribeOptions{1}}};
  sub.Send(s);
  EXPECT_EQ(sub.Expect<SubResponse>().reasons, (std::vector<Reason>{Reason::kGrantedQos1, Reason::kUnspecifiedError}));
  TestClient pub(port(), kMqtt311);
  ASSERT_EQ(pub.ConnectAs("p").reason, Reason::kSuccess);
  pub.Send(Publish{false, 1, false, "denied/x", 1, {}, "no"});
  const auto ack = pub.Expect<PubResponse>();
  EXPECT_EQ(ack.type, PacketType::kPuback);
  EXPECT_EQ(ack.packet_id, 1);
  Packet packet;
  EXPECT_FALSE(sub.Read(&packet, 300));
}

TEST_F(MqttBrokerTest, V311PublishersAreNotReadWhileOnPublishIsBehind) {
  TestHooks hooks;
  BrokerOptions options;
  options.receive_maximum = 3;
  StartBroker(options, &hooks);
  TestClient pub(port(), kMqtt311);
  ASSERT_EQ(pub.ConnectAs("p").reason, Reason::kSuccess);
  for (uint16_t id = 1; id <= 5; ++id) {
    pub.Send(Publish{false, 1, false, "data/x", id, {}, "x"});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // separate reads
  }
  ASSERT_TRUE(hooks.WaitHeld(3));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(hooks.held(), 3u) << "read on although three PUBLISHes await OnPublish";
  hooks.ReleaseAll();
  ASSERT_TRUE(hooks.WaitHeld(2));
  hooks.ReleaseAll();
  for (uint16_t id = 1; id <= 5; ++id) EXPECT_EQ(pub.Expect<PubResponse>().packet_id, id);
}

TEST_F(MqttBrokerTest, A5QoS0FloodIsNotReadWhileOnPublishIsBehind) {
  // Receive Maximum does not cover QoS 0: without back-pressure these would queue unbounded.
  TestHooks hooks;
  BrokerOptions options;
  options.receive_maximum = 3;
  StartBroker(options, &hooks);
  TestClient pub(port(), kMqtt5);
  ASSERT_EQ(pub.ConnectAs("flood").reason, Reason::kSuccess);
  for (int i = 0; i < 5; ++i) {
    pub.Send(Publish{false, 0, false, "data/x", 0, {}, "x"});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // separate reads
  }
  ASSERT_TRUE(hooks.WaitHeld(3));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(hooks.held(), 3u) << "read on although three PUBLISHes await OnPublish";
  hooks.ReleaseAll();
  ASSERT_TRUE(hooks.WaitHeld(2));
  hooks.ReleaseAll();
}

TEST_F(MqttBrokerTest, SlowConsumerIsDisconnectedWithQuotaExceeded) {
  BrokerOptions options;
  options.max_bytes_queued = 64 * 1024;
  StartBroker(options);
  TestClient slow(port());
  const int small = 4096;
  ASSERT_EQ(setsockopt(slow.fd_for_test(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  ASSERT_EQ(slow.ConnectAs("slow").reason, Reason::kSuccess);
  slow.SubscribeTo("flood", 0);
  TestClient pub(port());
  ASSERT_EQ(pub.ConnectAs("flooder").reason, Reason::kSuccess);
  const std::string payload(16 * 1024, 'x');
  for (int i = 0; i < 2000 && broker_->stats().slow_consumers == 0; ++i) {
    pub.Send(Publish{false, 0, false, "flood", 0, {}, payload});
    if (i % 50 == 49) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (int i = 0; i < 100 && broker_->stats().slow_consumers == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(broker_->stats().slow_consumers, 1u);
  pub.Send(Ping{PacketType::kPingreq});
  EXPECT_EQ(pub.Expect<Ping>().type, PacketType::kPingresp);  // the publisher is unaffected
}

}  // namespace
}  // namespace shopfloor::connect::mqtt
