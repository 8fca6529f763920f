// The OPC UA collector into a real storage::Storage through ingest::Writer: samples arrive,
// a server killed and restarted mid-subscription leaves exactly one BadNoCommunication
// sample per tag at the loss, data resumes, and nothing wrong is stored. Plus the
// DataValue -> Sample mapping and a prompt Stop() while backing off.
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "connect/opcua/collector.h"
#include "ingest/writer.h"
#include "opcua_peer.h"
#include "test_storage.h"
#include "storage/storage.h"

namespace shopfloor::connect::opcua {
namespace {

constexpr uint32_t kBadNoCommunication = 0x80310000u;

using testing::TestStorage;

model::SourceConfig Source(const std::string& endpoint) {
  model::SourceConfig source;
  source.name = "press-plc";
  source.protocol = model::Protocol::kOpcUa;
  source.endpoint = endpoint;
  return source;
}

CollectorOptions FastOptions() {
  CollectorOptions options;
  options.client.timeout = 3 * core::kSecond;
  options.publishing_interval_ms = 100;
  options.sampling_interval_ms = 50;
  options.max_keep_alive_count = 5;
  options.initial_backoff = 200 * core::kMillisecond;
  options.max_backoff = 800 * core::kMillisecond;
  return options;
}

// Polls `done` every 20 ms for up to `seconds`.
bool WaitUntil(double seconds, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

TEST(OpcUaCollectorTest, ServerKilledAndRestartedRecordsTheGapAndResumes) {
  std::string reason = OpcUaPeer::MissingReason();
  if (!reason.empty()) GTEST_SKIP() << reason;
  OpcUaPeer peer;
  std::string error;
  ASSERT_TRUE(peer.Start(&error, 0, {"--changing=4", "--change-ms=100"})) << error;
  TestStorage db;

  std::vector<CollectorTag> tags;
  for (int i = 0; i < 4; ++i) {
    tags.push_back({"press-1/v" + std::to_string(i), "ns=1;s=Changing.V" + std::to_string(i), core::ValueType::kDouble});
  }
  tags.push_back({"press-1/speed", "ns=1;s=Setpoints.Speed", core::ValueType::kDouble});
  tags.push_back({"press-1/missing", "ns=1;s=NoSuchNode", core::ValueType::kDouble});
  // "host:port" is accepted for opcua sources.
  auto collector = Collector::Create(Source("127.0.0.1:" + std::to_string(peer.port())), tags, db.writer(),
                                     core::Clock::System(), FastOptions());
  ASSERT_TRUE(collector.ok()) << collector.status().ToString();
  (*collector)->Start();

  auto good_count = [&](const std::string& key, core::Timestamp after) {
    size_t n = 0;
    for (const auto& s : db.Samples(key)) n += s.quality.good() && s.ts > after;
    return n;
  };
  ASSERT_TRUE(WaitUntil(15, [&] { return good_count("press-1/v0", 0) >= 5; })) << (*collector)->stats().last_error;
  EXPECT_TRUE((*collector)->connected());

  const core::Timestamp killed_at = core::Clock::System()->Now();
  peer.Kill();
  ASSERT_TRUE(WaitUntil(10, [&] { return (*collector)->stats().connection_losses == 1; }));
  const core::Timestamp loss_seen = core::Clock::System()->Now();
  // Let a few reconnects fail (backoff 200, 400, 800 ms) before the server returns.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_GE((*collector)->stats().failed_attempts, 2u);
  EXPECT_FALSE((*collector)->connected());
  const core::Timestamp restarted_at = core::Clock::System()->Now();
  ASSERT_TRUE(peer.Restart(&error)) << error;
  ASSERT_TRUE(WaitUntil(15, [&] { return good_count("press-1/v0", restarted_at) >= 3; }))
      << (*collector)->stats().last_error;
  (*collector)->Stop();
  const CollectorStats stats = (*collector)->stats();
  EXPECT_EQ(stats.connects, 2u);
  EXPECT_EQ(stats.connection_losses, 1u);
  EXPECT_EQ(stats.write_failures, 0u);

  for (const auto& tag : tags) {
    SCOPED_TRACE(tag.series_key);
    const auto samples = db.Samples(tag.series_key);
    // Exactly one gap sample, stamped between the kill and its detection.
    size_t gaps = 0;
    core::Timestamp gap_ts = 0;
    for (const auto& s : samples) {
      if (s.quality.opcua_status() != kBadNoCommunication) continue;
      ++gaps;
      gap_ts = s.ts;
      EXPECT_EQ(s.value.as_double(), 0.0);
    }
    EXPECT_EQ(gaps, 1u);
    EXPECT_GE(gap_ts, killed_at);
    EXPECT_LE(gap_ts, loss_seen);
    if (tag.series_key == "press-1/missing") {
      // Refused by the server in both sessions: stored as BadNodeIdUnknown, never as Good.
      size_t refused = 0;
      for (const auto& s : samples) {
        EXPECT_TRUE(s.quality.bad());
        refused += s.quality.opcua_status() == 0x80340000u;
      }
      EXPECT_EQ(refused, 2u);
      continue;
    }
    size_t before = 0, after = 0;
    for (const auto& s : samples) {
      if (s.quality.opcua_status() == kBadNoCommunication) continue;
      ASSERT_TRUE(s.quality.good()) << s.quality.ToString();
      // Nothing good is stamped inside the outage: the server was dead.
      EXPECT_TRUE(s.ts <= killed_at || s.ts >= restarted_at) << core::FormatTimestamp(s.ts);
      (s.ts < gap_ts ? before : after) += 1;
      if (tag.series_key == "press-1/speed") {
        EXPECT_EQ(s.value.as_double(), 10.0);
      } else {
        // Changing.Vi holds i + step: a value never lands on the wrong series.
        const double index = tag.series_key.back() - '0';
        EXPECT_GE(s.value.as_double(), index);
        EXPECT_EQ(s.value.as_double() - index, std::floor(s.value.as_double() - index));
      }
    }
    EXPECT_GE(before, 1u);
    EXPECT_GE(after, 1u);
  }
}

TEST(OpcUaCollectorTest, StopIsPromptWhileBackingOff) {
  TestStorage db;
  // A port nothing listens on: every connect is refused.
  auto options = FastOptions();
  options.initial_backoff = 30 * core::kSecond;
  auto collector = Collector::Create(Source("opc.tcp://127.0.0.1:1"), {{"a/b", "ns=1;s=X", core::ValueType::kDouble}},
                                     db.writer(), core::Clock::System(), options);
  ASSERT_TRUE(collector.ok()) << collector.status().ToString();
  (*collector)->Start();
  ASSERT_TRUE(WaitUntil(5, [&] { return (*collector)->stats().failed_attempts >= 1; }));
  const auto start = std::chrono::steady_clock::now();
  (*collector)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  const CollectorStats stats = (*collector)->stats();
  EXPECT_EQ(stats.connects, 0u);
  EXPECT_NE(stats.last_error.find("127.0.0.1:1"), std::string::npos) << stats.last_error;
  // Never connected, so no gap was recorded and nothing was stored.
  EXPECT_TRUE(db.Samples("a/b").empty());
}

TEST(OpcUaCollectorTest, CreateChecksTheSourceAndTheBindings) {
  TestStorage db;
  model::SourceConfig modbus = Source("127.0.0.1:502");
  modbus.protocol = model::Protocol::kModbus;
  auto wrong = Collector::Create(modbus, {{"a/b", "ns=1;s=X"}}, db.writer(), core::Clock::System());
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("modbus"), std::string::npos);
  auto bad_node = Collector::Create(Source("opc.tcp://h:4840"), {{"a/b", "ns=1;q=X"}}, db.writer(), core::Clock::System());
  ASSERT_FALSE(bad_node.ok());
  EXPECT_NE(bad_node.status().message().find("a/b"), std::string::npos) << bad_node.status().ToString();
  auto none = Collector::Create(Source("opc.tcp://h:4840"), {}, db.writer(), core::Clock::System());
  EXPECT_FALSE(none.ok());
}

TEST(OpcUaSampleMappingTest, TimestampsPreferSourceThenServerThenNow) {
  DataValue dv;
  dv.value = Variant(Scalar{21.5});
  const core::Timestamp now = 1'800'000'000LL * core::kSecond;
  EXPECT_EQ(SampleFromDataValue(dv, core::ValueType::kDouble, now).ts, now);
  dv.server_timestamp = TimestampToUaTicks(now - core::kSecond);
  EXPECT_EQ(SampleFromDataValue(dv, core::ValueType::kDouble, now).ts, now - core::kSecond);
  dv.source_timestamp = TimestampToUaTicks(now - 2 * core::kSecond);
  core::Sample s = SampleFromDataValue(dv, core::ValueType::kDouble, now);
  EXPECT_EQ(s.ts, now - 2 * core::kSecond);
  EXPECT_EQ(s.value.as_double(), 21.5);
  EXPECT_TRUE(s.quality.good());
}

TEST(OpcUaSampleMappingTest, StatusCodeIsTheQualityBitForBit) {
  DataValue dv;
  dv.value = Variant(Scalar{int32_t{7}});
  for (uint32_t code : {0x00000000u, 0x40940123u, 0x408F0000u, 0x808C0000u, 0x80310400u}) {
    dv.status = code;
    core::Sample s = SampleFromDataValue(dv, core::ValueType::kInt64, 0);
    EXPECT_EQ(s.quality.opcua_status(), code);
    EXPECT_EQ(s.value.as_int(), 7);
  }
  // Bad without a value: the zero value with the server's code.
  DataValue bad;
  bad.status = 0x808B0000u;
  core::Sample s = SampleFromDataValue(bad, core::ValueType::kDouble, 5);
  EXPECT_EQ(s.quality.opcua_status(), 0x808B0000u);
  EXPECT_EQ(s.value.as_double(), 0.0);
  EXPECT_EQ(s.ts, 5);
}

TEST(OpcUaSampleMappingTest, ValuesThatDoNotFitAreBadTypeMismatch) {
  DataValue text;
  text.value = Variant(Scalar{std::string("hot")});
  core::Sample s = SampleFromDataValue(text, core::ValueType::kDouble, 0);
  EXPECT_EQ(s.quality.opcua_status(), 0x80740000u);
  EXPECT_EQ(s.value.as_double(), 0.0);
  EXPECT_EQ(SampleFromDataValue(text, core::ValueType::kString, 0).value.as_string(), "hot");

  DataValue fraction;
  fraction.value = Variant(Scalar{2.5});
  EXPECT_EQ(SampleFromDataValue(fraction, core::ValueType::kInt64, 0).quality.opcua_status(), 0x80740000u);
  fraction.value = Variant(Scalar{float{3}});
  EXPECT_EQ(SampleFromDataValue(fraction, core::ValueType::kInt64, 0).value.as_int(), 3);
  DataValue huge;
  huge.value = Variant(Scalar{uint64_t{18446744073709551614ull}});
  EXPECT_EQ(SampleFromDataValue(huge, core::ValueType::kInt64, 0).quality.opcua_status(), 0x80740000u);
  EXPECT_EQ(SampleFromDataValue(huge, core::ValueType::kDouble, 0).value.as_double(), 18446744073709551614.0);

  DataValue flag;
  flag.value = Variant(Scalar{true});
  EXPECT_TRUE(SampleFromDataValue(flag, core::ValueType::kBool, 0).value.as_bool());
  EXPECT_EQ(SampleFromDataValue(flag, core::ValueType::kDouble, 0).quality.opcua_status(), 0x80740000u);

  DataValue empty;  // Good but no value
  EXPECT_EQ(SampleFromDataValue(empty, core::ValueType::kDouble, 0).quality.opcua_status(), 0x80740000u);
  DataValue array;
  array.value = Variant::Array(BuiltinType::kDouble, {Scalar{1.0}});
  EXPECT_EQ(SampleFromDataValue(array, core::ValueType::kDouble, 0).quality.opcua_status(), 0x80740000u);
}

}  // namespace
}  // namespace shopfloor::connect::opcua
