// Sparkplug B topics and payloads: every scalar datatype through encode and decode, the
// fields other implementations use, wrong fields and out-of-range values refused, topics.
#include "connect/sparkplug/payload.h"

#include <gtest/gtest.h>

#include "sparkplug/sparkplug_b.pb.h"

namespace shopfloor::connect::sparkplug {
namespace {

Metric Make(std::string name, DataType type, core::Value value) {
  Metric m;
  m.name = std::move(name);
  m.datatype = type;
  m.value = std::move(value);
  return m;
}

TEST(SparkplugPayloadTest, EveryScalarDatatypeRoundTrips) {
  Payload p;
  p.timestamp = 1700000000123;
  p.seq = 7;
  p.uuid = "u-1";
  p.metrics = {
      Make("i8", DataType::kInt8, int64_t{-128}),      Make("i16", DataType::kInt16, int64_t{-32768}),
      Make("i32", DataType::kInt32, int64_t{-2147483648LL}), Make("i64", DataType::kInt64, int64_t{-9000000000000LL}),
      Make("u8", DataType::kUInt8, int64_t{255}),      Make("u16", DataType::kUInt16, int64_t{65535}),
      Make("u32", DataType::kUInt32, int64_t{4294967295LL}), Make("u64", DataType::kUInt64, int64_t{9000000000000LL}),
      Make("f", DataType::kFloat, 1.5),                Make("d", DataType::kDouble, -2.25),
      Make("b", DataType::kBoolean, true),             Make("s", DataType::kString, "text"),
      Make("t", DataType::kDateTime, int64_t{1700000000000LL}), Make("x", DataType::kText, "long text"),
      Make("id", DataType::kUuid, "0f8fad5b-d9cb-469f-a165-70867728950e"),
  };
  auto decoded = DecodePayload(EncodePayload(p));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->timestamp, p.timestamp);
  EXPECT_EQ(decoded->seq, p.seq);
  EXPECT_EQ(decoded->uuid, "u-1");
  ASSERT_EQ(decoded->metrics.size(), p.metrics.size());
  for (size_t i = 0; i < p.metrics.size(); ++i) {
    SCOPED_TRACE(*p.metrics[i].name);
    EXPECT_EQ(decoded->metrics[i].name, p.metrics[i].name);
    EXPECT_EQ(decoded->metrics[i].datatype, p.metrics[i].datatype);
    EXPECT_TRUE(decoded->metrics[i].supported);
    ASSERT_TRUE(decoded->metrics[i].value.has_value());
    EXPECT_EQ(*decoded->metrics[i].value, *p.metrics[i].value);
    EXPECT_EQ(ValueTypeOf(p.metrics[i].datatype), decoded->metrics[i].value->type());
  }
}

TEST(SparkplugPayloadTest, IntegersAreAcceptedFromEitherFieldAndRangeChecked) {
  pb::Payload pp;
  auto* a = pp.add_metrics();  // UInt32 in long_value, as Eclipse Tahu sends it
  a->set_name("a");
  a->set_datatype(7);
  a->set_long_value(4000000000u);
  auto* b = pp.add_metrics();  // Int16 in int_value, two's complement
  b->set_name("b");
  b->set_datatype(2);
  b->set_int_value(static_cast<uint32_t>(-1234));
  auto ok = DecodePayload(pp.SerializeAsString());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok->metrics[0].value, core::Value(int64_t{4000000000}));
  EXPECT_EQ(*ok->metrics[1].value, core::Value(int64_t{-1234}));

  pb::Payload big;
  auto* c = big.add_metrics();
  c->set_name("c");
  c->set_datatype(6);  // UInt16
  c->set_int_value(70000);
  auto refused = DecodePayload(big.SerializeAsString());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("out of range for UInt16"), std::string::npos) << refused.status().ToString();

  pb::Payload huge;
  auto* d = huge.add_metrics();
  d->set_name("d");
  d->set_datatype(8);  // UInt64 beyond int64
  d->set_long_value(~uint64_t{0});
  EXPECT_FALSE(DecodePayload(huge.SerializeAsString()).ok());
}

TEST(SparkplugPayloadTest, ValueInTheWrongFieldIsRefusedNamingTheMetric) {
  pb::Payload pp;
  auto* m = pp.add_metrics();
  m->set_name("Temp");
  m->set_datatype(10);  // Double
  m->set_string_value("21.5");
  auto r = DecodePayload(pp.SerializeAsString());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("metric \"Temp\": datatype Double carried in string_value"), std::string::npos)
      << r.status().ToString();
}

TEST(SparkplugPayloadTest, NonScalarNullAndPropertiesAreDecoded) {
  pb::Payload pp;
  auto* ds = pp.add_metrics();
  ds->set_name("Table");
  ds->set_datatype(16);  // DataSet
  ds->mutable_dataset_value()->set_num_of_columns(1);
  auto* n = pp.add_metrics();
  n->set_name("Missing");
  n->set_datatype(10);
  n->set_is_null(true);
  auto* q = pp.add_metrics();
  q->set_name("Level");
  q->set_alias(5);
  q->set_datatype(9);
  q->set_float_value(2.5f);
  auto* props = q->mutable_properties();
  props->add_keys("engUnit");
  props->add_values()->set_string_value("m");
  props->add_keys("Quality");
  props->add_values()->set_int_value(500);
  auto r = DecodePayload(pp.SerializeAsString());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->metrics[0].supported);
  EXPECT_FALSE(r->metrics[0].value.has_value());
  EXPECT_TRUE(r->metrics[1].is_null);
  EXPECT_FALSE(r->metrics[1].value.has_value());
  EXPECT_EQ(r->metrics[2].alias, 5u);
  EXPECT_EQ(r->metrics[2].unit, "m");
  EXPECT_EQ(r->metrics[2].quality, 500);
  EXPECT_EQ(*r->metrics[2].value, core::Value(2.5));
}

TEST(SparkplugPayloadTest, GarbageIsNotAPayload) {
  EXPECT_FALSE(DecodePayload(std::string("\xff\xff\xff\xff\x0f", 5)).ok());
  EXPECT_TRUE(DecodePayload("").ok());  // an empty protobuf message is a valid, empty payload
}

TEST(SparkplugTopicTest, ParsesAndFormatsEveryMessageType) {
  auto d = ParseTopic("spBv1.0/plant/DDATA/edge-1/filler");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->type, MessageType::kDData);
  EXPECT_EQ(d->group_id, "plant");
  EXPECT_EQ(d->edge_node_id, "edge-1");
  EXPECT_EQ(d->device_id, "filler");
  EXPECT_EQ(FormatTopic(*d), "spBv1.0/plant/DDATA/edge-1/filler");
  auto n = ParseTopic("spBv1.0/plant/NBIRTH/edge-1");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->type, MessageType::kNBirth);
  EXPECT_TRUE(n->device_id.empty());
  auto s = ParseTopic("spBv1.0/STATE/scada");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->type, MessageType::kState);
  EXPECT_EQ(s->host_id, "scada");
  for (auto type : {"NBIRTH", "NDEATH", "NDATA", "NCMD"}) {
    EXPECT_TRUE(ParseTopic(std::string("spBv1.0/g/") + type + "/e").ok()) << type;
  }
  for (auto type : {"DBIRTH", "DDEATH", "DDATA", "DCMD"}) {
    EXPECT_TRUE(ParseTopic(std::string("spBv1.0/g/") + type + "/e/d").ok()) << type;
  }
}

TEST(SparkplugTopicTest, MalformedTopicsSayWhy) {
  auto expect = [](const char* topic, const char* why) {
    auto r = ParseTopic(topic);
    ASSERT_FALSE(r.ok()) << topic;
    EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().ToString();
  };
  expect("spAv1.0/g/NDATA/e", "is not a Sparkplug B topic");
  expect("spBv1.0/g/NFOO/e", "unknown message type \"NFOO\"");
  expect("spBv1.0/g/DDATA/e", "a DDATA topic has 5 levels, not 4");
  expect("spBv1.0/g/NDATA/e/d", "a NDATA topic has 4 levels, not 5");
  expect("spBv1.0//NDATA/e", "empty topic level");
  expect("spBv1.0/g", "expected spBv1.0/<group>");
}

TEST(SparkplugPayloadTest, StatePayloadIsTheSparkplug3Json) {
  EXPECT_EQ(StatePayload(true, 1700000000000), R"({"online":true,"timestamp":1700000000000})");
  EXPECT_EQ(StatePayload(false, 5), R"({"online":false,"timestamp":5})");
}

}  // namespace
}  // namespace shopfloor::connect::sparkplug
