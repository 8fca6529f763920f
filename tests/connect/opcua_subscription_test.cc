// Subscriptions against node-opcua (tests/peers/opcua/server.js): 1000 monitored items that
// all deliver, acknowledgements, keep-alives, absolute and percent deadbands, and
// DeleteSubscriptions; plus golden Publish responses for the notification decoder.
#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "connect/opcua/client.h"
#include "opcua_peer.h"

namespace shopfloor::connect::opcua {
namespace {

class OpcUaSubscriptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string reason = OpcUaPeer::MissingReason();
    if (!reason.empty()) GTEST_SKIP() << reason;
    std::string error;
    ASSERT_TRUE(peer_.Start(&error, 0, Flags())) << error;
    options_.endpoint_url = peer_.url();
    options_.timeout = 5 * core::kSecond;
  }
  virtual std::vector<std::string> Flags() { return {}; }

  std::unique_ptr<Client> ConnectOrDie() {
    auto client = Client::Connect(options_);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(*client) : nullptr;
  }
  static NodeId Node(const std::string& name) { return NodeId::String(1, name); }
  static double DoubleOf(const DataValue& dv) {
    return dv.value && std::holds_alternative<double>(dv.value->scalar) ? std::get<double>(dv.value->scalar) : -1e300;
  }

  // Publishes until `done` says so or `seconds` pass; returns the values seen per handle.
  static std::map<uint32_t, std::vector<double>> Collect(Client& client, double seconds,
                                                         const std::function<bool(const std::map<uint32_t, std::vector<double>>&)>& done) {
    std::map<uint32_t, std::vector<double>> seen;
    const int64_t deadline = core::Clock::System()->Steady() + static_cast<int64_t>(seconds * core::kSecond);
    while (!done(seen) && core::Clock::System()->Steady() < deadline) {
      auto result = client.Publish();
      EXPECT_TRUE(result.ok()) << result.status().ToString();
      if (!result.ok()) break;
      for (const auto& change : result->data_changes) seen[change.client_handle].push_back(DoubleOf(change.value));
    }
    return seen;
  }

  OpcUaPeer peer_;
  ClientOptions options_;
};

class OpcUaManyItemsTest : public OpcUaSubscriptionTest {
  std::vector<std::string> Flags() override { return {"--changing=1000", "--change-ms=200"}; }
};

TEST_F(OpcUaManyItemsTest, ThousandMonitoredItemsAllDeliverAndAreAcknowledged) {
  auto client = ConnectOrDie();
  ASSERT_TRUE(client);
  SubscriptionParams params;
  params.publishing_interval_ms = 100;
  params.max_keep_alive_count = 10;
  params.lifetime_count = 100;
  auto sub = client->CreateSubscription(params);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  EXPECT_GT(sub->id, 0u);
  EXPECT_GE(sub->publishing_interval_ms, 50.0);

  std::vector<MonitoredItemRequest> items(1000);
  for (uint32_t i = 0; i < items.size(); ++i) {
    items[i].node_id = Node("Changing.V" + std::to_string(i));
    items[i].client_handle = 5000 + i;
    items[i].sampling_interval_ms = 100;
  }
  auto created = client->CreateMonitoredItems(sub->id, items);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ASSERT_EQ(created->size(), 1000u);
  std::set<uint32_t> ids;
  for (const auto& r : *created) {
    EXPECT_EQ(r.status, 0u) << StatusCodeName(r.status);
    ids.insert(r.monitored_item_id);
  }
  EXPECT_EQ(ids.size(), 1000u);

  // Every item delivers its initial value and at least two changes; each value is
  // handle index + step, so a value delivered to the wrong handle shows.
  size_t max_unacknowledged = 0;
  std::map<uint32_t, std::vector<double>> seen;
  const int64_t deadline = core::Clock::System()->Steady() + 20 * core::kSecond;
  auto complete = [&] {
    if (seen.size() < 1000) return false;
    for (const auto& [handle, values] : seen) {
      if (values.size() < 3) return false;
    }
    return true;
  };
  int publishes = 0;
  while (!complete() && core::Clock::System()->Steady() < deadline) {
    auto result = client->Publish();
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ++publishes;
    EXPECT_EQ(result->subscription_id, sub->id);
    for (uint32_t ack : result->ack_results) EXPECT_EQ(ack, 0u) << StatusCodeName(ack);
    max_unacknowledged = std::max(max_unacknowledged, result->available_sequence_numbers.size());
    for (const auto& change : result->data_changes) {
      ASSERT_GE(change.client_handle, 5000u);
      ASSERT_LT(change.client_handle, 6000u);
      EXPECT_TRUE(change.value.source_timestamp.has_value());
      seen[change.client_handle].push_back(DoubleOf(change.value));
    }
  }
  ASSERT_TRUE(complete()) << seen.size() << " of 1000 items delivered after " << publishes << " publishes";
  for (const auto& [handle, values] : seen) {
    const double index = handle - 5000;
    for (size_t k = 0; k < values.size(); ++k) {
      ASSERT_GE(values[k] - index, 0) << "handle " << handle;
      ASSERT_EQ(values[k] - index, std::floor(values[k] - index)) << "handle " << handle;
      if (k > 0) {
        ASSERT_GT(values[k], values[k - 1]) << "handle " << handle;
      }
    }
  }
  // Acknowledged as they arrive: the server keeps at most the last message for Republish.
  EXPECT_LE(max_unacknowledged, 1u);
  EXPECT_EQ(client->pending_acknowledgements(), 1u);

  auto deleted = client->DeleteSubscriptions({sub->id});
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  ASSERT_EQ(deleted->size(), 1u);
  EXPECT_EQ((*deleted)[0], 0u);
  EXPECT_EQ(client->pending_acknowledgements(), 0u);
  auto after = client->Publish();
  ASSERT_FALSE(after.ok());
  EXPECT_NE(after.status().message().find("BadNoSubscription"), std::string::npos) << after.status().ToString();
}

TEST_F(OpcUaSubscriptionTest, KeepAliveWhenNothingChanges) {
  auto client = ConnectOrDie();
  ASSERT_TRUE(client);
  SubscriptionParams params;
  params.publishing_interval_ms = 100;
  params.max_keep_alive_count = 3;
  params.lifetime_count = 30;
  auto sub = client->CreateSubscription(params);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  MonitoredItemRequest item;
  item.node_id = Node("Setpoints.Speed");
  item.client_handle = 1;
  auto created = client->CreateMonitoredItems(sub->id, {item});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ASSERT_EQ((*created)[0].status, 0u);

  auto first = client->Publish();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->keep_alive);
  ASSERT_EQ(first->data_changes.size(), 1u);
  EXPECT_EQ(DoubleOf(first->data_changes[0].value), 10.0);

  const int64_t start = core::Clock::System()->Steady();
  auto second = client->Publish();
  const int64_t waited = core::Clock::System()->Steady() - start;
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->keep_alive);
  EXPECT_TRUE(second->data_changes.empty());
  // A keep-alive carries the next sequence number and is not acknowledged.
  EXPECT_EQ(second->sequence_number, first->sequence_number + 1);
  EXPECT_EQ(client->pending_acknowledgements(), 0u);
  EXPECT_GE(waited, 200 * core::kMillisecond);

  // The request timeout must outlast the keep-alive period.
  params.max_keep_alive_count = 100;
  auto refused = client->CreateSubscription(params);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), core::StatusCode::kInvalidArgument);
}

// Writes `values` to `node` through a second session, 150 ms apart (slower than sampling).
void WriteSlowly(const ClientOptions& options, const NodeId& node, const std::vector<double>& values) {
  auto writer = Client::Connect(options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  for (double v : values) {
    DataValue dv;
    dv.value = Variant(Scalar{v});
    auto written = (*writer)->Write({WriteValue{node, kAttributeValue, dv}});
    ASSERT_TRUE(written.ok()) << written.status().ToString();
    ASSERT_EQ((*written)[0], 0u) << StatusCodeName((*written)[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
}

TEST_F(OpcUaSubscriptionTest, AbsoluteDeadbandSuppressesSmallChanges) {
  auto client = ConnectOrDie();
  ASSERT_TRUE(client);
  SubscriptionParams params;
  params.publishing_interval_ms = 100;
  params.max_keep_alive_count = 5;
  auto sub = client->CreateSubscription(params);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  MonitoredItemRequest item;
  item.node_id = Node("Deadband.Abs");
  item.client_handle = 7;
  item.sampling_interval_ms = 50;
  item.queue_size = 10;
  item.deadband = DeadbandType::kAbsolute;
  item.deadband_value = 5;
  auto created = client->CreateMonitoredItems(sub->id, {item});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ASSERT_EQ((*created)[0].status, 0u) << StatusCodeName((*created)[0].status);

  auto initial = Collect(*client, 5, [](const auto& seen) { return !seen.empty(); });
  ASSERT_EQ(initial[7], std::vector<double>({10.0}));
  WriteSlowly(options_, item.node_id, {11, 12, 20, 21, 24, 30});
  auto changes = Collect(*client, 5, [](const auto& seen) {
    auto it = seen.find(7);
    return it != seen.end() && !it->second.empty() && it->second.back() == 30.0;
  });
  // 11, 12 are within 5 of 10; 21, 24 within 5 of 20.
  EXPECT_EQ(changes[7], std::vector<double>({20.0, 30.0}));

  // Percent needs an EURange, which Deadband.Abs lacks: refused before anything is created.
  item.deadband = DeadbandType::kPercent;
  auto refused = client->CreateMonitoredItems(sub->id, {item});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("ns=1;s=Deadband.Abs"), std::string::npos) << refused.status().ToString();
}

TEST_F(OpcUaSubscriptionTest, PercentDeadbandUsesTheEuRange) {
  auto client = ConnectOrDie();
  ASSERT_TRUE(client);
  auto range = client->ReadEuRange(Node("Deadband.Pct"));
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  ASSERT_TRUE(range->has_value());
  EXPECT_EQ((*range)->low, 0.0);
  EXPECT_EQ((*range)->high, 200.0);

  SubscriptionParams params;
  params.publishing_interval_ms = 100;
  params.max_keep_alive_count = 5;
  auto sub = client->CreateSubscription(params);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  MonitoredItemRequest item;
  item.node_id = Node("Deadband.Pct");
  item.client_handle = 9;
  item.sampling_interval_ms = 50;
  item.queue_size = 10;
  item.deadband = DeadbandType::kPercent;
  item.deadband_value = 10;  // 10% of 0..200: changes up to 20 are suppressed
  auto created = client->CreateMonitoredItems(sub->id, {item});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ASSERT_EQ((*created)[0].status, 0u) << StatusCodeName((*created)[0].status);
  ASSERT_TRUE((*created)[0].eu_range.has_value());
  EXPECT_EQ((*created)[0].eu_range->high, 200.0);

  auto initial = Collect(*client, 5, [](const auto& seen) { return !seen.empty(); });
  ASSERT_EQ(initial[9], std::vector<double>({100.0}));
  WriteSlowly(options_, item.node_id, {110, 115, 125, 130, 140, 150});
  auto changes = Collect(*client, 5, [](const auto& seen) {
    auto it = seen.find(9);
    return it != seen.end() && !it->second.empty() && it->second.back() == 150.0;
  });
  // An absolute deadband of 10 would have reported 115, 125, 140 (and 150); 10% of the range is 20.
  EXPECT_EQ(changes[9], std::vector<double>({125.0, 150.0}));
}

// A PublishResponse body after the header: subscription 3, sequence 8, a DataChange with
// two items, a StatusChange (BadTimeout) and an unknown notification type.
std::string GoldenPublish() {
  Encoder e;
  e.UInt32(3);       // subscriptionId
  e.Int32(1);        // availableSequenceNumbers
  e.UInt32(8);
  e.Boolean(false);  // moreNotifications
  e.UInt32(8);       // sequenceNumber
  e.Int64(133'000'000'000'000'000);
  e.Int32(3);
  Encoder change;
  change.Int32(2);
  change.UInt32(11);
  DataValue a;
  a.value = Variant(Scalar{21.5});
  a.source_timestamp = 133'000'000'000'000'001;
  EXPECT_TRUE(EncodeDataValue(change, a).ok());
  change.UInt32(12);
  DataValue b;
  b.status = 0x80310000u;
  EXPECT_TRUE(EncodeDataValue(change, b).ok());
  change.Int32(-1);  // diagnosticInfos
  Encode(e, ExtensionObject{NodeId::Numeric(0, 811), ExtensionObject::Encoding::kBinary, change.Take()});
  Encoder status;
  status.UInt32(0x800A0000u);
  Encode(status, DiagnosticInfo{});
  Encode(e, ExtensionObject{NodeId::Numeric(0, 820), ExtensionObject::Encoding::kBinary, status.Take()});
  Encode(e, ExtensionObject{NodeId::Numeric(0, 916), ExtensionObject::Encoding::kBinary, std::string(4, '\0')});
  e.Int32(1);  // results of acknowledgements
  e.UInt32(0);
  e.Int32(-1);  // diagnosticInfos
  return e.Take();
}

TEST(OpcUaPublishDecodeTest, DecodesDataAndStatusChangesAndSkipsOthers) {
  const std::string body = GoldenPublish();
  Decoder d(body);
  PublishResult result;
  ASSERT_TRUE(DecodePublish(d, &result).ok());
  EXPECT_TRUE(d.done());
  EXPECT_EQ(result.subscription_id, 3u);
  EXPECT_EQ(result.sequence_number, 8u);
  EXPECT_FALSE(result.keep_alive);
  EXPECT_EQ(result.available_sequence_numbers, std::vector<uint32_t>({8}));
  ASSERT_EQ(result.data_changes.size(), 2u);
  EXPECT_EQ(result.data_changes[0].client_handle, 11u);
  EXPECT_EQ(std::get<double>(result.data_changes[0].value.value->scalar), 21.5);
  EXPECT_EQ(result.data_changes[0].value.source_timestamp, 133'000'000'000'000'001);
  EXPECT_EQ(result.data_changes[1].value.status_code(), 0x80310000u);
  EXPECT_EQ(result.status_changes, std::vector<uint32_t>({0x800A0000u}));
  EXPECT_EQ(result.ignored_notifications, 1u);
  EXPECT_EQ(result.ack_results, std::vector<uint32_t>({0}));
}

TEST(OpcUaPublishDecodeTest, EveryTruncationIsAnErrorNotACrash) {
  const std::string body = GoldenPublish();
  for (size_t n = 0; n < body.size(); ++n) {
    Decoder d(std::string_view(body).substr(0, n));
    PublishResult result;
    core::Status s = DecodePublish(d, &result);
    EXPECT_FALSE(s.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_EQ(s.code(), core::StatusCode::kInvalidArgument);
  }
}

TEST(OpcUaPublishDecodeTest, RangeMustBeARange) {
  Encoder body;
  body.Double(-5);
  body.Double(5);
  EuRange range;
  ASSERT_TRUE(DecodeEuRange(ExtensionObject{NodeId::Numeric(0, 886), ExtensionObject::Encoding::kBinary, body.bytes()},
                            &range).ok());
  EXPECT_EQ(range.low, -5);
  EXPECT_EQ(range.high, 5);
  EXPECT_FALSE(DecodeEuRange(ExtensionObject{NodeId::Numeric(0, 887), ExtensionObject::Encoding::kBinary, body.bytes()},
                             &range).ok());
  EXPECT_FALSE(DecodeEuRange(ExtensionObject{NodeId::Numeric(0, 886), ExtensionObject::Encoding::kBinary, "\x01"},
                             &range).ok());
}

// The fuzz seeds (fuzz/corpus/opcua_services, first byte = decoder) are valid messages, so
// the fuzzer mutates from inputs that reach deep into the decoders.
std::string Seed(const std::string& name) {
  std::ifstream in(std::string(SHOPFLOOR_SOURCE_DIR) + "/fuzz/corpus/opcua_services/" + name, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(bytes.empty()) << name;
  return bytes.empty() ? bytes : bytes.substr(1);
}

TEST(OpcUaPublishDecodeTest, FuzzSeedsDecode) {
  {
    const std::string body = Seed("publish");
    Decoder d(body);
    PublishResult result;
    ASSERT_TRUE(DecodePublish(d, &result).ok());
    EXPECT_TRUE(d.done());
    EXPECT_EQ(result.data_changes.size(), 2u);
    EXPECT_EQ(result.status_changes.size(), 1u);
    EXPECT_EQ(result.ignored_notifications, 1u);
  }
  {
    const std::string body = Seed("publish_keepalive");
    Decoder d(body);
    PublishResult result;
    ASSERT_TRUE(DecodePublish(d, &result).ok());
    EXPECT_TRUE(d.done());
    EXPECT_TRUE(result.keep_alive);
  }
  {
    const std::string body = Seed("publish_response");
    Decoder d(body);
    ASSERT_TRUE(BeginResponse(d, "Publish", 829, 1).ok());
    PublishResult result;
    ASSERT_TRUE(DecodePublish(d, &result).ok());
    EXPECT_TRUE(d.done());
  }
  {
    const std::string body = Seed("monitored_items");
    Decoder d(body);
    std::vector<MonitoredItemResult> results;
    ASSERT_TRUE(DecodeMonitoredItemResults(d, &results).ok());
    EXPECT_TRUE(d.done());
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[1].status, 0x80340000u);
  }
  {
    const std::string body = Seed("create_subscription");
    Decoder d(body);
    SubscriptionInfo info;
    ASSERT_TRUE(DecodeCreateSubscription(d, &info).ok());
    EXPECT_EQ(info.id, 7u);
    EXPECT_EQ(info.max_keep_alive_count, 5u);
  }
  {
    const std::string body = Seed("eu_range");
    Decoder d(body);
    ExtensionObject object;
    ASSERT_TRUE(Decode(d, &object).ok());
    EuRange range;
    ASSERT_TRUE(DecodeEuRange(object, &range).ok());
    EXPECT_EQ(range.high, 200.0);
  }
  {
    const std::string body = Seed("data_values");
    Decoder d(body);
    std::vector<DataValue> values;
    ASSERT_TRUE(DecodeDataValues(d, &values).ok());
    EXPECT_TRUE(d.done());
    EXPECT_EQ(values.size(), 2u);
  }
}

}  // namespace
}  // namespace shopfloor::connect::opcua
