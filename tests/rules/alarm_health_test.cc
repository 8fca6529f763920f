// Alarm system health: load per operator position, floods (start and end at their exact
// thresholds), chattering, stale alarms and bad actors, on simulated time.
#include <gtest/gtest.h>

#include "alarm_test_util.h"
#include "rules/alarm_health.h"

namespace shopfloor::rules {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace)

constexpr core::Duration kMin = core::kMinute;

AlarmEvent Event(std::string id, core::Timestamp ts, AlarmState from, AlarmState to, bool active,
                 std::string asset = kCompressor) {
  AlarmEvent e;
  e.ts = ts;
  e.alarm_id = std::move(id);
  e.asset = std::move(asset);
  e.from = from;
  e.to = to;
  e.cause = AlarmCause::kProcess;
  e.active = active;
  return e;
}
AlarmEvent Annunciation(std::string id, core::Timestamp ts, std::string asset = kCompressor) {
  return Event(std::move(id), ts, AlarmState::kNormal, AlarmState::kUnackActive, true, std::move(asset));
}

TEST(AlarmHealthTest, FloodStartsAboveTenInTenMinutesAndEndsBelowFive) {
  AlarmHealth health;
  for (int i = 0; i < 10; ++i) health.Record(Annunciation("a" + std::to_string(i), kT0 + i * 30 * kS));
  EXPECT_TRUE(health.Report(kT0 + 5 * kMin).floods.empty());  // exactly 10: not a flood
  health.Record(Annunciation("a10", kT0 + 5 * kMin));
  AlarmHealthReport r = health.Report(kT0 + 5 * kMin);
  ASSERT_EQ(r.floods.size(), 1u);
  EXPECT_EQ(r.floods[0].position, "all");
  EXPECT_EQ(r.floods[0].start, kT0 + 5 * kMin);
  EXPECT_FALSE(r.floods[0].end.has_value());  // going on
  EXPECT_EQ(r.floods[0].count, 11u);
  health.Record(Annunciation("a11", kT0 + 6 * kMin));
  // The annunciation at i * 30 s leaves at 10 min + i * 30 s. 12 in the interval; below 5
  // once 8 have left: the one at 3.5 min, leaving at 13.5 min.
  EXPECT_FALSE(health.Report(kT0 + 13 * kMin + 29 * kS).floods[0].end.has_value());
  r = health.Report(kT0 + 20 * kMin);
  ASSERT_EQ(r.floods.size(), 1u);
  EXPECT_EQ(r.floods[0].end, kT0 + 13 * kMin + 30 * kS);
  EXPECT_EQ(r.floods[0].count, 12u);
  // An event exactly one interval after another is outside its interval: 11 annunciations
  // spaced a minute apart never make a flood.
  AlarmHealth spaced;
  for (int i = 0; i <= 10; ++i) spaced.Record(Annunciation("b", kT0 + i * kMin));
  EXPECT_TRUE(spaced.Report(kT0 + 11 * kMin).floods.empty());
}

TEST(AlarmHealthTest, LoadPerOperatorPosition) {
  AlarmHealthOptions options;
  options.window = core::kHour;
  options.positions = {{"body-shop", {"demo-works/stuttgart/body-shop"}}, {"utilities", {"demo-works/stuttgart/utilities"}}};
  AlarmHealth health(options);
  const std::string press = "demo-works/stuttgart/body-shop/body-line/press-1";
  health.Record(Annunciation("c1", kT0 + 1 * kMin));
  health.Record(Annunciation("c2", kT0 + 5 * kMin));
  health.Record(Annunciation("c1", kT0 + 11 * kMin));  // exactly 10 min after 1 min: apart
  health.Record(Annunciation("p1", kT0 + 20 * kMin, press));
  health.Record(Annunciation("x", kT0 + 30 * kMin, "demo-works/stuttgart/body-shop-annex/door"));  // not a subtree
  // Acknowledgement and return are not annunciations.
  health.Record(Event("c1", kT0 + 31 * kMin, AlarmState::kUnackActive, AlarmState::kAckActive, true));
  AlarmHealthReport r = health.Report(kT0 + 40 * kMin);
  EXPECT_EQ(r.annunciated, 5u);
  ASSERT_EQ(r.positions.size(), 3u);
  EXPECT_EQ(r.positions[0].name, "body-shop");
  EXPECT_EQ(r.positions[0].annunciated, 1u);
  EXPECT_EQ(r.positions[1].name, "utilities");
  EXPECT_EQ(r.positions[1].annunciated, 3u);
  EXPECT_DOUBLE_EQ(r.positions[1].average_per_interval, 0.5);  // 3 in 6 intervals
  EXPECT_EQ(r.positions[1].peak_per_interval, 2u);             // 1 min and 5 min, or 5 min and 11 min
  EXPECT_EQ(r.positions[2].name, "unassigned");
  EXPECT_EQ(r.positions[2].annunciated, 1u);
  // The window slides: an hour after the first annunciation it has left.
  r = health.Report(kT0 + 61 * kMin);
  EXPECT_EQ(r.annunciated, 4u);
  EXPECT_EQ(r.from, kT0 + 1 * kMin);
}

TEST(AlarmHealthTest, ChatteringFromTheAlarmSet) {
  AlarmSet set;
  ASSERT_TRUE(set.Add(PressureLimit("hi", LimitType::kHi, 9.0)).ok());
  AlarmDefinition lo = PressureLimit("lo", LimitType::kLo, 6.0);
  ASSERT_TRUE(set.Add(lo).ok());
  AlarmHealth health;
  // hi goes active at 0, 20 and 40 s: three times within a minute. lo at 0, 30 and 60 s:
  // never three within a minute (the one at 0 has left when the one at 60 comes).
  for (int second : {0, 20, 40}) {
    set.OnSample(kPressure, Good(kT0 + second * kS, 9.5));
    set.OnSample(kPressure, Good(kT0 + (second + 5) * kS, 8.0));
  }
  for (int second : {0, 30, 60}) {
    set.OnSample(kPressure, Good(kT0 + core::kHour + second * kS, 5.0));
    set.OnSample(kPressure, Good(kT0 + core::kHour + (second + 5) * kS, 8.0));
  }
  for (const AlarmEvent& e : set.DrainEvents()) health.Record(e);
  AlarmHealthReport r = health.Report(kT0 + 2 * core::kHour);
  ASSERT_EQ(r.chattering.size(), 1u);
  EXPECT_EQ(r.chattering[0].alarm_id, "hi");
  EXPECT_EQ(r.chattering[0].activations, 3u);
  EXPECT_EQ(r.chattering[0].max_in_interval, 3u);
  EXPECT_EQ(r.annunciated, 6u);
  EXPECT_TRUE(r.stale.empty());
}

TEST(AlarmHealthTest, ShelvedAlarmStillChattersButIsNotAnnunciated) {
  AlarmSet set;
  ASSERT_TRUE(set.Add(PressureLimit("hi", LimitType::kHi, 9.0)).ok());
  ASSERT_TRUE(set.Shelve("hi", kOperator, "chattering, work order 4711", core::kHour, kT0).ok());
  for (int second : {1, 11, 21, 31}) {
    set.OnSample(kPressure, Good(kT0 + second * kS, 9.5));
    set.OnSample(kPressure, Good(kT0 + (second + 5) * kS, 8.0));
  }
  AlarmHealth health;
  for (const AlarmEvent& e : set.DrainEvents()) health.Record(e);
  AlarmHealthReport r = health.Report(kT0 + kMin);
  EXPECT_EQ(r.annunciated, 0u);
  ASSERT_EQ(r.chattering.size(), 1u);
  EXPECT_EQ(r.chattering[0].max_in_interval, 4u);
  EXPECT_TRUE(r.bad_actors.empty());
}

TEST(AlarmHealthTest, StaleAfterMoreThanADayActive) {
  AlarmHealth health;
  health.Record(Annunciation("standing", kT0));
  health.Record(Event("standing", kT0 + kMin, AlarmState::kUnackActive, AlarmState::kAckActive, true));
  health.Record(Annunciation("cleared", kT0));
  health.Record(Event("cleared", kT0 + kMin, AlarmState::kUnackActive, AlarmState::kRtnUnack, false));
  health.Record(Annunciation("removed", kT0));
  health.Record(Event("removed", kT0 + kMin, AlarmState::kUnackActive, AlarmState::kOutOfService, true));
  EXPECT_TRUE(health.Report(kT0 + core::kDay).stale.empty());  // exactly a day: not longer
  AlarmHealthReport r = health.Report(kT0 + core::kDay + 1);
  ASSERT_EQ(r.stale.size(), 1u);
  EXPECT_EQ(r.stale[0].alarm_id, "standing");
  EXPECT_EQ(r.stale[0].asset, kCompressor);
  EXPECT_EQ(r.stale[0].active_since, kT0);
  EXPECT_EQ(r.stale[0].age, core::kDay + 1);
}

TEST(AlarmHealthTest, TopTenBadActorsOverTheWindow) {
  AlarmHealthOptions options;
  options.window = core::kHour;
  AlarmHealth health(options);
  // An old burst of "old" that leaves the window, then alarm k annunciates k times.
  for (int i = 0; i < 50; ++i) health.Record(Annunciation("old", kT0 + i * kS));
  int total = 0;
  for (int k = 1; k <= 12; ++k) {
    for (int i = 0; i < k; ++i) {
      health.Record(Annunciation("alarm-" + std::to_string(100 + k), kT0 + 2 * core::kHour + (k * 20 + i) * kS));
      ++total;
    }
  }
  AlarmHealthReport r = health.Report(kT0 + 2 * core::kHour + 30 * kMin);
  EXPECT_EQ(r.annunciated, static_cast<size_t>(total));
  ASSERT_EQ(r.bad_actors.size(), 10u);
  EXPECT_EQ(r.bad_actors[0].alarm_id, "alarm-112");
  EXPECT_EQ(r.bad_actors[0].annunciations, 12u);
  EXPECT_DOUBLE_EQ(r.bad_actors[0].share, 12.0 / total);
  EXPECT_EQ(r.bad_actors[9].alarm_id, "alarm-103");
  // Configurable: the top 3.
  options.top_n = 3;
  AlarmHealth top3(options);
  for (int k = 1; k <= 5; ++k) {
    for (int i = 0; i < k; ++i) top3.Record(Annunciation("a" + std::to_string(k), kT0 + (k * 10 + i) * kS));
  }
  r = top3.Report(kT0 + kMin);
  ASSERT_EQ(r.bad_actors.size(), 3u);
  EXPECT_EQ(r.bad_actors[2].alarm_id, "a3");
}

TEST(AlarmHealthTest, MaxEventsBoundsMemoryAndSaysSo) {
  AlarmHealthOptions options;
  options.max_events = 100;
  AlarmHealth health(options);
  for (int i = 0; i < 150; ++i) health.Record(Annunciation("a", kT0 + i * kS));
  AlarmHealthReport r = health.Report(kT0 + 150 * kS);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.annunciated, 100u);
  EXPECT_FALSE(health.Report(kT0 + 25 * core::kHour).truncated);  // dropped ones are out of the window
}

}  // namespace
}  // namespace shopfloor::rules
