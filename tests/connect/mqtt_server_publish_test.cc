// Broker::Publish: a message of the server's own (the MQTT bridge, later Sparkplug and
// device commands) reaches matching local subscribers like a client's PUBLISH, is stored as
// the retained message when asked, and a bad topic or QoS is refused by name.
#include <gtest/gtest.h>

#include "connect/mqtt/broker.h"
#include "mqtt_test_client.h"

namespace shopfloor::connect::mqtt {
namespace {

using testing::TestClient;

TEST(BrokerPublish, RoutesToSubscribersAndKeepsRetained) {
  BrokerOptions options;
  options.port = 0;
  Broker broker(options);
  ASSERT_TRUE(broker.Start().ok());
  TestClient sub(broker.port());
  ASSERT_EQ(sub.ConnectAs("sub").reason, Reason::kSuccess);
  sub.SubscribeTo("acme/#", 1);

  ASSERT_TRUE(broker.Publish("acme/north/m1/temp", "21.5", 1, false).ok());
  Publish got = sub.Expect<Publish>();
  EXPECT_EQ(got.topic, "acme/north/m1/temp");
  EXPECT_EQ(got.payload, "21.5");
  EXPECT_EQ(got.qos, 1);
  sub.Send(PubResponse{PacketType::kPuback, got.packet_id});
  ASSERT_TRUE(broker.Publish("other/topic", "x", 0, false).ok());  // no subscriber: nothing arrives

  ASSERT_TRUE(broker.Publish("acme/state", "ONLINE", 0, true).ok());
  EXPECT_EQ(sub.Expect<Publish>().payload, "ONLINE");
  TestClient late(broker.port());
  ASSERT_EQ(late.ConnectAs("late").reason, Reason::kSuccess);
  late.SubscribeTo("acme/state", 0);
  Publish retained = late.Expect<Publish>();
  EXPECT_EQ(retained.payload, "ONLINE");
  EXPECT_TRUE(retained.retain);

  core::Status bad = broker.Publish("acme/+/x", "1", 0, false);
  EXPECT_TRUE(bad.IsInvalidArgument());
  EXPECT_NE(bad.message().find("acme/+/x"), std::string::npos) << bad.ToString();
  EXPECT_TRUE(broker.Publish("", "1", 0, false).IsInvalidArgument());
  EXPECT_TRUE(broker.Publish("a", "1", 3, false).IsInvalidArgument());
  broker.Stop();
  EXPECT_EQ(broker.Publish("acme/x", "1", 0, false).code(), core::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace shopfloor::connect::mqtt
