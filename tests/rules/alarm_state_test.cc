// The ISA-18.2 state machine: every transition, every refused action and the roles, on
// simulated time (plain timestamps).
#include <gtest/gtest.h>

#include "alarm_test_util.h"

namespace shopfloor::rules {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace)
using V = std::vector<std::string>;

class AlarmStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AlarmDefinition hi = PressureLimit("p.hi", LimitType::kHi, 9.0, 0.5);
    hi.suppression = "$state != 6";  // process alarm of a stopped machine: by design
    ASSERT_TRUE(set_.Add(hi).ok());
    set_.OnSample(kState, Good(kT0, int64_t{6}));
    EXPECT_TRUE(set_.DrainEvents().empty());
  }
  void Pressure(core::Timestamp ts, double bar) { set_.OnSample(kPressure, Good(ts, bar)); }
  void MachineState(core::Timestamp ts, int64_t state) { set_.OnSample(kState, Good(ts, state)); }
  AlarmState State() { return set_.Get("p.hi")->state; }
  V Drain() { return Transitions(set_.DrainEvents()); }

  AlarmSet set_;
};

TEST_F(AlarmStateTest, ActiveClearThenAcknowledgeGoesThroughRtnUnack) {
  Pressure(kT0 + 1 * kS, 8.0);
  EXPECT_TRUE(set_.DrainEvents().empty());
  Pressure(kT0 + 2 * kS, 9.4);
  std::vector<AlarmEvent> events = set_.DrainEvents();
  ASSERT_EQ(events.size(), 1u);
  const AlarmEvent& e = events[0];
  EXPECT_EQ(e.ts, kT0 + 2 * kS);
  EXPECT_EQ(e.alarm_id, "p.hi");
  EXPECT_EQ(e.asset, kCompressor);
  EXPECT_EQ(e.from, AlarmState::kNormal);
  EXPECT_EQ(e.to, AlarmState::kUnackActive);
  EXPECT_EQ(e.cause, AlarmCause::kProcess);
  EXPECT_TRUE(e.active);
  ASSERT_TRUE(e.value.has_value());
  EXPECT_EQ(e.value->as_double(), 9.4);
  EXPECT_EQ(e.priority, AlarmPriority::kHigh);
  EXPECT_TRUE(e.user.empty());

  Pressure(kT0 + 3 * kS, 8.0);
  EXPECT_EQ(Drain(), V{"unack_active->rtn_unack:process"});
  ASSERT_TRUE(set_.Acknowledge("p.hi", kOperator, "checked the relief valve", kT0 + 4 * kS).ok());
  events = set_.DrainEvents();
  ASSERT_EQ(Transitions(events), V{"rtn_unack->normal:ack"});
  EXPECT_EQ(events[0].user, "olga");
  EXPECT_EQ(events[0].comment, "checked the relief valve");
  EXPECT_EQ(events[0].ts, kT0 + 4 * kS);
  EXPECT_FALSE(events[0].active);
  EXPECT_EQ(State(), AlarmState::kNormal);
}

TEST_F(AlarmStateTest, AcknowledgeWhileActiveThenClearGoesToNormal) {
  Pressure(kT0 + 1 * kS, 9.5);
  ASSERT_TRUE(set_.Acknowledge("p.hi", kOperator, "", kT0 + 2 * kS).ok());
  Pressure(kT0 + 3 * kS, 8.0);
  EXPECT_EQ(Drain(), (V{"normal->unack_active:process", "unack_active->ack_active:ack", "ack_active->normal:process"}));
  const AlarmStatus s = *set_.Get("p.hi");
  EXPECT_FALSE(s.active);
  EXPECT_TRUE(s.acknowledged);
  EXPECT_EQ(s.since, kT0 + 3 * kS);
}

TEST_F(AlarmStateTest, ReturnedUnacknowledgedAlarmReactivates) {
  Pressure(kT0 + 1 * kS, 9.5);
  Pressure(kT0 + 2 * kS, 8.0);
  Pressure(kT0 + 3 * kS, 9.5);
  EXPECT_EQ(Drain(), (V{"normal->unack_active:process", "unack_active->rtn_unack:process",
                        "rtn_unack->unack_active:process"}));
}

TEST_F(AlarmStateTest, RefusedActionsChangeNothing) {
  auto expect_refused = [&](core::Status s, core::StatusCode code, std::string_view text) {
    EXPECT_EQ(s.code(), code) << s.ToString();
    EXPECT_NE(s.message().find(text), std::string::npos) << s.message();
  };
  const core::Timestamp t = kT0 + kS;
  expect_refused(set_.Acknowledge("p.hi", kOperator, "", t), core::StatusCode::kInvalidArgument,
                 "cannot acknowledge alarm 'p.hi': there is nothing to acknowledge (state normal)");
  expect_refused(set_.Acknowledge("nope", kOperator, "", t), core::StatusCode::kNotFound, "no alarm 'nope'");
  expect_refused(set_.Unshelve("p.hi", kOperator, "", t), core::StatusCode::kInvalidArgument, "it is not shelved");
  expect_refused(set_.ReturnToService("p.hi", kEngineer, "", t), core::StatusCode::kInvalidArgument, "it is in service");
  expect_refused(set_.Shelve("p.hi", kOperator, "", kS, t), core::StatusCode::kInvalidArgument, "needs a comment");
  expect_refused(set_.Shelve("p.hi", kOperator, "noisy", 0, t), core::StatusCode::kInvalidArgument,
                 "the duration must be > 0 and at most 28800s");
  expect_refused(set_.Shelve("p.hi", kOperator, "noisy", 8 * core::kHour + 1, t), core::StatusCode::kInvalidArgument,
                 "at most 28800s");
  expect_refused(set_.RemoveFromService("p.hi", kEngineer, "", t), core::StatusCode::kInvalidArgument,
                 "needs a comment");
  // Roles: viewer < operator < engineer.
  expect_refused(set_.Shelve("p.hi", kViewer, "noisy", kS, t), core::StatusCode::kPermissionDenied,
                 "shelving alarm 'p.hi' needs role operator or above; 'vera' is viewer");
  expect_refused(set_.RemoveFromService("p.hi", kOperator, "maintenance", t), core::StatusCode::kPermissionDenied,
                 "needs role engineer or above; 'olga' is operator");
  Pressure(kT0 + 2 * kS, 9.5);
  EXPECT_EQ(Drain(), V{"normal->unack_active:process"});
  expect_refused(set_.Acknowledge("p.hi", kViewer, "", kT0 + 3 * kS), core::StatusCode::kPermissionDenied,
                 "acknowledging alarm 'p.hi' needs role operator");
  ASSERT_TRUE(set_.Acknowledge("p.hi", kAdmin, "", kT0 + 3 * kS).ok());
  expect_refused(set_.Acknowledge("p.hi", kOperator, "", kT0 + 4 * kS), core::StatusCode::kInvalidArgument,
                 "it is already acknowledged (state ack_active)");
  EXPECT_EQ(Drain(), V{"unack_active->ack_active:ack"});
  ASSERT_TRUE(set_.RemoveFromService("p.hi", kEngineer, "transmitter replaced", kT0 + 5 * kS).ok());
  expect_refused(set_.RemoveFromService("p.hi", kAdmin, "again", kT0 + 6 * kS), core::StatusCode::kInvalidArgument,
                 "it is already out of service");
  expect_refused(set_.Shelve("p.hi", kOperator, "noisy", kS, kT0 + 6 * kS), core::StatusCode::kInvalidArgument,
                 "it is out of service");
  expect_refused(set_.Acknowledge("p.hi", kOperator, "", kT0 + 6 * kS), core::StatusCode::kInvalidArgument,
                 "(state out_of_service)");
  EXPECT_EQ(Drain(), V{"ack_active->out_of_service:out_of_service"});
}

TEST_F(AlarmStateTest, ShelveExpiresExactlyAtItsEndAndReannunciates) {
  Pressure(kT0 + 1 * kS, 9.5);
  ASSERT_TRUE(set_.Shelve("p.hi", kOperator, "known leak, fitter on the way", 10 * core::kMinute, kT0 + 2 * kS).ok());
  const core::Timestamp until = kT0 + 2 * kS + 10 * core::kMinute;
  EXPECT_EQ(set_.Get("p.hi")->shelved_until, until);
  EXPECT_EQ(set_.NextDeadline(), until);
  EXPECT_EQ(set_.Current().size(), 1u);
  EXPECT_EQ(set_.Current()[0].state, AlarmState::kShelved);
  set_.Tick(until - 1);
  EXPECT_EQ(State(), AlarmState::kShelved);
  set_.Tick(until);
  std::vector<AlarmEvent> events = set_.DrainEvents();
  EXPECT_EQ(Transitions(events), (V{"normal->unack_active:process", "unack_active->shelved:shelve",
                                    "shelved->unack_active:shelve_expired"}));
  EXPECT_EQ(events[1].comment, "known leak, fitter on the way");
  EXPECT_EQ(events[2].ts, until);
  EXPECT_FALSE(set_.NextDeadline().has_value());
}

TEST_F(AlarmStateTest, AlarmThatWentActiveWhileShelvedIsAnnunciatedOnUnshelve) {
  ASSERT_TRUE(set_.Shelve("p.hi", kOperator, "calibration", core::kHour, kT0 + 1 * kS).ok());
  Pressure(kT0 + 2 * kS, 9.5);
  std::vector<AlarmEvent> events = set_.DrainEvents();
  EXPECT_EQ(Transitions(events), (V{"normal->shelved:shelve", "shelved->shelved:process"}));
  EXPECT_TRUE(events[1].active);  // recorded, not annunciated
  ASSERT_TRUE(set_.Unshelve("p.hi", kOperator, "calibration done", kT0 + 3 * kS).ok());
  EXPECT_EQ(Drain(), V{"shelved->unack_active:unshelve"});
}

TEST_F(AlarmStateTest, AlarmActiveAndClearedWhileShelvedReturnsToNormal) {
  ASSERT_TRUE(set_.Shelve("p.hi", kOperator, "calibration", core::kMinute, kT0 + 1 * kS).ok());
  Pressure(kT0 + 2 * kS, 9.5);
  Pressure(kT0 + 3 * kS, 8.0);
  set_.Tick(kT0 + 1 * kS + core::kMinute);
  EXPECT_EQ(Drain(), (V{"normal->shelved:shelve", "shelved->shelved:process", "shelved->shelved:process",
                        "shelved->normal:shelve_expired"}));
  EXPECT_TRUE(set_.Current().empty());
}

TEST_F(AlarmStateTest, AcknowledgedAlarmStillActiveAfterShelveStaysAcknowledged) {
  Pressure(kT0 + 1 * kS, 9.5);
  ASSERT_TRUE(set_.Acknowledge("p.hi", kOperator, "", kT0 + 2 * kS).ok());
  ASSERT_TRUE(set_.Shelve("p.hi", kOperator, "standing alarm", core::kHour, kT0 + 3 * kS).ok());
  // Renewing a shelve moves its end.
  ASSERT_TRUE(set_.Shelve("p.hi", kOperator, "still standing", 2 * core::kHour, kT0 + 4 * kS).ok());
  EXPECT_EQ(set_.Get("p.hi")->shelved_until, kT0 + 4 * kS + 2 * core::kHour);
  ASSERT_TRUE(set_.Unshelve("p.hi", kOperator, "", kT0 + 5 * kS).ok());
  EXPECT_EQ(Drain(), (V{"normal->unack_active:process", "unack_active->ack_active:ack", "ack_active->shelved:shelve",
                        "shelved->shelved:shelve", "shelved->ack_active:unshelve"}));
}

TEST_F(AlarmStateTest, SuppressedByDesignHidesTheConditionUntilTheMachineRuns) {
  MachineState(kT0 + 1 * kS, 2);  // Stopped
  Pressure(kT0 + 2 * kS, 9.5);
  EXPECT_EQ(State(), AlarmState::kSuppressed);
  EXPECT_TRUE(set_.Get("p.hi")->active);
  ASSERT_EQ(set_.Acknowledge("p.hi", kOperator, "", kT0 + 3 * kS).code(), core::StatusCode::kInvalidArgument);
  MachineState(kT0 + 4 * kS, 6);  // Execute: still over the limit, so it annunciates now
  std::vector<AlarmEvent> events = set_.DrainEvents();
  EXPECT_EQ(Transitions(events), (V{"normal->suppressed:suppress", "suppressed->suppressed:process",
                                    "suppressed->unack_active:unsuppress"}));
  EXPECT_EQ(events[2].ts, kT0 + 4 * kS);
}

TEST_F(AlarmStateTest, ConditionGoneBeforeSuppressionEndsLeavesNothingToAcknowledge) {
  MachineState(kT0 + 1 * kS, 2);
  Pressure(kT0 + 2 * kS, 9.5);
  Pressure(kT0 + 3 * kS, 8.0);
  MachineState(kT0 + 4 * kS, 6);
  EXPECT_EQ(Drain(), (V{"normal->suppressed:suppress", "suppressed->suppressed:process",
                        "suppressed->suppressed:process", "suppressed->normal:unsuppress"}));
}

TEST_F(AlarmStateTest, UnknownSuppressionDoesNotHideTheAlarm) {
  MachineState(kT0 + 1 * kS, 2);
  set_.OnSample(kState, Bad(kT0 + 2 * kS));
  Pressure(kT0 + 3 * kS, 9.5);
  EXPECT_EQ(Drain(), (V{"normal->suppressed:suppress", "suppressed->normal:unsuppress",
                        "normal->unack_active:process"}));
}

TEST_F(AlarmStateTest, ShelvedUnderSuppressionShowsSuppressedAndExpiresQuietly) {
  MachineState(kT0 + 1 * kS, 2);
  ASSERT_TRUE(set_.Shelve("p.hi", kOperator, "restart tests", core::kMinute, kT0 + 2 * kS).ok());
  set_.Tick(kT0 + 2 * kS + core::kMinute);
  MachineState(kT0 + 3 * kS + core::kMinute, 6);
  EXPECT_EQ(Drain(), (V{"normal->suppressed:suppress", "suppressed->suppressed:shelve",
                        "suppressed->suppressed:shelve_expired", "suppressed->normal:unsuppress"}));
}

TEST_F(AlarmStateTest, OutOfServiceReportsNothingAndReturnsToTheProcessState) {
  ASSERT_TRUE(set_.Shelve("p.hi", kOperator, "noisy", core::kHour, kT0 + 1 * kS).ok());
  ASSERT_TRUE(set_.RemoveFromService("p.hi", kEngineer, "transmitter swap", kT0 + 2 * kS).ok());
  EXPECT_FALSE(set_.Get("p.hi")->shelved);  // removal ends the shelve
  EXPECT_FALSE(set_.NextDeadline().has_value());
  Pressure(kT0 + 3 * kS, 9.5);
  Pressure(kT0 + 4 * kS, 8.0);
  Pressure(kT0 + 5 * kS, 9.6);
  EXPECT_EQ(Drain(), (V{"normal->shelved:shelve", "shelved->out_of_service:out_of_service"}));
  EXPECT_TRUE(set_.Get("p.hi")->active);
  ASSERT_TRUE(set_.ReturnToService("p.hi", kAdmin, "", kT0 + 6 * kS).ok());
  std::vector<AlarmEvent> events = set_.DrainEvents();
  EXPECT_EQ(Transitions(events), V{"out_of_service->unack_active:in_service"});
  EXPECT_EQ(events[0].user, "ada");
  EXPECT_EQ(events[0].value->as_double(), 9.6);
  // Out of service while active, cleared meanwhile: back to Normal.
  ASSERT_TRUE(set_.RemoveFromService("p.hi", kEngineer, "again", kT0 + 7 * kS).ok());
  Pressure(kT0 + 8 * kS, 8.0);
  ASSERT_TRUE(set_.ReturnToService("p.hi", kEngineer, "", kT0 + 9 * kS).ok());
  EXPECT_EQ(Drain(), (V{"unack_active->out_of_service:out_of_service", "out_of_service->normal:in_service"}));
}

TEST_F(AlarmStateTest, BadInputHoldsTheStateAndIsFlagged) {
  Pressure(kT0 + 1 * kS, 9.5);
  set_.OnSample(kPressure, Bad(kT0 + 2 * kS));
  AlarmStatus s = *set_.Get("p.hi");
  EXPECT_TRUE(s.active);
  EXPECT_TRUE(s.input_bad);
  EXPECT_FALSE(s.value.has_value());
  set_.Tick(kT0 + core::kHour);
  EXPECT_EQ(State(), AlarmState::kUnackActive);
  Pressure(kT0 + core::kHour + kS, 8.0);
  EXPECT_FALSE(set_.Get("p.hi")->input_bad);
  EXPECT_EQ(Drain(), (V{"normal->unack_active:process", "unack_active->rtn_unack:process"}));
  // A Bad sample never raises a normal alarm either, whatever value it carries.
  ASSERT_TRUE(set_.Acknowledge("p.hi", kOperator, "", kT0 + core::kHour + 2 * kS).ok());
  set_.OnSample(kPressure, core::Sample{kT0 + core::kHour + 3 * kS, 12.0, core::Quality::BadSensorFailure()});
  EXPECT_EQ(State(), AlarmState::kNormal);
  EXPECT_EQ(Drain(), V{"rtn_unack->normal:ack"});
}

TEST_F(AlarmStateTest, CurrentListsNonNormalAlarmsByPriorityThenId) {
  AlarmDefinition hihi = PressureLimit("p.hihi", LimitType::kHiHi, 10.0);
  hihi.priority = AlarmPriority::kUrgent;
  ASSERT_TRUE(set_.Add(hihi).ok());
  AlarmDefinition lo = PressureLimit("p.lo", LimitType::kLo, 6.0);
  lo.priority = AlarmPriority::kLow;
  ASSERT_TRUE(set_.Add(lo).ok());
  EXPECT_EQ(set_.size(), 3u);
  EXPECT_EQ(set_.inputs(), (std::vector<std::string>{kPressure, kState}));
  EXPECT_EQ(set_.Add(lo).code(), core::StatusCode::kAlreadyExists);
  Pressure(kT0 + 1 * kS, 10.5);
  std::vector<AlarmStatus> current = set_.Current();
  ASSERT_EQ(current.size(), 2u);
  EXPECT_EQ(current[0].id, "p.hihi");
  EXPECT_EQ(current[1].id, "p.hi");
  Pressure(kT0 + 2 * kS, 5.0);
  current = set_.Current();
  ASSERT_EQ(current.size(), 3u);
  EXPECT_EQ(current[0].state, AlarmState::kRtnUnack);
  EXPECT_EQ(current[2].id, "p.lo");
  EXPECT_EQ(current[2].state, AlarmState::kUnackActive);
  EXPECT_FALSE(set_.Get("p.lolo").has_value());
}

}  // namespace
}  // namespace shopfloor::rules
