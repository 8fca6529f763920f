// Alarm kinds: limits with deadband, on/off delays at their exact boundaries, rate of
// change, deviation, discrete and expression alarms, and definition validation.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "core/env.h"
#include "model/plant_config.h"

#include "alarm_test_util.h"

namespace shopfloor::rules {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace)
using V = std::vector<std::string>;

bool Active(const AlarmSet& set, std::string_view id) { return set.Get(id)->active; }

TEST(AlarmLimitTest, HighLimitTripsAboveSetpointAndClearsBelowTheDeadband) {
  AlarmSet set;
  ASSERT_TRUE(set.Add(PressureLimit("hi", LimitType::kHi, 9.0, 0.5)).ok());
  core::Timestamp t = kT0;
  auto feed = [&](double bar) {
    t += kS;
    set.OnSample(kPressure, Good(t, bar));
    return Active(set, "hi");
  };
  EXPECT_FALSE(feed(9.0));   // at the setpoint: not above it
  EXPECT_TRUE(feed(9.01));
  EXPECT_TRUE(feed(8.6));    // inside the deadband
  EXPECT_TRUE(feed(8.5));    // exactly at setpoint - deadband: still inside
  EXPECT_FALSE(feed(8.49));
  EXPECT_FALSE(feed(8.9));   // no re-alarm from below the setpoint
  EXPECT_FALSE(feed(9.0));
  EXPECT_TRUE(feed(9.1));
  EXPECT_EQ(set.DrainEvents().size(), 3u);
}

TEST(AlarmLimitTest, LowLimitsMirrorAndEachLimitIsItsOwnAlarm) {
  AlarmSet set;
  ASSERT_TRUE(set.Add(PressureLimit("lo", LimitType::kLo, 6.0, 0.2)).ok());
  ASSERT_TRUE(set.Add(PressureLimit("lolo", LimitType::kLoLo, 5.0, 0.2)).ok());
  ASSERT_TRUE(set.Add(PressureLimit("hihi", LimitType::kHiHi, 10.0, 0.2)).ok());
  core::Timestamp t = kT0;
  auto feed = [&](double bar) {
    t += kS;
    set.OnSample(kPressure, Good(t, bar));
    return std::string(Active(set, "lolo") ? "LL" : "") + (Active(set, "lo") ? "L" : "") +
           (Active(set, "hihi") ? "HH" : "");
  };
  EXPECT_EQ(feed(6.0), "");
  EXPECT_EQ(feed(5.99), "L");
  EXPECT_EQ(feed(4.9), "LLL");
  EXPECT_EQ(feed(5.2), "LLL");   // LOLO deadband: clears above 5.2 only
  EXPECT_EQ(feed(5.21), "L");
  EXPECT_EQ(feed(6.2), "L");
  EXPECT_EQ(feed(6.21), "");
  EXPECT_EQ(feed(10.01), "HH");
  EXPECT_EQ(feed(9.79), "");
}

TEST(AlarmLimitTest, SetpointsOfOneTagMustBeInOrder) {
  AlarmSet set;
  ASSERT_TRUE(set.Add(PressureLimit("hi", LimitType::kHi, 9.0)).ok());
  core::Status s = set.Add(PressureLimit("hihi", LimitType::kHiHi, 8.5));
  EXPECT_EQ(s.message(),
            "alarm 'hihi': HIHI setpoint 8.5 is out of order with HI setpoint 9 of alarm 'hi' (LOLO <= LO < HI <= HIHI)");
  EXPECT_FALSE(set.Add(PressureLimit("lo", LimitType::kLo, 9.0)).ok());  // LO must be strictly below HI
  EXPECT_TRUE(set.Add(PressureLimit("lo", LimitType::kLo, 8.99)).ok());
  EXPECT_TRUE(set.Add(PressureLimit("hihi", LimitType::kHiHi, 9.0)).ok());
}

class AlarmDelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AlarmDefinition d = PressureLimit("hi", LimitType::kHi, 9.0);
    d.on_delay = 30 * kS;
    d.off_delay = 10 * kS;
    ASSERT_TRUE(set_.Add(d).ok());
  }
  void Pressure(core::Timestamp ts, double bar) { set_.OnSample(kPressure, Good(ts, bar)); }
  AlarmSet set_;
};

TEST_F(AlarmDelayTest, OnDelayFiresExactlyWhenItHasHeld) {
  Pressure(kT0, 9.5);
  EXPECT_EQ(set_.NextDeadline(), kT0 + 30 * kS);
  set_.Tick(kT0 + 30 * kS - 1);
  EXPECT_FALSE(Active(set_, "hi"));
  set_.Tick(kT0 + 30 * kS);
  EXPECT_TRUE(Active(set_, "hi"));
  std::vector<AlarmEvent> events = set_.DrainEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].ts, kT0 + 30 * kS);
  EXPECT_FALSE(set_.NextDeadline().has_value());
}

TEST_F(AlarmDelayTest, ADipRestartsTheOnDelay) {
  Pressure(kT0, 9.5);
  Pressure(kT0 + 10 * kS, 8.0);
  EXPECT_FALSE(set_.NextDeadline().has_value());
  Pressure(kT0 + 20 * kS, 9.5);
  set_.Tick(kT0 + 49 * kS);
  EXPECT_FALSE(Active(set_, "hi"));
  set_.Tick(kT0 + 50 * kS);
  EXPECT_TRUE(Active(set_, "hi"));
}

TEST_F(AlarmDelayTest, OffDelayClearsExactlyWhenItHasHeldAndARecurrenceCancelsIt) {
  Pressure(kT0, 9.5);
  set_.Tick(kT0 + 30 * kS);
  Pressure(kT0 + 40 * kS, 8.0);
  Pressure(kT0 + 45 * kS, 9.2);  // back before the off delay ran out
  set_.Tick(kT0 + 60 * kS);
  EXPECT_TRUE(Active(set_, "hi"));
  Pressure(kT0 + 70 * kS, 8.0);
  set_.Tick(kT0 + 80 * kS - 1);
  EXPECT_TRUE(Active(set_, "hi"));
  set_.Tick(kT0 + 80 * kS);
  EXPECT_FALSE(Active(set_, "hi"));
  EXPECT_EQ(Transitions(set_.DrainEvents()), (V{"normal->unack_active:process", "unack_active->rtn_unack:process"}));
}

TEST_F(AlarmDelayTest, ABadSampleRestartsTheDelay) {
  Pressure(kT0, 9.5);
  set_.OnSample(kPressure, Bad(kT0 + 10 * kS));
  EXPECT_TRUE(set_.Get("hi")->input_bad);
  Pressure(kT0 + 20 * kS, 9.5);
  set_.Tick(kT0 + 30 * kS);
  EXPECT_FALSE(Active(set_, "hi"));  // the hold was interrupted by an unknown value
  set_.Tick(kT0 + 50 * kS);
  EXPECT_TRUE(Active(set_, "hi"));
}

TEST_F(AlarmDelayTest, TimeNeverRunsBackwards) {
  Pressure(kT0, 9.5);
  set_.Tick(kT0 + 20 * kS);
  Pressure(kT0 + 5 * kS, 9.6);  // a late sample: evaluated at the alarm's latest time
  set_.Tick(kT0 + 29 * kS);
  EXPECT_FALSE(Active(set_, "hi"));
  set_.Tick(kT0 + 30 * kS);
  EXPECT_TRUE(Active(set_, "hi"));
}

TEST(AlarmRateTest, RisingRateOverTheWindow) {
  AlarmSet set;
  AlarmDefinition d = PressureLimit("rate", LimitType::kHi, 0);
  d.condition = RateOfChangeCondition{0.05, core::kMinute, RateDirection::kRising, 0.01};
  ASSERT_TRUE(set.Add(d).ok());
  AlarmDefinition falling = d;
  falling.id = "fall";
  falling.condition = RateOfChangeCondition{0.05, core::kMinute, RateDirection::kFalling, 0};
  ASSERT_TRUE(set.Add(falling).ok());
  set.OnSample(kPressure, Good(kT0, 7.0));
  EXPECT_TRUE(set.Get("rate")->input_bad);  // one sample: no rate yet
  set.OnSample(kPressure, Good(kT0 + 10 * kS, 7.5));  // 0.05 bar/s: not above
  EXPECT_FALSE(Active(set, "rate"));
  set.OnSample(kPressure, Good(kT0 + 20 * kS, 8.2));  // (8.2 - 7.0) / 20 = 0.06
  EXPECT_TRUE(Active(set, "rate"));
  EXPECT_NEAR(set.Get("rate")->value->as_double(), 0.06, 1e-12);
  EXPECT_FALSE(Active(set, "fall"));
  // 0.045 bar/s is inside the deadband (0.04 .. 0.05): still active.
  set.OnSample(kPressure, Good(kT0 + 40 * kS, 8.8));
  EXPECT_NEAR(set.Get("rate")->value->as_double(), 0.045, 1e-12);
  EXPECT_TRUE(Active(set, "rate"));
  // Flat for a minute: the window holds 8.8 .. 8.8 only.
  set.OnSample(kPressure, Good(kT0 + 70 * kS, 8.8));
  set.OnSample(kPressure, Good(kT0 + 100 * kS, 8.8));
  EXPECT_FALSE(Active(set, "rate"));
  set.OnSample(kPressure, Good(kT0 + 110 * kS, 6.0));  // (6.0 - 8.8) / 40 s = -0.07
  EXPECT_TRUE(Active(set, "fall"));
  EXPECT_FALSE(Active(set, "rate"));
}

TEST(AlarmDeviationTest, DeviationFromTheSetpointTag) {
  AlarmSet set;
  AlarmDefinition d = PressureLimit("dev", LimitType::kHi, 0);
  d.condition = DeviationCondition{"pressure_setpoint", 0.5, 0.125};
  ASSERT_TRUE(set.Add(d).ok());
  EXPECT_EQ(set.inputs(), (std::vector<std::string>{kPressure, kSetpoint}));
  set.OnSample(kPressure, Good(kT0, 7.0));
  EXPECT_TRUE(set.Get("dev")->input_bad);  // no setpoint yet
  set.OnSample(kSetpoint, Good(kT0 + kS, 7.5));
  EXPECT_FALSE(Active(set, "dev"));  // |7.0 - 7.5| = 0.5: not above
  set.OnSample(kSetpoint, Good(kT0 + 2 * kS, 7.75));
  EXPECT_TRUE(Active(set, "dev"));
  EXPECT_EQ(set.Get("dev")->value->as_double(), -0.75);
  set.OnSample(kPressure, Good(kT0 + 3 * kS, 7.3));  // 0.45: inside the deadband
  EXPECT_TRUE(Active(set, "dev"));
  set.OnSample(kPressure, Good(kT0 + 4 * kS, 7.375));  // exactly limit - deadband: still inside
  EXPECT_TRUE(Active(set, "dev"));
  set.OnSample(kPressure, Good(kT0 + 5 * kS, 7.5));
  EXPECT_FALSE(Active(set, "dev"));
  set.OnSample(kPressure, Good(kT0 + 6 * kS, 8.5));  // above the setpoint counts too
  EXPECT_TRUE(Active(set, "dev"));
}

TEST(AlarmDiscreteTest, PackMLStateBoolAndString) {
  AlarmSet set;
  AlarmDefinition aborted = PressureLimit("aborted", LimitType::kHi, 0);
  aborted.tag = "state";
  aborted.condition = DiscreteCondition{int64_t{9}};  // PackML Aborted
  ASSERT_TRUE(set.Add(aborted).ok());
  AlarmDefinition tripped = aborted;
  tripped.id = "tripped";
  tripped.tag = "motor_trip";
  tripped.condition = DiscreteCondition{true};
  ASSERT_TRUE(set.Add(tripped).ok());
  AlarmDefinition mode = aborted;
  mode.id = "manual";
  mode.tag = "mode";
  mode.condition = DiscreteCondition{"manual"};
  ASSERT_TRUE(set.Add(mode).ok());
  const std::string base = std::string(kCompressor) + "/";

  set.OnSample(kState, Good(kT0, int64_t{6}));
  EXPECT_FALSE(Active(set, "aborted"));
  set.OnSample(kState, Good(kT0 + kS, 9.0));  // a double 9 matches the int state
  EXPECT_TRUE(Active(set, "aborted"));
  EXPECT_EQ(set.Get("aborted")->value->as_double(), 9.0);
  set.OnSample(kState, Good(kT0 + 2 * kS, int64_t{2}));
  EXPECT_FALSE(Active(set, "aborted"));
  set.OnSample(kState, Good(kT0 + kS, int64_t{9}));  // older than the latest: dropped
  EXPECT_FALSE(Active(set, "aborted"));

  set.OnSample(base + "motor_trip", Good(kT0, true));
  EXPECT_TRUE(Active(set, "tripped"));
  set.OnSample(base + "motor_trip", Good(kT0 + kS, false));
  EXPECT_FALSE(Active(set, "tripped"));

  set.OnSample(base + "mode", Good(kT0, "manual"));
  EXPECT_TRUE(Active(set, "manual"));
  set.OnSample(base + "mode", Good(kT0 + kS, "auto"));
  EXPECT_FALSE(Active(set, "manual"));
  set.OnSample(base + "mode", core::Sample{kT0 + 2 * kS, "manual", core::Quality::Bad()});
  EXPECT_FALSE(Active(set, "manual"));  // Bad: held
  EXPECT_TRUE(set.Get("manual")->input_bad);
}

TEST(AlarmExpressionTest, AnyBooleanRule) {
  AlarmSet set;
  AlarmDefinition d = PressureLimit("wear", LimitType::kHi, 0);
  d.tag.clear();
  d.condition = ExpressionCondition{"$vibration_rms > 4.5 and $state == 6"};
  d.on_delay = 5 * kS;
  ASSERT_TRUE(set.Add(d).ok());
  EXPECT_EQ(set.inputs(), (std::vector<std::string>{kVibration, kState}));
  set.OnSample(kVibration, Good(kT0, 5.0));
  EXPECT_TRUE(set.Get("wear")->input_bad);  // state unknown: "true and unknown" is unknown
  set.OnSample(kState, Good(kT0 + kS, int64_t{6}));
  set.Tick(kT0 + 6 * kS - 1);
  EXPECT_FALSE(Active(set, "wear"));
  set.Tick(kT0 + 6 * kS);
  EXPECT_TRUE(Active(set, "wear"));
  EXPECT_EQ(set.Get("wear")->value->as_bool(), true);
  set.OnSample(kState, Good(kT0 + 7 * kS, int64_t{2}));
  EXPECT_FALSE(Active(set, "wear"));  // no off delay
}

TEST(AlarmDefinitionTest, EveryFieldIsValidatedByName) {
  auto message = [](AlarmDefinition d) { return ValidateAlarmDefinition(d).message(); };
  AlarmDefinition ok = PressureLimit("p.hi", LimitType::kHi, 9.0, 0.5);
  EXPECT_TRUE(ValidateAlarmDefinition(ok).ok());
  AlarmDefinition d = ok;
  d.id = "bad id";
  EXPECT_EQ(message(d), "alarm id must be 1 to 200 letters, digits or '._-/:', got 'bad id'");
  d = ok;
  d.asset = "demo-works//x";
  EXPECT_EQ(message(d), "alarm 'p.hi': asset must be an asset path, got 'demo-works//x'");
  d = ok;
  d.tag = "";
  EXPECT_EQ(message(d), "alarm 'p.hi': tag must be a valid tag name, got ''");
  d = ok;
  d.condition = LimitCondition{LimitType::kHi, 9.0, -1};
  EXPECT_EQ(message(d), "alarm 'p.hi': deadband must be a finite number >= 0, got -1");
  d.condition = LimitCondition{LimitType::kHi, std::numeric_limits<double>::infinity(), 0};
  EXPECT_EQ(message(d), "alarm 'p.hi': setpoint must be finite, got inf");
  d.condition = RateOfChangeCondition{0, core::kMinute, RateDirection::kEither, 0};
  EXPECT_EQ(message(d), "alarm 'p.hi': limit_per_second must be a finite number > 0, got 0");
  d.condition = RateOfChangeCondition{1, 0, RateDirection::kEither, 0};
  EXPECT_EQ(message(d), "alarm 'p.hi': window must be > 0 and at most 366d, got 0ns");
  d.condition = RateOfChangeCondition{1, kS, RateDirection::kEither, 1};
  EXPECT_EQ(message(d), "alarm 'p.hi': deadband must be smaller than limit_per_second");
  d.condition = DeviationCondition{"discharge_pressure", 1, 0};
  EXPECT_EQ(message(d), "alarm 'p.hi': setpoint_tag must be a valid tag name other than tag, got 'discharge_pressure'");
  d.condition = DeviationCondition{"pressure_setpoint", -1, 0};
  EXPECT_EQ(message(d), "alarm 'p.hi': limit must be a finite number > 0, got -1");
  d.condition = ExpressionCondition{""};
  EXPECT_EQ(message(d), "alarm 'p.hi': tag must be empty for an expression alarm (the expression names its tags)");
  d.tag.clear();
  EXPECT_EQ(message(d), "alarm 'p.hi': expression text must not be empty");
  d = ok;
  d.on_delay = -1;
  EXPECT_EQ(message(d), "alarm 'p.hi': on_delay must be 0 to 366d, got -1ns");
  d = ok;
  d.off_delay = 367 * core::kDay;
  EXPECT_EQ(message(d), "alarm 'p.hi': off_delay must be 0 to 366d, got 31708800000000000ns");
  d = ok;
  d.priority = static_cast<AlarmPriority>(5);
  EXPECT_EQ(message(d), "alarm 'p.hi': priority must be 1 (urgent) to 4 (low), got 5");
}

TEST(AlarmDefinitionTest, ExpressionsAndTagsAreCheckedAgainstTheModel) {
  const std::map<std::string, core::ValueType, std::less<>> model = {
      {kPressure, core::ValueType::kDouble}, {kState, core::ValueType::kInt64},
      {std::string(kCompressor) + "/running", core::ValueType::kBool}};
  AlarmSetOptions options;
  options.resolver = [&](std::string_view key) -> std::optional<core::ValueType> {
    auto it = model.find(key);
    return it == model.end() ? std::nullopt : std::optional(it->second);
  };
  AlarmSet set(options);
  AlarmDefinition d = PressureLimit("typo", LimitType::kHi, 9);
  d.tag = "discharge_presure";
  EXPECT_EQ(set.Add(d).message(),
            "alarm 'typo': condition: 1:5: unknown tag 'demo-works/stuttgart/utilities/compressor-1/discharge_presure'");
  d.tag = "running";
  EXPECT_EQ(set.Add(d).message(), "alarm 'typo': tag 'demo-works/stuttgart/utilities/compressor-1/running' must be numeric");
  d.tag = "discharge_pressure";
  d.suppression = "$state";
  EXPECT_EQ(set.Add(d).message(), "alarm 'typo': suppression must be boolean, got a number");
  d.suppression = "$state != ";
  EXPECT_EQ(set.Add(d).code(), core::StatusCode::kInvalidArgument);
  d.suppression = "";
  d.tag.clear();
  d.condition = ExpressionCondition{"$discharge_pressure * 2"};
  EXPECT_EQ(set.Add(d).message(), "alarm 'typo': expression must be boolean (a condition), got a number");
  d.tag = "mode";
  d.condition = DiscreteCondition{"manual"};
  EXPECT_EQ(set.Add(d).message(), "alarm 'typo': unknown tag 'demo-works/stuttgart/utilities/compressor-1/mode'");
  EXPECT_EQ(set.size(), 0u);
}

// The examples of docs/alarms.md, as definitions against the demo plant's model.
TEST(AlarmDefinitionTest, DocumentedDemoAlarmsCompileAgainstTheDemoModel) {
  std::vector<core::Status> problems;
  auto config = model::LoadPlantConfigFile(core::Env::Posix(),
                                           std::string(SHOPFLOOR_SOURCE_DIR) + "/config/demo-works.yaml", &problems);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  std::map<std::string, core::ValueType, std::less<>> types;
  for (const model::SeriesTag& series : model::ListSeries(*config)) types[series.series_key] = series.tag->type;
  AlarmSetOptions options;
  options.resolver = [&](std::string_view key) -> std::optional<core::ValueType> {
    auto it = types.find(key);
    return it == types.end() ? std::nullopt : std::optional(it->second);
  };
  std::ifstream file(std::string(SHOPFLOOR_SOURCE_DIR) + "/docs/alarms.md");
  std::stringstream doc;
  doc << file.rdbuf();
  const std::string pasteuriser = "demo-works/stuttgart/bottling/bottling-line/pasteuriser";
  auto make = [](std::string id, std::string asset, std::string tag, AlarmCondition condition) {
    AlarmDefinition d;
    d.id = std::move(id);
    d.asset = std::move(asset);
    d.tag = std::move(tag);
    d.condition = std::move(condition);
    return d;
  };
  std::vector<AlarmDefinition> defs = {
      make("compressor-1.pressure.hihi", kCompressor, "discharge_pressure", LimitCondition{LimitType::kHiHi, 10.5, 0.2}),
      make("compressor-1.pressure.hi", kCompressor, "discharge_pressure", LimitCondition{LimitType::kHi, 9.5, 0.2}),
      make("compressor-1.pressure.dev", kCompressor, "discharge_pressure", DeviationCondition{"pressure_setpoint", 0.8, 0.2}),
      make("compressor-1.pressure.drop", kCompressor, "discharge_pressure",
           RateOfChangeCondition{0.05, core::kMinute, RateDirection::kFalling, 0}),
      make("compressor-1.aborted", kCompressor, "state", DiscreteCondition{int64_t{9}}),
      make("compressor-1.bearing", kCompressor, "", ExpressionCondition{"hysteresis(avg($vibration_rms, 5m), 4.0, 4.5)"}),
      make("pasteuriser.zone3.lo", pasteuriser, "zone3_temperature", LimitCondition{LimitType::kLo, 70, 0.5}),
      make("pasteuriser.zones.spread", pasteuriser, "",
           ExpressionCondition{"max(abs($zone1_temperature - $zone2_temperature), abs($zone2_temperature - "
                               "$zone3_temperature)) > 5"}),
  };
  defs[1].suppression = defs[2].suppression = defs[6].suppression = "$state != 6";
  AlarmSet set(options);
  for (const AlarmDefinition& d : defs) {
    EXPECT_NE(doc.str().find("id " + d.id + " "), std::string::npos) << "not in docs/alarms.md: " << d.id;
    EXPECT_TRUE(set.Add(d).ok()) << d.id << ": " << set.Add(d).ToString();
  }
  EXPECT_NE(doc.str().find("hysteresis(avg($vibration_rms, 5m), 4.0, 4.5)"), std::string::npos);
  EXPECT_NE(doc.str().find("suppression \"$state != 6\""), std::string::npos);
}

}  // namespace
}  // namespace shopfloor::rules
