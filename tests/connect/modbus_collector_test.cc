// The Modbus collector against pymodbus's server (tests/peers/modbus/server.py) into a real
// storage::Storage: every data type decoded, merged reads proven by the server's request
// count, poll groups on simulated time, exception responses, timeouts and connection loss
// (one bad sample per tag, then recovery), a slow device beside a fast one, late replies
// never matched to newer requests, and writes (FC 5/6/15/16, bit read-modify-write) with
// read-back.
#include <chrono>
#include <cmath>
#include <functional>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "connect/modbus/collector.h"
#include "connect/modbus/link.h"
#include "modbus_peer.h"
#include "test_storage.h"

namespace shopfloor::connect::modbus {
namespace {

using ::testing::HasSubstr;
using testing::TestStorage;
using V = core::ValueType;

constexpr core::Quality kBadNodeIdUnknown = core::Quality::FromOpcUaStatus(0x80340000u);

bool WaitUntil(double seconds, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

model::SourceConfig Source(const ModbusPeer& peer, core::Duration poll = 50 * core::kMillisecond) {
  model::SourceConfig source;
  source.name = "plc";
  source.protocol = model::Protocol::kModbus;
  source.endpoint = peer.endpoint();
  source.poll_interval = poll;
  source.options.timeout = 500 * core::kMillisecond;
  source.options.backoff = 100 * core::kMillisecond;
  return source;
}

CollectorOptions Fast() {
  CollectorOptions o;
  o.max_backoff = 400 * core::kMillisecond;
  o.retry_backoff = 10 * core::kMillisecond;
  return o;
}

// Sets the registers of `address` on the server to hold `value`.
void Put(ModbusPeer& peer, const std::string& address, const core::Value& value, bool word_swap = false) {
  auto a = ParseAddress(address);
  ASSERT_TRUE(a.ok()) << address;
  auto words = Encode(*a, word_swap, value);
  ASSERT_TRUE(words.ok()) << words.status().ToString();
  std::string line = "set " + std::string(TableName(a->table)) + " " + std::to_string(a->reg);
  for (uint16_t w : *words) line += " " + std::to_string(w);
  ASSERT_EQ(peer.Command(line), "ok");
}

class ModbusCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = ModbusPeer::MissingReason(); !why.empty()) GTEST_SKIP() << why;
    std::string error;
    ASSERT_TRUE(peer_.Start(&error)) << error;
  }
  std::optional<core::Sample> Last(const std::string& key) {
    auto samples = db_.Samples(key);
    if (samples.empty()) return std::nullopt;
    return samples.back();
  }
  std::unique_ptr<Collector> Make(const model::SourceConfig& source, std::vector<CollectorTag> tags,
                                  core::Clock* clock = core::Clock::System()) {
    auto c = Collector::Create(source, std::move(tags), db_.writer(), clock, Fast());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  ModbusPeer peer_;
  TestStorage db_;
};

TEST_F(ModbusCollectorTest, DecodesEveryDataType) {
  struct Case {
    const char* key;
    const char* address;
    V type;
    core::Value value;
  };
  const Case cases[] = {
      {"i16", "hr:0:int16", V::kInt64, int64_t{-1234}},
      {"u16", "hr:1", V::kInt64, int64_t{65000}},
      {"i32", "hr:2:int32", V::kInt64, int64_t{-2000000000}},
      {"u32", "ir:4:uint32", V::kInt64, int64_t{4000000000}},
      {"i64", "hr:6:int64:words=little", V::kInt64, int64_t{-9000000000000000000}},
      {"u64", "ir:10:uint64", V::kInt64, int64_t{9000000000000000000}},
      {"f32", "ir:14:float32", V::kDouble, 1.5},
      {"f32le", "hr:16:float32:words=little:bytes=little", V::kDouble, -0.25},
      {"f64", "ir:18:float64", V::kDouble, 3.141592653589793},
      {"scaled", "ir:22:int16:scale=0.1:offset=-10", V::kDouble, 12.5},
      {"text", "hr:30:string7", V::kString, "Shopflr"},
      {"bit", "hr:40.9", V::kBool, true},
      {"coil", "co:3", V::kBool, true},
      {"input", "di:5", V::kBool, true},
  };
  std::vector<CollectorTag> tags;
  for (const Case& c : cases) {
    if (std::string(c.key) == "bit") {
      ASSERT_EQ(peer_.Command("set hr 40 512"), "ok");  // Encode gives a bit as 0/1, not in place
    } else {
      Put(peer_, c.address, c.value);
    }
    tags.push_back({c.key, c.address, c.type});
  }
  auto collector = Make(Source(peer_), tags);
  ASSERT_NE(collector, nullptr);
  collector->Start();
  ASSERT_TRUE(WaitUntil(10, [&] { return collector->stats().polls >= 2; })) << collector->stats().last_error;
  collector->Stop();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key);
    auto last = Last(c.key);
    ASSERT_TRUE(last.has_value());
    EXPECT_TRUE(last->quality.good()) << last->quality.ToString();
    if (c.value.is_double()) {
      EXPECT_NEAR(last->value.as_double(), c.value.as_double(), 1e-9);
    } else {
      EXPECT_EQ(last->value, c.value);
    }
  }
  // One poll's samples share its timestamp.
  EXPECT_EQ(Last("i16")->ts, Last("input")->ts);
  EXPECT_FALSE(collector->connected());
}

TEST_F(ModbusCollectorTest, NaNInAFloatRegisterIsABadSensorNotANumber) {
  Put(peer_, "ir:0:float32", core::Value(std::nan("")));
  Put(peer_, "ir:2:float32", core::Value(20.5));
  auto collector = Make(Source(peer_), {{"nan", "ir:0:float32", V::kDouble}, {"ok", "ir:2:float32", V::kDouble}});
  ASSERT_NE(collector, nullptr);
  collector->Start();
  ASSERT_TRUE(WaitUntil(10, [&] { return collector->stats().polls >= 3; })) << collector->stats().last_error;
  Put(peer_, "ir:0:float32", core::Value(21.0));  // the sensor is back
  const uint64_t polls = collector->stats().polls;
  ASSERT_TRUE(WaitUntil(10, [&] { return collector->stats().polls >= polls + 2; }));
  collector->Stop();
  auto samples = db_.Samples("nan");
  ASSERT_GE(samples.size(), 2u);
  EXPECT_EQ(samples.front().quality, core::Quality::BadSensorFailure());
  EXPECT_EQ(samples.front().value.as_double(), 0.0);
  EXPECT_EQ(samples[1].quality, core::Quality::Good()) << "one bad sample per outage, then the new value";
  EXPECT_EQ(samples[1].value.as_double(), 21.0);
  EXPECT_TRUE(Last("ok")->quality.good());
}

TEST_F(ModbusCollectorTest, AdjacentRegistersAreReadInOneRequest) {
  std::vector<CollectorTag> tags;
  for (int i = 0; i < 20; ++i) {
    Put(peer_, "hr:" + std::to_string(100 + 2 * i) + ":float32", core::Value(i * 1.0));
    tags.push_back({"v" + std::to_string(i), "hr:" + std::to_string(100 + 2 * i) + ":float32", V::kDouble});
  }
  model::SourceConfig source = Source(peer_);
  auto collector = Make(source, tags);
  ASSERT_EQ(collector->plan().size(), 1u);
  ASSERT_EQ(collector->plan()[0].requests.size(), 1u);  // 40 registers
  collector->Start();
  ASSERT_TRUE(WaitUntil(10, [&] { return collector->stats().polls >= 5; }));
  collector->Stop();
  const CollectorStats merged = collector->stats();
  EXPECT_EQ(merged.requests, merged.polls);
  EXPECT_EQ(peer_.Stat("fc3"), static_cast<long>(merged.requests));
  EXPECT_EQ(merged.registers_read, 40 * merged.requests);
  EXPECT_EQ(Last("v19")->value, core::Value(19.0));

  // At most 6 registers per request: 7 requests per poll (3 floats each, the last 2 alone).
  source.options.max_registers = 6;
  auto split = Make(source, tags);
  ASSERT_EQ(split->plan()[0].requests.size(), 7u);
  const long before = peer_.Stat("fc3");
  split->Start();
  ASSERT_TRUE(WaitUntil(10, [&] { return split->stats().polls >= 3; }));
  split->Stop();
  EXPECT_EQ(split->stats().requests, 7 * split->stats().polls);
  EXPECT_EQ(peer_.Stat("fc3") - before, static_cast<long>(split->stats().requests));
}

TEST_F(ModbusCollectorTest, PollGroupsRunAtTheirIntervalsOnSimulatedTime) {
  core::SimClock clock;
  Put(peer_, "ir:0", int64_t{7});
  std::vector<CollectorTag> tags = {{"fast", "ir:0", V::kInt64}, {"slow", "ir:1:poll=1s", V::kInt64}};
  auto collector = Make(Source(peer_, 100 * core::kMillisecond), tags, &clock);
  ASSERT_EQ(collector->plan().size(), 2u);
  const core::Timestamp start = clock.Now();
  collector->Start();
  for (uint64_t step = 0; step <= 20; ++step) {
    // The polls due at this step are done before the clock moves on.
    const uint64_t expected = 2 + step + step / 10;
    ASSERT_TRUE(WaitUntil(10, [&] { return collector->stats().polls == expected; }))
        << "step " << step << ": " << collector->stats().polls << " polls";
    if (step < 20) clock.Advance(100 * core::kMillisecond);
  }
  collector->Stop();
  // 2 s of simulated time: fast at 0, 100, ..., 2000 ms; slow at 0, 1, 2 s.
  auto fast = db_.Samples("fast");
  auto slow = db_.Samples("slow");
  ASSERT_EQ(fast.size(), 21u);
  ASSERT_EQ(slow.size(), 3u);
  for (size_t i = 0; i < fast.size(); ++i) EXPECT_EQ(fast[i].ts, start + static_cast<int64_t>(i) * 100 * core::kMillisecond);
  EXPECT_EQ(slow[2].ts, start + 2 * core::kSecond);
  EXPECT_EQ(fast[20].value, core::Value(int64_t{7}));
  EXPECT_EQ(collector->stats().overruns, 0u);
}

TEST_F(ModbusCollectorTest, DeadbandStoresOnlyMovesBeyondItOrAfterTheHeartbeat) {
  core::SimClock clock;
  Put(peer_, "hr:0", int64_t{100});
  Put(peer_, "hr:1", int64_t{100});
  auto c = Collector::Create(Source(peer_, 100 * core::kMillisecond),
                             {{"banded", "hr:0", V::kDouble, 5.0}, {"every", "hr:1", V::kDouble}}, db_.writer(), &clock,
                             [] {
                               CollectorOptions o = Fast();
                               o.deadband_heartbeat = core::kSecond;
                               return o;
                             }());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto& collector = *c;
  collector->Start();
  uint64_t polls = 1;
  auto step = [&](int64_t value) {  // sets both registers, then one poll 100 ms later
    ASSERT_TRUE(WaitUntil(10, [&] { return collector->stats().polls == polls; }));
    ASSERT_EQ(peer_.Command(fmt::format("set hr 0 {} {}", value, value)), "ok");
    clock.Advance(100 * core::kMillisecond);
    ++polls;
  };
  for (int64_t v : {103, 105, 106, 99, 101, 101, 101, 101, 101, 101, 101, 101, 101, 101}) step(v);
  ASSERT_TRUE(WaitUntil(10, [&] { return collector->stats().polls == polls; }));
  collector->Stop();
  std::vector<double> banded;
  for (const auto& s : db_.Samples("banded")) banded.push_back(s.value.as_double());
  // 100 stored at 0 ms; 103 and 105 are within 5 of it; 106 (300 ms) moves 6; 99 (400 ms)
  // moves 7 from 106; 101 stays within 5 of 99 until the 1 s heartbeat: stored at 1400 ms.
  EXPECT_EQ(banded, (std::vector<double>{100, 106, 99, 101}));
  EXPECT_EQ(db_.Samples("banded").back().ts - db_.Samples("banded").front().ts, 1400 * core::kMillisecond);
  EXPECT_EQ(db_.Samples("every").size(), 15u);  // no deadband: every poll
}

TEST_F(ModbusCollectorTest, AnExceptionMarksOnlyItsTagsOnceAndTheRestKeepPolling) {
  Put(peer_, "hr:1990", int64_t{5});
  Put(peer_, "hr:1999", int64_t{6});
  model::SourceConfig source = Source(peer_);
  source.options.max_gap = 10;
  // The server has 2000 registers: hr:2000 is an illegal address, merged with the others.
  auto collector = Make(source, {{"a", "hr:1990", V::kInt64}, {"b", "hr:1999", V::kInt64}, {"c", "hr:2000", V::kInt64}});
  ASSERT_EQ(collector->plan()[0].requests.size(), 1u);
  collector->Start();
  ASSERT_TRUE(WaitUntil(10, [&] { return collector->stats().polls >= 5; }));
  collector->Stop();
  // Split after the first exception: one request per tag.
  EXPECT_EQ(collector->plan()[0].requests.size(), 3u);
  auto c = db_.Samples("c");
  ASSERT_EQ(c.size(), 1u);  // once, not once per poll
  EXPECT_EQ(c[0].quality, kBadNodeIdUnknown);
  EXPECT_GE(db_.Samples("a").size(), 5u);
  EXPECT_EQ(Last("b")->value, core::Value(int64_t{6}));
  EXPECT_TRUE(Last("b")->quality.good());
  EXPECT_THAT(collector->stats().last_error, HasSubstr("IllegalDataAddress"));
  EXPECT_GE(collector->stats().exceptions, 5u);
}

TEST_F(ModbusCollectorTest, TimeoutsAndConnectionLossAreGapsThenItRecovers) {
  Put(peer_, "hr:0", int64_t{1});
  model::SourceConfig source = Source(peer_);
  source.options.timeout = 200 * core::kMillisecond;
  source.options.retries = 1;
  auto collector = Make(source, {{"x", "hr:0", V::kInt64}, {"y", "hr:1", V::kInt64}});
  collector->Start();
  ASSERT_TRUE(WaitUntil(10, [&] { return Last("x") && Last("x")->quality.good(); }));

  // Slower than the timeout: one BadCommunicationError per tag, however long it lasts.
  ASSERT_EQ(peer_.Command("delay 0.5"), "ok");
  ASSERT_TRUE(WaitUntil(10, [&] { return collector->stats().failed_requests >= 3; }));
  EXPECT_GE(collector->stats().timeouts, 6u);  // each request and its retry
  EXPECT_GE(collector->stats().retries, 3u);
  ASSERT_EQ(peer_.Command("delay 0"), "ok");
  Put(peer_, "hr:0", int64_t{2});
  ASSERT_TRUE(WaitUntil(10, [&] { return Last("x")->value == core::Value(int64_t{2}); }));
  size_t comm_errors = 0;
  for (const auto& s : db_.Samples("x")) comm_errors += s.quality == core::Quality::BadCommunicationError();
  EXPECT_EQ(comm_errors, 1u);
  EXPECT_TRUE(Last("x")->quality.good());

  // The server dies: one BadNoCommunication per tag; the collector backs off and recovers.
  const core::Timestamp killed = core::Clock::System()->Now();
  peer_.Kill();
  ASSERT_TRUE(WaitUntil(10, [&] { return collector->stats().connection_losses == 1; }));
  ASSERT_TRUE(WaitUntil(10, [&] { return collector->stats().failed_attempts >= 3; }));
  EXPECT_FALSE(collector->connected());
  std::string error;
  ASSERT_TRUE(peer_.Restart(&error)) << error;
  Put(peer_, "hr:0", int64_t{3});
  ASSERT_TRUE(WaitUntil(10, [&] { return Last("x")->value == core::Value(int64_t{3}); }))
      << collector->stats().last_error;
  EXPECT_TRUE(collector->connected());
  collector->Stop();
  EXPECT_EQ(collector->stats().connection_losses, 1u);
  for (const char* key : {"x", "y"}) {
    SCOPED_TRACE(key);
    size_t gaps = 0;
    core::Timestamp gap_ts = 0;
    for (const auto& s : db_.Samples(key)) {
      if (s.quality != core::Quality::BadNoCommunication()) continue;
      ++gaps;
      gap_ts = s.ts;
      EXPECT_EQ(s.value, core::Value(int64_t{0}));  // never the last good value
    }
    EXPECT_EQ(gaps, 1u);
    EXPECT_GE(gap_ts, killed - 100 * core::kMillisecond);  // the poll that found it gone
    EXPECT_TRUE(Last(key)->quality.good());
  }
}

TEST_F(ModbusCollectorTest, AConnectionTheDeviceDroppedIsReopenedWithoutAGap) {
  Put(peer_, "hr:0", int64_t{1});
  model::SourceConfig source = Source(peer_);
  source.options.retries = 0;
  auto collector = Make(source, {{"x", "hr:0", V::kInt64}});
  collector->Start();
  ASSERT_TRUE(WaitUntil(10, [&] { return Last("x") && Last("x")->quality.good(); }));
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(peer_.Command("drop"), "ok 1");  // as a device closing an idle connection
    Put(peer_, "hr:0", int64_t{2 + i});
    ASSERT_TRUE(WaitUntil(10, [&] { return Last("x")->value == core::Value(int64_t{2 + i}); }));
  }
  collector->Stop();
  for (const auto& s : db_.Samples("x")) EXPECT_TRUE(s.quality.good()) << s.quality.ToString();
  EXPECT_EQ(collector->stats().connects, 4u);
  EXPECT_EQ(collector->stats().connection_losses, 0u);
  EXPECT_EQ(collector->stats().failed_requests, 0u);
}

TEST_F(ModbusCollectorTest, ASlowDeviceDoesNotSlowAnother) {
  ModbusPeer slow_peer;
  std::string error;
  ASSERT_TRUE(slow_peer.Start(&error)) << error;
  ASSERT_EQ(slow_peer.Command("delay 0.3"), "ok");  // answers, but late (within the timeout)
  model::SourceConfig slow_source = Source(slow_peer, 20 * core::kMillisecond);
  slow_source.name = "slow";
  auto slow = Make(slow_source, {{"slow/a", "hr:0", V::kInt64}, {"slow/b", "hr:500", V::kInt64}});
  auto fast = Make(Source(peer_, 20 * core::kMillisecond), {{"fast/a", "hr:0", V::kInt64}});
  slow->Start();
  fast->Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const CollectorStats s = slow->stats(), f = fast->stats();
  slow->Stop();
  fast->Stop();
  // The slow device manages about 2 polls a second (two requests of 0.3 s each); the fast one
  // keeps to its 20 ms interval (75 in 1.5 s; generous slack for a loaded machine).
  EXPECT_LE(s.polls, 4u);
  EXPECT_GE(f.polls, 40u);
  EXPECT_EQ(s.timeouts, 0u);
  EXPECT_GE(s.overruns, 1u);
}

TEST_F(ModbusCollectorTest, ALateReplyIsNeverTakenForANewerRequest) {
  // Two reads of the same shape (FC 3, 2 registers) with different contents: a late answer
  // to the first, read as the answer to the second, would store 111 under "b".
  ASSERT_EQ(peer_.Command("set hr 0 111 111"), "ok");
  ASSERT_EQ(peer_.Command("set hr 10 222 222"), "ok");
  ASSERT_EQ(peer_.Command("delay 0.3 0"), "ok");  // only reads starting at 0 are late
  model::SourceConfig source = Source(peer_, 20 * core::kMillisecond);
  source.options.timeout = 150 * core::kMillisecond;
  source.options.retries = 0;
  auto collector = Make(source, {{"a", "hr:0:uint32", V::kInt64}, {"b", "hr:10:uint32", V::kInt64}});
  ASSERT_EQ(collector->plan()[0].requests.size(), 2u);
  collector->Start();
  ASSERT_TRUE(WaitUntil(15, [&] { return collector->stats().timeouts >= 8; }));
  collector->Stop();
  const int64_t a_value = (int64_t{111} << 16) | 111, b_value = (int64_t{222} << 16) | 222;
  size_t good_b = 0;
  for (const auto& s : db_.Samples("b")) {
    EXPECT_TRUE(s.quality.good());
    EXPECT_EQ(s.value, core::Value(b_value));
    good_b += s.quality.good();
  }
  EXPECT_GE(good_b, 8u);
  for (const auto& s : db_.Samples("a")) EXPECT_NE(s.value, core::Value(b_value));
  EXPECT_EQ(db_.Samples("a").size(), 1u);  // BadCommunicationError, once
  EXPECT_EQ(Last("a")->quality, core::Quality::BadCommunicationError());
  (void)a_value;
}

TEST_F(ModbusCollectorTest, WritesWithReadBack) {
  ASSERT_EQ(peer_.Command("set hr 50 4096"), "ok");  // bit 12 set
  auto collector = Make(Source(peer_), {{"speed", "hr:20:float32", V::kDouble}});
  collector->Start();
  ASSERT_TRUE(WaitUntil(10, [&] { return collector->connected(); }));

  WriteOutcome coil = collector->Write("co:7", core::Value(true), V::kBool);
  EXPECT_EQ(coil.result, WriteOutcome::kOk) << coil.error;
  EXPECT_EQ(coil.previous, core::Value(false));
  EXPECT_EQ(peer_.Command("get co 7 1"), "values 1");
  EXPECT_EQ(peer_.Stat("fc5"), 1);

  WriteOutcome one = collector->Write("hr:22:int16", core::Value(int64_t{-5}), V::kInt64);
  EXPECT_EQ(one.result, WriteOutcome::kOk) << one.error;
  EXPECT_EQ(peer_.Command("get hr 22 1"), "values 65531");
  EXPECT_EQ(peer_.Stat("fc6"), 1);

  WriteOutcome f32 = collector->Write("hr:20:float32", core::Value(42.5), V::kDouble);
  EXPECT_EQ(f32.result, WriteOutcome::kOk) << f32.error;
  EXPECT_EQ(f32.previous, core::Value(0.0));
  EXPECT_EQ(peer_.Stat("fc16"), 1);
  ASSERT_TRUE(WaitUntil(10, [&] { return Last("speed") && Last("speed")->value == core::Value(42.5); }));

  // A bit: read-modify-write keeps the register's other bits.
  WriteOutcome bit = collector->Write("hr:50.3", core::Value(true), V::kBool);
  EXPECT_EQ(bit.result, WriteOutcome::kOk) << bit.error;
  EXPECT_EQ(bit.previous, core::Value(false));
  EXPECT_EQ(peer_.Command("get hr 50 1"), "values 4104");
  WriteOutcome clear = collector->Write("hr:50.12", core::Value(false), V::kBool);
  EXPECT_EQ(clear.result, WriteOutcome::kOk) << clear.error;
  EXPECT_EQ(peer_.Command("get hr 50 1"), "values 8");
  EXPECT_EQ(peer_.Stat("fc6"), 3);

  // Refused by the device (beyond its 2000 registers): failed, with the exception.
  WriteOutcome refused = collector->Write("hr:1999:float32", core::Value(1.0), V::kDouble);
  EXPECT_EQ(refused.result, WriteOutcome::kFailed);
  EXPECT_THAT(refused.error, HasSubstr("IllegalDataAddress"));
  // Does not fit: never sent.
  WriteOutcome too_big = collector->Write("hr:22:int16", core::Value(int64_t{40000}), V::kInt64);
  EXPECT_EQ(too_big.result, WriteOutcome::kFailed);
  EXPECT_THAT(too_big.error, HasSubstr("not sent"));
  WriteOutcome read_only = collector->Write("ir:0", core::Value(int64_t{1}), V::kInt64);
  EXPECT_THAT(read_only.error, HasSubstr("needs a co or hr address"));
  EXPECT_EQ(peer_.Stat("fc16"), 1);

  // No answer to the write: unknown, and not sent again.
  ASSERT_EQ(peer_.Command("delay 1.0 22 6"), "ok");  // only the write (FC 6) to hr:22
  const long fc6 = peer_.Stat("fc6");
  WriteOutcome slow = collector->Write("hr:22:int16", core::Value(int64_t{9}), V::kInt64);
  EXPECT_EQ(slow.result, WriteOutcome::kUnknown) << slow.error;
  EXPECT_THAT(slow.error, HasSubstr("not retried"));
  ASSERT_EQ(peer_.Command("delay 0"), "ok");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(peer_.Stat("fc6"), fc6 + 1);
  EXPECT_EQ(peer_.Command("get hr 22 1"), "values 9");  // applied late
  const CollectorStats stats = collector->stats();
  EXPECT_EQ(stats.setpoints_ok, 5u);
  EXPECT_EQ(stats.setpoints_failed, 3u);
  EXPECT_EQ(stats.setpoints_unknown, 1u);

  collector->Stop();
  WriteOutcome stopped = collector->Write("hr:22", core::Value(int64_t{1}), V::kInt64);
  EXPECT_EQ(stopped.result, WriteOutcome::kFailed);
  EXPECT_THAT(stopped.error, HasSubstr("not running"));
}

TEST_F(ModbusCollectorTest, LinkWritesSeveralCoilsWithFunction15) {
  Link link(peer_.endpoint(), 1, core::kSecond);
  ASSERT_TRUE(link.Connect().ok());
  const uint8_t bits[] = {1, 0, 1, 1};
  ASSERT_TRUE(link.WriteCoils(10, bits).ok());
  EXPECT_EQ(peer_.Command("get co 10 4"), "values 1 0 1 1");
  EXPECT_EQ(peer_.Stat("fc15"), 1);
  std::vector<uint8_t> back(4);
  ASSERT_TRUE(link.ReadBits(Table::kCoil, 10, back).ok());
  EXPECT_EQ(back, (std::vector<uint8_t>{1, 0, 1, 1}));
  // An exception is a definite answer: the connection stays.
  std::vector<uint16_t> words(2);
  core::Status s = link.ReadRegisters(Table::kInputRegister, 1999, words);
  EXPECT_EQ(s.code(), core::StatusCode::kAborted);
  EXPECT_EQ(link.exception(), 2);
  EXPECT_TRUE(link.connected());
  // A unit the server does not serve never answers: a timeout closes the connection.
  Link other(peer_.endpoint(), 9, 200 * core::kMillisecond);
  ASSERT_TRUE(other.Connect().ok());
  s = other.ReadRegisters(Table::kHoldingRegister, 0, words);
  EXPECT_EQ(s.code(), core::StatusCode::kTimeout) << s.ToString();
  EXPECT_FALSE(other.connected());
}

}  // namespace
}  // namespace shopfloor::connect::modbus
