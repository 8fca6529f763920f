// The MQTT codec: golden bytes, every packet round-tripped in 3.1.1 and 5.0, a table of
// malformed packets each refused with the reason the specification gives, framing of many
// packets per read, and topic validation and matching (4.7).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "connect/mqtt/codec.h"

namespace shopfloor::connect::mqtt {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

// Frames and decodes exactly one packet.
bool DecodeOne(const std::string& bytes, uint8_t version, Packet* packet, CodecError* error,
               uint32_t max_packet_size = 0) {
  Frame frame;
  FrameStatus status = NextFrame(bytes, max_packet_size, &frame, error);
  if (status == FrameStatus::kError) return false;
  EXPECT_EQ(status, FrameStatus::kFrame);
  EXPECT_EQ(frame.size, bytes.size());
  return status == FrameStatus::kFrame && Decode(frame, version, packet, error);
}

void ExpectRoundTrip(const Packet& packet, uint8_t version) {
  std::string bytes;
  Encode(packet, version, &bytes);
  Packet back;
  CodecError error;
  ASSERT_TRUE(DecodeOne(bytes, version, &back, &error)) << PacketTypeName(TypeOf(packet)) << " v" << int(version)
                                                        << ": " << error.message;
  EXPECT_EQ(back, packet) << PacketTypeName(TypeOf(packet)) << " v" << int(version);
}

TEST(MqttCodec, GoldenConnect311) {
  // CONNECT, MQTT 3.1.1, clean session, keep alive 60, client "abc".
  const std::string bytes = Bytes({0x10, 0x0F, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x03, 'a', 'b', 'c'});
  Packet packet;
  CodecError error;
  ASSERT_TRUE(DecodeOne(bytes, kMqtt311, &packet, &error)) << error.message;
  const auto& c = std::get<Connect>(packet);
  EXPECT_EQ(c.protocol_level, kMqtt311);
  EXPECT_TRUE(c.clean_start);
  EXPECT_EQ(c.keep_alive, 60);
  EXPECT_EQ(c.client_id, "abc");
  EXPECT_FALSE(c.will || c.username || c.password);
  std::string again;
  Encode(packet, kMqtt311, &again);
  EXPECT_EQ(again, bytes);
}

TEST(MqttCodec, GoldenPublishAndAcks) {
  Publish p;
  p.qos = 1;
  p.packet_id = 10;
  p.topic = "a/b";
  p.payload = "hi";
  std::string bytes;
  Encode(p, kMqtt311, &bytes);
  EXPECT_EQ(bytes, Bytes({0x32, 0x09, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A, 'h', 'i'}));
  bytes.clear();
  Encode(p, kMqtt5, &bytes);  // an empty property block
  EXPECT_EQ(bytes, Bytes({0x32, 0x0A, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A, 0x00, 'h', 'i'}));
  bytes.clear();
  Encode(PubResponse{PacketType::kPubrel, 10}, kMqtt5, &bytes);  // success, no properties: short form
  EXPECT_EQ(bytes, Bytes({0x62, 0x02, 0x00, 0x0A}));
  bytes.clear();
  Encode(Ping{PacketType::kPingresp}, kMqtt311, &bytes);
  EXPECT_EQ(bytes, Bytes({0xD0, 0x00}));
}

TEST(MqttCodec, EveryPacketRoundTripsInBothVersions) {
  Properties rich;
  rich.user_properties = {{"site", "plant-1"}, {"site", "again"}};
  rich.reason_string = "because";

  Connect c;
  c.client_id = "press-7";
  c.keep_alive = 30;
  c.clean_start = false;
  c.username = "operator";
  c.password = std::string("p\0ss", 4);
  c.will = Will{"plant/press-7/state", "offline", 1, true, {}};
  for (uint8_t v : {kMqtt311, kMqtt5}) {
    c.protocol_level = v;
    if (v == kMqtt5) {
      c.properties.session_expiry_interval = 3600;
      c.properties.receive_maximum = 20;
      c.properties.maximum_packet_size = 1 << 20;
      c.properties.topic_alias_maximum = 10;
      c.will->properties.will_delay_interval = 5;
      c.will->properties.message_expiry_interval = 60;
    }
    ExpectRoundTrip(c, v);

    Connack ack{true, Reason::kSuccess, {}};
    if (v == kMqtt5) {
      ack.properties.assigned_client_identifier = "auto-1";
      ack.properties.server_keep_alive = 60;
      ack.properties.maximum_qos = 1;
      ack.properties.retain_available = 1;
      ack.properties.topic_alias_maximum = 16;
    }
    ExpectRoundTrip(ack, v);
    ExpectRoundTrip(Connack{false, Reason::kBadUserNameOrPassword, {}}, v);

    Publish p{false, 2, true, "plant/line-1/filler/temp", 65535, {}, std::string("\x00\xFF{\"v\":1}", 9)};
    if (v == kMqtt5) {
      p.properties.message_expiry_interval = 10;
      p.properties.content_type = "application/json";
      p.properties.response_topic = "reply/here";
      p.properties.correlation_data = std::string("\x01\x02", 2);
      p.properties.subscription_identifiers = {1, 200000};
      p.properties.topic_alias = 3;
      p.properties.user_properties = rich.user_properties;
    }
    ExpectRoundTrip(p, v);
    ExpectRoundTrip(Publish{false, 0, false, "t", 0, {}, ""}, v);

    for (PacketType t : {PacketType::kPuback, PacketType::kPubrec, PacketType::kPubrel, PacketType::kPubcomp}) {
      ExpectRoundTrip(PubResponse{t, 7, Reason::kSuccess, {}}, v);
      if (v == kMqtt5) {
        ExpectRoundTrip(PubResponse{t, 7, Reason::kNoMatchingSubscribers, {}}, v);
        ExpectRoundTrip(PubResponse{t, 7, Reason::kQuotaExceeded, rich}, v);
      }
    }

    Subscribe s;
    s.packet_id = 3;
    s.filters = {{"plant/+/temp", {1, false, false, 0}}, {"plant/#", {2, false, false, 0}}};
    if (v == kMqtt5) {
      s.filters[0].second = {1, true, true, 2};
      s.properties.subscription_identifiers = {42};
    }
    ExpectRoundTrip(s, v);
    ExpectRoundTrip(SubResponse{PacketType::kSuback, 3, {}, {Reason::kGrantedQos1, Reason::kSuccess}}, v);
    ExpectRoundTrip(Unsubscribe{4, {}, {"plant/#", "a/b"}}, v);
    ExpectRoundTrip(SubResponse{PacketType::kUnsuback, 4, {}, v == kMqtt5 ? std::vector<Reason>{Reason::kSuccess, Reason::kNoSubscriptionExisted} : std::vector<Reason>{}}, v);
    ExpectRoundTrip(Ping{PacketType::kPingreq}, v);
    ExpectRoundTrip(Ping{PacketType::kPingresp}, v);
    ExpectRoundTrip(Disconnect{PacketType::kDisconnect, Reason::kSuccess, {}}, v);
    if (v == kMqtt5) {
      Properties d;
      d.session_expiry_interval = 0;
      d.reason_string = "bye";
      ExpectRoundTrip(Disconnect{PacketType::kDisconnect, Reason::kDisconnectWithWill, d}, v);
      ExpectRoundTrip(Disconnect{PacketType::kAuth, Reason::kSuccess, {}}, v);
    }
  }
}

TEST(MqttCodec, SubackFailureIs0x80In311) {
  std::string bytes;
  Encode(SubResponse{PacketType::kSuback, 1, {}, {Reason::kGrantedQos2, Reason::kNotAuthorized}}, kMqtt311, &bytes);
  EXPECT_EQ(bytes, Bytes({0x90, 0x04, 0x00, 0x01, 0x02, 0x80}));
}

struct MalformedCase {
  const char* name;
  std::string bytes;
  uint8_t version;
  Reason reason;
};

TEST(MqttCodec, MalformedPacketsAreRefusedWithTheRightReason) {
  const std::string connect_head = Bytes({0x00, 0x04, 'M', 'Q', 'T', 'T'});
  const std::vector<MalformedCase> cases = {
      {"remaining length of 5 bytes", Bytes({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}), kMqtt311, Reason::kMalformedPacket},
      {"protocol level 3", Bytes({0x10, 0x0C}) + connect_head + Bytes({0x03, 0x02, 0x00, 0x3C, 0x00, 0x00}), kMqtt311,
       Reason::kUnsupportedProtocolVersion},
      {"protocol level 6", Bytes({0x10, 0x0C}) + connect_head + Bytes({0x06, 0x02, 0x00, 0x3C, 0x00, 0x00}), kMqtt311,
       Reason::kUnsupportedProtocolVersion},
      {"protocol name MQTX", Bytes({0x10, 0x0C, 0x00, 0x04, 'M', 'Q', 'T', 'X', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x00}),
       kMqtt311, Reason::kUnsupportedProtocolVersion},
      {"CONNECT reserved flag", Bytes({0x10, 0x0C}) + connect_head + Bytes({0x04, 0x03, 0x00, 0x3C, 0x00, 0x00}),
       kMqtt311, Reason::kMalformedPacket},
      {"CONNECT fixed header flags", Bytes({0x11, 0x0C}) + connect_head + Bytes({0x04, 0x02, 0x00, 0x3C, 0x00, 0x00}),
       kMqtt311, Reason::kMalformedPacket},
      {"will QoS without will", Bytes({0x10, 0x0C}) + connect_head + Bytes({0x04, 0x0A, 0x00, 0x3C, 0x00, 0x00}),
       kMqtt311, Reason::kMalformedPacket},
      {"password without user (3.1.1)", Bytes({0x10, 0x0E}) + connect_head + Bytes({0x04, 0x42, 0x00, 0x3C, 0x00, 0x00, 0x00, 0x00}),
       kMqtt311, Reason::kMalformedPacket},
      {"client id with U+0000", Bytes({0x10, 0x0D}) + connect_head + Bytes({0x04, 0x02, 0x00, 0x3C, 0x00, 0x01, 0x00}),
       kMqtt311, Reason::kMalformedPacket},
      {"trailing bytes after CONNECT", Bytes({0x10, 0x0D}) + connect_head + Bytes({0x04, 0x02, 0x00, 0x3C, 0x00, 0x00, 0x00}),
       kMqtt311, Reason::kMalformedPacket},
      {"topic with an overlong '/'", Bytes({0x30, 0x05, 0x00, 0x03, 'a', 0xC0, 0xAF}), kMqtt311, Reason::kMalformedPacket},
      {"topic with a surrogate", Bytes({0x30, 0x05, 0x00, 0x03, 0xED, 0xA0, 0x80}), kMqtt311, Reason::kMalformedPacket},
      {"topic cut inside a character", Bytes({0x30, 0x04, 0x00, 0x02, 'a', 0xE2}), kMqtt311, Reason::kMalformedPacket},
      {"topic longer than the packet", Bytes({0x30, 0x04, 0x00, 0x09, 'a', 'b'}), kMqtt311, Reason::kMalformedPacket},
      {"wildcard in a topic name", Bytes({0x30, 0x05, 0x00, 0x03, 'a', '/', '#'}), kMqtt311, Reason::kTopicNameInvalid},
      {"empty topic (3.1.1)", Bytes({0x30, 0x02, 0x00, 0x00}), kMqtt311, Reason::kTopicNameInvalid},
      {"empty topic without alias (5)", Bytes({0x30, 0x03, 0x00, 0x00, 0x00}), kMqtt5, Reason::kProtocolError},
      {"PUBLISH QoS 3", Bytes({0x36, 0x05, 0x00, 0x01, 'a', 0x00, 0x01}), kMqtt311, Reason::kMalformedPacket},
      {"DUP on QoS 0", Bytes({0x38, 0x03, 0x00, 0x01, 'a'}), kMqtt311, Reason::kMalformedPacket},
      {"PUBLISH packet id 0", Bytes({0x32, 0x05, 0x00, 0x01, 'a', 0x00, 0x00}), kMqtt311, Reason::kMalformedPacket},
      {"property not allowed in PUBLISH", Bytes({0x30, 0x06, 0x00, 0x01, 'a', 0x02, 0x24, 0x01}), kMqtt5, Reason::kProtocolError},
      {"property twice", Bytes({0x30, 0x0A, 0x00, 0x01, 'a', 0x06, 0x23, 0x00, 0x01, 0x23, 0x00, 0x02}), kMqtt5,
       Reason::kProtocolError},
      {"unknown property", Bytes({0x30, 0x05, 0x00, 0x01, 'a', 0x01, 0x7F}), kMqtt5, Reason::kMalformedPacket},
      {"property block past the packet", Bytes({0x30, 0x05, 0x00, 0x01, 'a', 0x09, 0x01}), kMqtt5, Reason::kMalformedPacket},
      {"topic alias 0", Bytes({0x30, 0x07, 0x00, 0x01, 'a', 0x03, 0x23, 0x00, 0x00}), kMqtt5, Reason::kProtocolError},
      {"payload marked UTF-8 but is not", Bytes({0x30, 0x07, 0x00, 0x01, 'a', 0x02, 0x01, 0x01, 0xFF}), kMqtt5,
       Reason::kPayloadFormatInvalid},
      {"SUBSCRIBE fixed header flags 0", Bytes({0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00}), kMqtt311,
       Reason::kMalformedPacket},
      {"SUBSCRIBE without filters", Bytes({0x82, 0x02, 0x00, 0x01}), kMqtt311, Reason::kProtocolError},
      {"SUBSCRIBE reserved option bits (3.1.1)", Bytes({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x04}), kMqtt311,
       Reason::kMalformedPacket},
      {"SUBSCRIBE reserved option bits (5)", Bytes({0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x40}), kMqtt5,
       Reason::kMalformedPacket},
      {"SUBSCRIBE QoS 3", Bytes({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x03}), kMqtt311, Reason::kMalformedPacket},
      {"SUBSCRIBE retain handling 3", Bytes({0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x30}), kMqtt5,
       Reason::kProtocolError},
      {"SUBSCRIBE packet id 0", Bytes({0x82, 0x06, 0x00, 0x00, 0x00, 0x01, 'a', 0x00}), kMqtt311, Reason::kMalformedPacket},
      {"UNSUBSCRIBE without filters", Bytes({0xA2, 0x02, 0x00, 0x01}), kMqtt311, Reason::kProtocolError},
      {"PUBREL flags 0", Bytes({0x60, 0x02, 0x00, 0x01}), kMqtt311, Reason::kMalformedPacket},
      {"PUBACK with a body in 3.1.1", Bytes({0x40, 0x03, 0x00, 0x01, 0x00}), kMqtt311, Reason::kMalformedPacket},
      {"PINGREQ with a body", Bytes({0xC0, 0x01, 0x00}), kMqtt311, Reason::kMalformedPacket},
      {"AUTH in 3.1.1", Bytes({0xF0, 0x00}), kMqtt311, Reason::kProtocolError},
      {"reserved packet type 0", Bytes({0x00, 0x00}), kMqtt311, Reason::kMalformedPacket},
  };
  for (const auto& c : cases) {
    Packet packet;
    CodecError error;
    EXPECT_FALSE(DecodeOne(c.bytes, c.version, &packet, &error)) << c.name;
    EXPECT_EQ(error.reason, c.reason) << c.name << ": " << error.message;
    EXPECT_FALSE(error.message.empty()) << c.name;
  }
}

TEST(MqttCodec, OversizedPacketsAreRefusedBeforeTheyArrive) {
  // Only the fixed header is needed to refuse a 1 MB PUBLISH against a 64 KiB limit.
  const std::string head = Bytes({0x30, 0x80, 0x80, 0x40});  // remaining length 1,048,576
  Frame frame;
  CodecError error;
  EXPECT_EQ(NextFrame(head, 65536, &frame, &error), FrameStatus::kError);
  EXPECT_EQ(error.reason, Reason::kPacketTooLarge);
  EXPECT_NE(error.message.find("PUBLISH"), std::string::npos);
  EXPECT_EQ(NextFrame(head, 0, &frame, &error), FrameStatus::kNeedMore);
}

TEST(MqttCodec, ManyPacketsPerReadAndPartialOnes) {
  std::string stream;
  for (int i = 1; i <= 50; ++i) {
    Encode(Publish{false, 1, false, "plant/t" + std::to_string(i), static_cast<uint16_t>(i), {}, std::string(i, 'x')},
           kMqtt311, &stream);
  }
  for (size_t cut : {size_t{0}, size_t{1}, stream.size() / 2, stream.size() - 1, stream.size()}) {
    std::string_view view(stream.data(), cut);
    int packets = 0;
    Frame frame;
    CodecError error;
    while (NextFrame(view, 0, &frame, &error) == FrameStatus::kFrame) {
      Packet packet;
      ASSERT_TRUE(Decode(frame, kMqtt311, &packet, &error)) << error.message;
      EXPECT_EQ(std::get<Publish>(packet).packet_id, packets + 1);
      ++packets;
      view.remove_prefix(frame.size);
    }
    if (cut == stream.size()) {
      EXPECT_EQ(packets, 50);
      EXPECT_TRUE(view.empty());
    } else {
      EXPECT_LT(packets, 50);
    }
  }
}

TEST(MqttCodec, EncodedSizeMatchesEncode) {
  Publish p{false, 1, false, "a/b", 9, {}, std::string(300, 'p')};
  p.properties.user_properties = {{"k", "v"}};
  for (uint8_t v : {kMqtt311, kMqtt5}) {
    std::string bytes;
    Encode(p, v, &bytes);
    EXPECT_EQ(EncodedSize(p, v), bytes.size());
  }
}

TEST(MqttTopics, ValidationFollowsTheSpecification) {
  for (const char* ok : {"a", "a/b", "/", "a//b", "plant/line 1/temp", "€/ü", "$SYS/x"}) {
    EXPECT_TRUE(ValidTopicName(ok)) << ok;
    EXPECT_TRUE(ValidTopicFilter(ok)) << ok;
  }
  for (const char* bad : {"", "a/+", "a/#", "+"}) EXPECT_FALSE(ValidTopicName(bad)) << bad;
  for (const char* ok : {"#", "+", "+/+", "a/+/c", "a/#", "/#", "+/#"}) EXPECT_TRUE(ValidTopicFilter(ok)) << ok;
  for (const char* bad : {"", "a#", "a/#/c", "a+/b", "a/b+", "##", "#/"}) EXPECT_FALSE(ValidTopicFilter(bad)) << bad;
  EXPECT_FALSE(ValidTopicName(std::string("a\0b", 3)));
}

TEST(MqttTopics, MatchingFollowsTheSpecificationExamples) {
  struct Case {
    const char* filter;
    const char* topic;
    bool match;
  };
  const Case cases[] = {
      {"sport/tennis/player1/#", "sport/tennis/player1", true},
      {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
      {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
      {"sport/#", "sport", true},
      {"#", "sport/tennis", true},
      {"sport/tennis/+", "sport/tennis/player1", true},
      {"sport/tennis/+", "sport/tennis/player1/ranking", false},
      {"sport/+", "sport", false},
      {"sport/+", "sport/", true},
      {"+/+", "/finance", true},
      {"/+", "/finance", true},
      {"+", "/finance", false},
      {"+", "finance", true},
      {"#", "$SYS/uptime", false},
      {"+/monitor/Clients", "$SYS/monitor/Clients", false},
      {"$SYS/#", "$SYS/monitor/Clients", true},
      {"$SYS/monitor/+", "$SYS/monitor/Clients", true},
      {"a/b", "a/b", true},
      {"a/b", "a/b/c", false},
      {"a/b/c", "a/b", false},
      {"a/+/c", "a//c", true},
      {"A/b", "a/b", false},
  };
  for (const auto& c : cases) EXPECT_EQ(TopicMatches(c.filter, c.topic), c.match) << c.filter << " ~ " << c.topic;
}

TEST(MqttTopics, Utf8Rules) {
  EXPECT_TRUE(ValidUtf8("plain"));
  EXPECT_TRUE(ValidUtf8("\xC3\xBC\xE2\x82\xAC\xF0\x9F\x98\x80"));  // ü € 😀
  EXPECT_FALSE(ValidUtf8(std::string("\0", 1)));
  EXPECT_FALSE(ValidUtf8("\xC0\x80"));          // overlong U+0000
  EXPECT_FALSE(ValidUtf8("\xE0\x80\xAF"));      // overlong '/'
  EXPECT_FALSE(ValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(ValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(ValidUtf8("\x80"));
  EXPECT_FALSE(ValidUtf8("\xE2\x82"));          // cut short
}

}  // namespace
}  // namespace shopfloor::connect::mqtt
