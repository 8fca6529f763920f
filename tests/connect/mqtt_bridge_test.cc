// BridgeClient against a real mosquitto broker on 127.0.0.1 (tests/connect/mosquitto_peer.h):
// subscriptions and publishing, reconnect with backoff and resubscription after a broker
// restart, messages queued by the broker while we were away (persistent session, QoS 1),
// redelivery of a message the callback could not store (and the will on that abnormal
// end), wrong credentials, and option checks. Skips when mosquitto is not installed (scripts/setup installs it).
#include "connect/mqtt/bridge.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "mosquitto_peer.h"

namespace shopfloor::connect::mqtt {
namespace {

#define REQUIRE_MOSQUITTO() \
  if (!testing::MosquittoInstalled()) GTEST_SKIP() << "mosquitto is not installed (scripts/setup installs it)"

bool WaitUntil(const std::function<bool()>& done, int timeout_ms = 10'000) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

// Collects the messages the client hands out; `answer` decides each delivery.
struct Sink {
  std::mutex mu;
  std::vector<BridgeMessage> got;
  std::function<Delivery(const BridgeMessage&)> answer = [](const BridgeMessage&) { return Delivery::kStored; };

  BridgeClient::MessageFn Fn() {
    return [this](BridgeMessage m, BridgeClient::Done done) {
      Delivery d = answer(m);
      {
        std::lock_guard<std::mutex> lock(mu);
        got.push_back(std::move(m));
      }
      // Complete from another thread, as storage does.
      std::thread([done = std::move(done), d] { done(d); }).detach();
    };
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return got.size();
  }
  std::vector<std::string> Payloads() {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<std::string> out;
    for (const BridgeMessage& m : got) out.push_back(m.payload);
    return out;
  }
};

class BridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sf_bridge_" + std::to_string(::getpid()) + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  BridgeOptions Options(uint16_t port, std::string client_id = "sf-bridge-test") {
    BridgeOptions o;
    o.port = port;
    o.client_id = std::move(client_id);
    o.topics = {{"acme/#", 1}};
    o.initial_backoff = 50 * core::kMillisecond;
    o.max_backoff = 400 * core::kMillisecond;
    return o;
  }
  // Publishes with mosquitto_pub (QoS 1: returns once the broker has the message).
  static bool Pub(uint16_t port, const std::string& topic, const std::string& payload, const std::string& extra = "") {
    std::string cmd = "mosquitto_pub -h 127.0.0.1 -p " + std::to_string(port) + " -q 1 -t '" + topic + "' -m '" +
                      payload + "' " + extra;
    return std::system(cmd.c_str()) == 0;
  }
  static bool Connected(const BridgeClient& c) { return c.status().state == BridgeState::kConnected; }
  // Connected, after `connects` CONNACKs, and the broker has granted the filter (SUBACK).
  static bool Subscribed(const BridgeClient& c, uint64_t connects = 1) {
    BridgeStatus s = c.status();
    return s.state == BridgeState::kConnected && s.connects == connects && s.subscribed == 1;
  }

  std::filesystem::path dir_;
};

TEST_F(BridgeTest, ReceivesItsFiltersAndPublishes) {
  REQUIRE_MOSQUITTO();
  testing::MosquittoPeer broker(dir_.string(), {});
  ASSERT_TRUE(broker.Start());
  Sink sink;
  BridgeOptions o = Options(broker.port());
  o.on_connect = {{"state/sf-bridge-test", "ONLINE", 1, true}};
  BridgeClient client(o, sink.Fn());
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return Subscribed(client); })) << client.status().last_error;
  ASSERT_TRUE(Pub(broker.port(), "other/x", "ignored"));
  ASSERT_TRUE(Pub(broker.port(), "acme/north/press-1/temperature", "21.5"));
  ASSERT_TRUE(WaitUntil([&] { return sink.size() == 1; }));
  EXPECT_EQ(sink.got[0].topic, "acme/north/press-1/temperature");
  EXPECT_EQ(sink.got[0].qos, 1);
  // Publish: our own message comes back through the subscription.
  ASSERT_TRUE(client.Publish("acme/echo", "hello", 1, false).ok());
  ASSERT_TRUE(WaitUntil([&] { return sink.size() == 2; }));
  EXPECT_EQ(sink.Payloads()[1], "hello");
  // The on-connect message was published and retained.
  std::string cmd = "timeout 5 mosquitto_sub -h 127.0.0.1 -p " + std::to_string(broker.port()) +
                    " -t state/sf-bridge-test -C 1 -W 3 > " + (dir_ / "state.txt").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(dir_ / "state.txt");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "ONLINE");
  BridgeStatus s = client.status();
  EXPECT_EQ(s.connects, 1u);
  EXPECT_EQ(s.messages_received, 2u);
  EXPECT_EQ(s.messages_published, 1u);
  EXPECT_EQ(s.last_error, "");
  client.Stop();
  EXPECT_EQ(client.status().state, BridgeState::kStopped);
  EXPECT_FALSE(client.Publish("acme/x", "1", 0, false).ok());
}

TEST_F(BridgeTest, ReconnectsWithBackoffAndResubscribesAfterABrokerRestart) {
  REQUIRE_MOSQUITTO();
  // No persistence: the restarted broker has forgotten our subscription, so messages
  // arrive afterwards only because the client subscribes again.
  testing::MosquittoPeer broker(dir_.string(), {});
  ASSERT_TRUE(broker.Start());
  Sink sink;
  BridgeClient client(Options(broker.port()), sink.Fn());
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return Subscribed(client); }));
  broker.Stop();
  ASSERT_TRUE(WaitUntil([&] { return client.status().failed_attempts >= 3; }));
  BridgeStatus down = client.status();
  EXPECT_NE(down.state, BridgeState::kConnected);
  EXPECT_EQ(down.connection_losses, 1u);
  EXPECT_NE(down.last_error.find("connecting to 127.0.0.1:"), std::string::npos) << down.last_error;
  EXPECT_NE(down.last_error.find("refused"), std::string::npos) << down.last_error;
  ASSERT_TRUE(broker.Start());
  ASSERT_TRUE(WaitUntil([&] { return Subscribed(client, 2); }));  // subscribed again
  ASSERT_TRUE(Pub(broker.port(), "acme/after/restart", "1"));
  ASSERT_TRUE(WaitUntil([&] { return sink.size() == 1; }));
  EXPECT_EQ(client.status().state, BridgeState::kConnected);
}

TEST_F(BridgeTest, BackoffDoublesUpToTheMaximum) {
  REQUIRE_MOSQUITTO();
  testing::MosquittoPeer unused(dir_.string(), {});
  ASSERT_TRUE(unused.Start());
  uint16_t port = unused.port();
  unused.Stop();  // nothing listens there now
  auto attempts_in = [&](core::Duration initial, core::Duration max) {
    BridgeOptions o = Options(port);
    o.initial_backoff = initial;
    o.max_backoff = max;
    o.jitter = 0;
    Sink sink;
    BridgeClient client(o, sink.Fn());
    EXPECT_TRUE(client.Start().ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    uint64_t n = client.status().failed_attempts;
    // Between attempts (kBackoff) or inside one (kConnecting), never connected.
    EXPECT_NE(client.status().state, BridgeState::kConnected);
    EXPECT_NE(client.status().state, BridgeState::kStopped);
    return n;
  };
  // Doubling from 20 ms: attempts at about 0, 20, 60, 140, 300, 620 ms (6 in a second).
  uint64_t doubling = attempts_in(20 * core::kMillisecond, 10 * core::kSecond);
  EXPECT_GE(doubling, 5u);
  EXPECT_LE(doubling, 7u);
  // Capped at 20 ms: dozens.
  uint64_t capped = attempts_in(20 * core::kMillisecond, 20 * core::kMillisecond);
  EXPECT_GE(capped, 20u);
}

TEST_F(BridgeTest, MessagesPublishedWhileAwayArriveAfterReconnect) {
  REQUIRE_MOSQUITTO();
  testing::MosquittoPeer broker(dir_.string(), {});
  ASSERT_TRUE(broker.Start());
  {
    Sink sink;
    BridgeClient first(Options(broker.port(), "sf-persistent"), sink.Fn());
    ASSERT_TRUE(first.Start().ok());
    ASSERT_TRUE(WaitUntil([&] { return Subscribed(first); }));
    EXPECT_FALSE(first.status().session_present);
  }  // stopped: the broker keeps the session and queues QoS 1 messages for it
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Pub(broker.port(), "acme/away/" + std::to_string(i), std::to_string(i)));
  Sink sink;
  BridgeClient again(Options(broker.port(), "sf-persistent"), sink.Fn());
  ASSERT_TRUE(again.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return sink.size() == 5; })) << sink.size();
  EXPECT_EQ(sink.Payloads(), (std::vector<std::string>{"0", "1", "2", "3", "4"}));
  EXPECT_TRUE(again.status().session_present);
}

TEST_F(BridgeTest, AMessageThatCouldNotBeStoredIsSentAgain) {
  REQUIRE_MOSQUITTO();
  testing::MosquittoPeer broker(dir_.string(), {});
  ASSERT_TRUE(broker.Start());
  Sink sink;
  int refusals = 1;
  sink.answer = [&](const BridgeMessage&) { return refusals-- > 0 ? Delivery::kRetry : Delivery::kStored; };
  BridgeOptions o = Options(broker.port(), "sf-retry");
  o.will = BridgeMessage{"will/sf-retry", "LOST", 1, true};
  BridgeClient client(o, sink.Fn());
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return Subscribed(client); }));
  ASSERT_TRUE(Pub(broker.port(), "acme/retry", "42"));
  // Refused once (not acknowledged, the connection dropped), then sent again by the broker.
  // This also shows the PUBACK waits for `done`: had libmosquitto written it on receipt, the
  // broker would not send the message again.
  ASSERT_TRUE(WaitUntil([&] { return sink.size() == 2; })) << sink.size();
  EXPECT_EQ(sink.Payloads(), (std::vector<std::string>{"42", "42"}));
  BridgeStatus s = client.status();
  EXPECT_EQ(s.messages_retried, 1u);
  EXPECT_EQ(s.connects, 2u);
  EXPECT_NE(s.last_error.find("could not be stored"), std::string::npos) << s.last_error;
  // Acknowledged now: not sent a third time.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(sink.size(), 2u);
  // The dropped connection ended without DISCONNECT, so the broker published the will.
  std::string cmd = "timeout 5 mosquitto_sub -h 127.0.0.1 -p " + std::to_string(broker.port()) +
                    " -t will/sf-retry -C 1 -W 3 > " + (dir_ / "will.txt").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(dir_ / "will.txt");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "LOST");
}

TEST_F(BridgeTest, WrongCredentialsAreAClearErrorAndRetried) {
  REQUIRE_MOSQUITTO();
  testing::MosquittoPeer broker(dir_.string(), {.persistence = false, .user = "bridge", .password = "s3cret"});
  ASSERT_TRUE(broker.Start());
  Sink sink;
  BridgeOptions o = Options(broker.port());
  o.username = "bridge";
  o.password = "wrong";
  BridgeClient client(o, sink.Fn());
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return client.status().failed_attempts >= 2; }));
  BridgeStatus s = client.status();
  EXPECT_EQ(s.connects, 0u);
  EXPECT_NE(s.state, BridgeState::kConnected);
  EXPECT_NE(s.last_error.find("the broker refused the connection"), std::string::npos) << s.last_error;
  EXPECT_NE(s.last_error.find("not authorised"), std::string::npos) << s.last_error;
  client.Stop();

  o.password = "s3cret";
  BridgeClient right(o, sink.Fn());
  ASSERT_TRUE(right.Start().ok());
  EXPECT_TRUE(WaitUntil([&] { return Connected(right); })) << right.status().last_error;
}

TEST_F(BridgeTest, MqttFiveWithSessionExpiry) {
  REQUIRE_MOSQUITTO();
  testing::MosquittoPeer broker(dir_.string(), {});
  ASSERT_TRUE(broker.Start());
  BridgeOptions o = Options(broker.port(), "sf-v5");
  o.protocol_version = 5;
  o.session_expiry_s = 3600;
  { BridgeClient first(o, [](BridgeMessage, BridgeClient::Done done) { done(Delivery::kStored); });
    ASSERT_TRUE(first.Start().ok());
    ASSERT_TRUE(WaitUntil([&] { return Subscribed(first); }));
  }
  ASSERT_TRUE(Pub(broker.port(), "acme/v5", "queued"));
  Sink sink;
  BridgeClient again(o, sink.Fn());
  ASSERT_TRUE(again.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return sink.size() == 1; }));
  EXPECT_EQ(sink.Payloads()[0], "queued");
}

TEST(BridgeOptionsTest, InvalidOptionsAreNamed) {
  auto start = [](BridgeOptions o) { return BridgeClient(o, [](BridgeMessage, BridgeClient::Done) {}).Start(); };
  BridgeOptions o;
  o.client_id = "x";
  o.topics = {{"acme/#/bad", 1}};
  core::Status s = start(o);
  EXPECT_EQ(s.code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("acme/#/bad"), std::string::npos) << s.ToString();
  o.topics = {{"acme/#", 3}};
  EXPECT_NE(start(o).message().find("QoS 3"), std::string::npos);
  o.topics = {};
  o.client_id = "";
  EXPECT_NE(start(o).message().find("needs a client_id"), std::string::npos);
  o.client_id = "x";
  o.keep_alive_s = 2;
  EXPECT_NE(start(o).message().find("keep_alive_s"), std::string::npos);
}

}  // namespace
}  // namespace shopfloor::connect::mqtt
