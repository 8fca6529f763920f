// Session recovery against node-opcua through a TCP proxy the test can black-hole: the
// Client's Republish and TransferSubscriptions, and the Collector resuming a subscription
// after a short outage (reactivation on a new channel) and after the session timed out
// (new session + transfer) with nothing lost and no gap recorded.
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "connect/opcua/collector.h"
#include "connect/opcua/pki.h"
#include "ingest/writer.h"
#include "opcua_peer.h"
#include "test_storage.h"
#include "storage/storage.h"
#include "tcp_proxy.h"

namespace shopfloor::connect::opcua {
namespace {

constexpr uint32_t kBadNoCommunication = 0x80310000u;

bool WaitUntil(double seconds, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

using testing::TempDir;
using testing::TestStorage;

class OpcUaRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string reason = OpcUaPeer::MissingReason();
    if (!reason.empty()) GTEST_SKIP() << reason;
  }
  // Anonymous sessions on SecurityPolicy None cannot prove they are the same user, so
  // node-opcua refuses TransferSubscriptions between them (BadUserAccessDenied, as Part 4
  // 5.13.7 asks) unless the server allows it explicitly.
  void StartPeer(bool allow_anonymous_transfer, std::vector<std::string> flags = {}) {
    flags.insert(flags.end(), {"--changing=3", "--change-ms=200"});
    if (allow_anonymous_transfer) flags.push_back("--allow-anonymous-transfer=1");
    std::string error;
    ASSERT_TRUE(peer_.Start(&error, 0, flags)) << error;
    ASSERT_TRUE(proxy_.Start(peer_.port()));
  }

  OpcUaPeer peer_;
  TcpProxy proxy_;
};

TEST_F(OpcUaRecoveryTest, RepublishAndTransferSubscriptions) {
  ASSERT_NO_FATAL_FAILURE(StartPeer(/*allow_anonymous_transfer=*/true));
  ClientOptions options;
  options.endpoint_url = peer_.url();
  options.timeout = 3 * core::kSecond;
  auto a = Client::Connect(options);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  SubscriptionParams params;
  params.publishing_interval_ms = 100;
  params.max_keep_alive_count = 5;
  params.lifetime_count = 100;
  auto sub = (*a)->CreateSubscription(params);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  MonitoredItemRequest item;
  item.node_id = NodeId::String(1, "Setpoints.Speed");
  item.client_handle = 7;
  ASSERT_TRUE((*a)->CreateMonitoredItems(sub->id, {item}).ok());
  auto first = (*a)->Publish();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->data_changes.size(), 1u);
  EXPECT_TRUE(first->missing_sequence_numbers.empty());
  EXPECT_EQ(first->lost_messages, 0u);

  // Not yet acknowledged, so the server still holds it: Republish gives the same message.
  auto again = (*a)->Republish(sub->id, first->sequence_number);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->sequence_number, first->sequence_number);
  ASSERT_EQ(again->data_changes.size(), 1u);
  EXPECT_EQ(again->data_changes[0].client_handle, 7u);
  EXPECT_EQ(again->data_changes[0].value.value, first->data_changes[0].value.value);
  EXPECT_EQ((*a)->pending_acknowledgements(), 1u);  // one acknowledgement, not two
  // A number the server never sent.
  auto unknown = (*a)->Republish(sub->id, first->sequence_number + 1000);
  EXPECT_EQ(unknown.status().code(), core::StatusCode::kNotFound) << unknown.status().ToString();
  EXPECT_EQ((*a)->recovery_stats().republished, 1u);

  // Another session takes the subscription over, with the current values.
  auto b = Client::Connect(options);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto transferred = (*b)->TransferSubscriptions({sub->id, 999999}, true);
  ASSERT_TRUE(transferred.ok()) << transferred.status().ToString();
  ASSERT_EQ(transferred->size(), 2u);
  EXPECT_EQ((*transferred)[0].status, 0u) << StatusCodeName((*transferred)[0].status);
  EXPECT_EQ((*transferred)[1].status, 0x80280000u) << StatusCodeName((*transferred)[1].status);  // BadSubscriptionIdInvalid
  EXPECT_EQ((*b)->recovery_stats().transfers, 1u);
  bool initial = false;
  for (int i = 0; i < 10 && !initial; ++i) {
    auto published = (*b)->Publish();
    ASSERT_TRUE(published.ok()) << published.status().ToString();
    EXPECT_EQ(published->subscription_id, sub->id);
    for (const auto& change : published->data_changes) initial |= change.client_handle == 7;
  }
  EXPECT_TRUE(initial);
}

TEST_F(OpcUaRecoveryTest, ReactivateKeepsTheSessionAcrossANewChannel) {
  ASSERT_NO_FATAL_FAILURE(StartPeer(false));
  ClientOptions options;
  options.endpoint_url = proxy_.url();
  options.timeout = 2 * core::kSecond;
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const uint32_t old_channel = (*client)->channel().channel_id();
  proxy_.Blackhole();
  auto lost = (*client)->Read({ReadValueId{NodeId::String(1, "Setpoints.Speed"), kAttributeValue}});
  EXPECT_FALSE(lost.ok());
  proxy_.Restore();
  ASSERT_TRUE((*client)->Reactivate().ok());
  EXPECT_NE((*client)->channel().channel_id(), old_channel);
  EXPECT_EQ((*client)->recovery_stats().reactivations, 1u);
  auto values = (*client)->Read({ReadValueId{NodeId::String(1, "Setpoints.Speed"), kAttributeValue}});
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ(values->at(0).status_code(), 0u);
}

// Runs a collector on Changing.V0..V2 through the proxy and black-holes the link for
// `outage_ms`. With `resumed`, every step of every value must arrive and no gap be stored;
// otherwise (data lost) exactly one BadNoCommunication sample per tag, and a re-create.
struct Outage {
  int outage_ms = 1000;
  double session_timeout_ms = 60'000;
  bool resumed = true;
  ClientOptions client;  // security and identity; endpoint and timeouts are set here
  int gap_grace_ms = 10'000;  // longer than the outages unless a test says otherwise
  bool gap_despite_resume = false;  // the outage outlasts gap_grace but nothing is lost
};

CollectorStats CollectAcrossOutage(TcpProxy& proxy, const Outage& outage) {
  TestStorage db;
  model::SourceConfig source;
  source.name = "plc";
  source.protocol = model::Protocol::kOpcUa;
  source.endpoint = proxy.url();
  CollectorOptions options;
  options.client = outage.client;
  options.client.timeout = 1500 * core::kMillisecond;
  options.client.session_timeout_ms = outage.session_timeout_ms;
  options.publishing_interval_ms = 100;
  options.sampling_interval_ms = 50;
  options.max_keep_alive_count = 5;
  options.queue_size = 100;
  options.lifetime_count = 100;  // 10 s: the subscription outlives the outage
  options.initial_backoff = 100 * core::kMillisecond;
  options.max_backoff = 400 * core::kMillisecond;
  options.gap_grace = outage.gap_grace_ms * core::kMillisecond;
  const bool gap = !outage.resumed || outage.gap_despite_resume;
  std::vector<CollectorTag> tags;
  for (int i = 0; i < 3; ++i) {
    tags.push_back({"m/v" + std::to_string(i), "ns=1;s=Changing.V" + std::to_string(i), core::ValueType::kDouble});
  }
  auto collector = Collector::Create(source, tags, db.writer(), core::Clock::System(), options);
  EXPECT_TRUE(collector.ok()) << collector.status().ToString();
  if (!collector.ok()) return {};
  (*collector)->Start();
  auto good_after = [&](core::Timestamp after) {
    size_t n = 0;
    for (const auto& s : db.Samples("m/v0")) n += s.quality.good() && s.ts > after;
    return n;
  };
  EXPECT_TRUE(WaitUntil(15, [&] { return good_after(0) >= 5; })) << (*collector)->stats().last_error;
  proxy.Blackhole();
  std::this_thread::sleep_for(std::chrono::milliseconds(outage.outage_ms));
  if (outage.gap_despite_resume) {
    // Past the grace the gap is in storage while the link is still down: a live view shows
    // the loss, not the last values.
    EXPECT_EQ((*collector)->stats().gaps_recorded, 1u);
    EXPECT_EQ(db.Samples("m/v0").back().quality.opcua_status(), kBadNoCommunication);
  }
  proxy.Restore();
  const core::Timestamp restored = core::Clock::System()->Now();
  EXPECT_TRUE(WaitUntil(15, [&] { return good_after(restored) >= 5; })) << (*collector)->stats().last_error;
  (*collector)->Stop();
  const CollectorStats stats = (*collector)->stats();
  EXPECT_EQ(stats.connection_losses, 1u) << stats.last_error;
  EXPECT_EQ(stats.write_failures, 0u);
  EXPECT_EQ(stats.gaps_recorded, gap ? 1u : 0u) << stats.last_error;
  EXPECT_EQ(stats.connects, outage.resumed ? 1u : 2u);  // re-created only when data was lost
  if (outage.resumed) {
    EXPECT_GE(stats.republished_messages, 1u);
  }
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(tags[i].series_key);
    std::set<int64_t> steps;
    size_t gaps = 0;
    for (const auto& s : db.Samples(tags[i].series_key)) {
      if (s.quality.opcua_status() == kBadNoCommunication) {
        ++gaps;
        continue;
      }
      EXPECT_TRUE(s.quality.good()) << s.quality.ToString();
      steps.insert(static_cast<int64_t>(s.value.as_double()) - i);
    }
    EXPECT_EQ(gaps, gap ? 1u : 0u);
    EXPECT_FALSE(steps.empty());
    if (steps.empty()) continue;
    // Changing.Vi holds i + step, one step every 200 ms. Resumed: every step from the first
    // to the last one stored arrived, those made during the outage included. Re-created:
    // the outage's steps are missing (and the gap sample says so).
    const int64_t span = *steps.rbegin() - *steps.begin() + 1;
    if (outage.resumed) {
      EXPECT_EQ(static_cast<int64_t>(steps.size()), span) << "first " << *steps.begin() << " last " << *steps.rbegin();
    } else {
      EXPECT_LT(static_cast<int64_t>(steps.size()), span - 3);
    }
    EXPECT_GE(span, outage.outage_ms / 200);
  }
  return stats;
}

TEST_F(OpcUaRecoveryTest, CollectorResumesAShortOutageByReactivationWithoutAGap) {
  ASSERT_NO_FATAL_FAILURE(StartPeer(false));
  CollectorStats stats = CollectAcrossOutage(proxy_, Outage{});
  EXPECT_EQ(stats.reactivations, 1u);
  EXPECT_EQ(stats.transfers, 0u);
}

TEST_F(OpcUaRecoveryTest, AnOutageLongerThanTheGraceShowsTheGapThenRecoversEverything) {
  ASSERT_NO_FATAL_FAILURE(StartPeer(false));
  Outage outage;
  outage.outage_ms = 4000;  // loss noticed within the 1.5 s timeout, then 1 s of grace
  outage.gap_grace_ms = 1000;
  outage.gap_despite_resume = true;
  CollectorStats stats = CollectAcrossOutage(proxy_, outage);
  EXPECT_EQ(stats.reactivations, 1u);
}

TEST_F(OpcUaRecoveryTest, CollectorTransfersTheSubscriptionWhenTheSessionTimedOut) {
  // The server closes the session 1 s after the last request; its subscription lives on
  // (lifetime 10 s) and is transferred to a new session.
  ASSERT_NO_FATAL_FAILURE(StartPeer(/*allow_anonymous_transfer=*/true));
  CollectorStats stats = CollectAcrossOutage(proxy_, Outage{2500, 1000, /*resumed=*/true});
  EXPECT_EQ(stats.reactivations, 0u);
  EXPECT_EQ(stats.transfers, 1u);
}

TEST_F(OpcUaRecoveryTest, CollectorRecordsTheGapWhenTheTransferIsRefused) {
  // Anonymous on SecurityPolicy None: the server refuses the transfer (BadUserAccessDenied),
  // so the subscription is re-created and the outage is recorded as lost.
  ASSERT_NO_FATAL_FAILURE(StartPeer(/*allow_anonymous_transfer=*/false));
  CollectorStats stats = CollectAcrossOutage(proxy_, Outage{2500, 1000, /*resumed=*/false});
  EXPECT_EQ(stats.transfers, 0u);
  EXPECT_NE(stats.last_error.find("BadUserAccessDenied"), std::string::npos) << stats.last_error;
}

// Under Basic256Sha256 SignAndEncrypt with a username: the server certificate trusted first,
// then the same outages. Reactivation signs the server's latest nonce on a new secured
// channel; after a session timeout the same user may take its subscription over.
class OpcUaSecureRecoveryTest : public OpcUaRecoveryTest {
 protected:
  void StartSecure() {
    ASSERT_NO_FATAL_FAILURE(StartPeer(false, {"--secure"}));
    client_.security_policy = "Basic256Sha256";
    client_.security_mode = "SignAndEncrypt";
    client_.pki_dir = pki_.path() + "/pki";
    client_.username = "operator";
    client_.password = "secret";
    ClientOptions probe = client_;
    probe.endpoint_url = proxy_.url();
    auto refused = Client::Connect(probe);
    ASSERT_EQ(refused.status().code(), core::StatusCode::kPermissionDenied) << refused.status().ToString();
    auto rejected = Pki::List(client_.pki_dir);
    ASSERT_TRUE(rejected.ok() && rejected->size() == 1);
    ASSERT_TRUE(Pki::Trust(client_.pki_dir, (*rejected)[0].thumbprint).ok());
  }
  TempDir pki_;
  ClientOptions client_;
};

TEST_F(OpcUaSecureRecoveryTest, ASecuredSessionIsReactivatedOnANewChannelWithoutAGap) {
  ASSERT_NO_FATAL_FAILURE(StartSecure());
  Outage outage;
  outage.client = client_;
  CollectorStats stats = CollectAcrossOutage(proxy_, outage);
  EXPECT_EQ(stats.reactivations, 1u);
  EXPECT_EQ(stats.transfers, 0u);
}

TEST_F(OpcUaSecureRecoveryTest, TheSameUserTakesItsSubscriptionOverAfterASessionTimeout) {
  ASSERT_NO_FATAL_FAILURE(StartSecure());
  Outage outage{2500, 1000, /*resumed=*/true, client_};
  CollectorStats stats = CollectAcrossOutage(proxy_, outage);
  EXPECT_EQ(stats.reactivations, 0u);
  EXPECT_EQ(stats.transfers, 1u);
}

}  // namespace
}  // namespace shopfloor::connect::opcua
