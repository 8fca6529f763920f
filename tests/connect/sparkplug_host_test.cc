// The Sparkplug host state machine with a simulated clock: births and aliases, sequence
// checks, rebirth requests and their rate limit, deaths of the current and of an earlier
// session, timestamps and quality.
#include "connect/sparkplug/host.h"

#include <gtest/gtest.h>

namespace shopfloor::connect::sparkplug {
namespace {

constexpr core::Timestamp kT0 = 1'700'000'000'000 * core::kMillisecond;

Metric M(std::string name, std::optional<uint64_t> alias, DataType type, core::Value value) {
  Metric m;
  m.name = std::move(name);
  m.alias = alias;
  m.datatype = type;
  m.value = std::move(value);
  return m;
}
Metric ByAlias(uint64_t alias, DataType type, core::Value value) {
  Metric m;
  m.alias = alias;
  m.datatype = type;
  m.value = std::move(value);
  return m;
}
Topic T(MessageType type, std::string device = "") {
  return Topic{type, "g", "e1", std::move(device), ""};
}
Payload P(uint64_t seq, std::vector<Metric> metrics) {
  Payload p;
  p.seq = seq;
  p.metrics = std::move(metrics);
  return p;
}

class HostTest : public ::testing::Test {
 protected:
  HostResult NBirth(uint64_t bd_seq = 3) {
    return host_.Handle(T(MessageType::kNBirth),
                        P(0, {M("bdSeq", std::nullopt, DataType::kInt64, int64_t(bd_seq)),
                              M("Node Control/Rebirth", std::nullopt, DataType::kBoolean, false),
                              M("Voltage", 1, DataType::kFloat, 24.0)}),
                        now_);
  }
  HostResult DBirth(uint64_t seq) {
    return host_.Handle(T(MessageType::kDBirth, "d1"),
                        P(seq, {M("Temp", 10, DataType::kDouble, 20.5), M("Count", 11, DataType::kUInt32, int64_t{7})}),
                        now_);
  }
  Host host_;
  core::Timestamp now_ = kT0;
};

TEST_F(HostTest, BirthsDeclareMetricsAndCurrentValuesWithoutProtocolMetrics) {
  auto n = NBirth();
  EXPECT_TRUE(n.problem.empty()) << n.problem;
  ASSERT_EQ(n.births.size(), 1u);
  EXPECT_EQ(n.births[0].address, "e1/Voltage");
  ASSERT_EQ(n.updates.size(), 1u);
  EXPECT_EQ(n.updates[0].value, core::Value(24.0));
  EXPECT_EQ(n.updates[0].ts, kT0);
  auto d = DBirth(1);
  EXPECT_TRUE(d.problem.empty()) << d.problem;
  ASSERT_EQ(d.births.size(), 2u);
  EXPECT_EQ(d.births[0].address, "e1/d1/Temp");
  EXPECT_EQ(d.births[1].datatype, DataType::kUInt32);
  EXPECT_TRUE(host_.Online("g", "e1", "d1"));
  EXPECT_EQ(host_.MetricType("g", "e1", "d1", "Count"), DataType::kUInt32);
  EXPECT_EQ(host_.MetricType("g", "e1", "", "Voltage"), DataType::kFloat);
}

TEST_F(HostTest, DataByAliasWithTimestampsAndQuality) {
  NBirth();
  DBirth(1);
  Payload p = P(2, {ByAlias(10, DataType::kDouble, 21.0), ByAlias(11, DataType::kUInt32, int64_t{8})});
  p.metrics[0].timestamp = 1'700'000'000'500;
  p.metrics[1].quality = 500;
  p.timestamp = 1'700'000'000'400;
  auto r = host_.Handle(T(MessageType::kDData, "d1"), p, now_);
  EXPECT_FALSE(r.rebirth);
  ASSERT_EQ(r.updates.size(), 2u);
  EXPECT_EQ(r.updates[0].address, "e1/d1/Temp");
  EXPECT_EQ(r.updates[0].ts, 1'700'000'000'500 * core::kMillisecond);    // the metric's
  EXPECT_EQ(r.updates[1].ts, 1'700'000'000'400 * core::kMillisecond);    // the payload's
  EXPECT_EQ(r.updates[1].quality, core::Quality::UncertainLastUsableValue());
  auto n = host_.Handle(T(MessageType::kNData), P(3, {ByAlias(1, DataType::kFloat, 23.0)}), now_);
  ASSERT_EQ(n.updates.size(), 1u);
  EXPECT_EQ(n.updates[0].address, "e1/Voltage");
  EXPECT_EQ(n.updates[0].ts, now_);  // neither: the time of receipt
  // A timestamp beyond what a Timestamp holds (year 2262) is not used.
  Payload far = P(4, {ByAlias(1, DataType::kFloat, 22.0)});
  far.metrics[0].timestamp = 217'600'064'055'296;
  auto f = host_.Handle(T(MessageType::kNData), far, now_);
  ASSERT_EQ(f.updates.size(), 1u);
  EXPECT_EQ(f.updates[0].ts, now_);
}

TEST_F(HostTest, SequenceGapRequestsOneRebirthPerIntervalAndKeepsKnownData) {
  NBirth();
  DBirth(1);
  auto r = host_.Handle(T(MessageType::kDData, "d1"), P(5, {ByAlias(10, DataType::kDouble, 1.0)}), now_);
  EXPECT_TRUE(r.rebirth);
  EXPECT_NE(r.problem.find("seq 5 where 2 was expected"), std::string::npos) << r.problem;
  EXPECT_EQ(r.updates.size(), 1u);
  // Another gap within the interval: no second request.
  now_ += core::kSecond;
  r = host_.Handle(T(MessageType::kDData, "d1"), P(9, {ByAlias(10, DataType::kDouble, 2.0)}), now_);
  EXPECT_FALSE(r.rebirth);
  // After the interval: asked again.
  now_ += 5 * core::kSecond;
  r = host_.Handle(T(MessageType::kDData, "d1"), P(20, {ByAlias(10, DataType::kDouble, 3.0)}), now_);
  EXPECT_TRUE(r.rebirth);
  // Wrap-around 255 -> 0 is in order.
  NBirth();
  uint64_t seq = 1;
  for (int i = 0; i < 300; ++i) {
    r = host_.Handle(T(MessageType::kNData), P(seq, {ByAlias(1, DataType::kFloat, 1.0)}), now_);
    ASSERT_FALSE(r.rebirth) << "seq " << seq;
    seq = (seq + 1) % 256;
  }
}

TEST_F(HostTest, UnknownAliasAndDataBeforeBirthRequestARebirth) {
  auto before = host_.Handle(T(MessageType::kNData), P(1, {ByAlias(1, DataType::kFloat, 1.0)}), now_);
  EXPECT_TRUE(before.rebirth);
  EXPECT_TRUE(before.updates.empty());
  now_ += 10 * core::kSecond;
  NBirth();
  auto device = host_.Handle(T(MessageType::kDData, "d9"), P(1, {ByAlias(10, DataType::kDouble, 1.0)}), now_);
  EXPECT_TRUE(device.rebirth) << "DDATA of a device without DBIRTH";
  now_ += 10 * core::kSecond;
  NBirth();
  DBirth(1);
  auto alias = host_.Handle(T(MessageType::kDData, "d1"),
                            P(2, {ByAlias(10, DataType::kDouble, 5.0), ByAlias(99, DataType::kDouble, 1.0)}), now_);
  EXPECT_TRUE(alias.rebirth);
  EXPECT_EQ(alias.updates.size(), 1u);
  EXPECT_EQ(alias.skipped_metrics, 1u);
}

TEST_F(HostTest, DeathsOfTheCurrentSessionMakeTagsStaleOthersAreIgnored) {
  NBirth(/*bd_seq=*/3);
  DBirth(1);
  auto dd = host_.Handle(T(MessageType::kDDeath, "d1"), P(2, {}), now_);
  ASSERT_EQ(dd.stale.size(), 1u);
  EXPECT_EQ(dd.stale[0], "e1/d1/");
  EXPECT_FALSE(host_.Online("g", "e1", "d1"));
  EXPECT_TRUE(host_.Online("g", "e1", ""));
  // A will of an earlier session (bdSeq 2) arrives late: ignored.
  auto old = host_.Handle(T(MessageType::kNDeath), P(0, {M("bdSeq", std::nullopt, DataType::kInt64, int64_t{2})}), now_);
  EXPECT_TRUE(old.stale.empty());
  EXPECT_TRUE(host_.Online("g", "e1", ""));
  auto nd = host_.Handle(T(MessageType::kNDeath), P(0, {M("bdSeq", std::nullopt, DataType::kInt64, int64_t{3})}), now_);
  ASSERT_EQ(nd.stale.size(), 1u);
  EXPECT_EQ(nd.stale[0], "e1/");
  EXPECT_FALSE(host_.Online("g", "e1", ""));
  auto nodes = host_.Nodes();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].deaths, 2u);
  EXPECT_FALSE(nodes[0].online);
}

TEST_F(HostTest, RebirthCommandIsTheNodeControlMetric) {
  auto p = DecodePayload(Host::RebirthCommand(1'700'000'000'000));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->metrics.size(), 1u);
  EXPECT_EQ(p->metrics[0].name, "Node Control/Rebirth");
  EXPECT_EQ(p->metrics[0].datatype, DataType::kBoolean);
  EXPECT_EQ(*p->metrics[0].value, core::Value(true));
}

}  // namespace
}  // namespace shopfloor::connect::sparkplug
