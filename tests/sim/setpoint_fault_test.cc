// Setpoints change the process; injected faults do what they say.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "sim/factory.h"

namespace shopfloor::sim {
namespace {

using core::kHour;
using core::kMinute;
using core::kSecond;

constexpr core::Timestamp kStart = 1'767'225'600LL * kSecond;

std::unique_ptr<Factory> Plant() {
  FactoryOptions o;
  o.seed = 5;
  o.start = kStart;
  o.step = kSecond;
  o.random_faults = false;
  o.burst_interval = 0;
  return Factory::Create(o);
}

double D(const Factory& f, const char* machine, const char* signal) {
  return f.Read(machine, signal)->value.as_double();
}

// Mean of a signal sampled every second over `span` from now on.
double MeanOver(Factory* f, const char* machine, const char* signal, core::Duration span) {
  double sum = 0;
  int n = 0;
  const core::Timestamp t0 = f->now();
  for (core::Timestamp t = t0 + kSecond; t <= t0 + span; t += kSecond, ++n) {
    f->AdvanceTo(t);
    sum += D(*f, machine, signal);
  }
  return sum / n;
}

TEST(SetpointTest, WritesAreValidated) {
  auto f = Plant();
  EXPECT_TRUE(f->Write("press-1", "hydraulic_pressure", 100.0).IsInvalidArgument());  // read-only
  EXPECT_TRUE(f->Write("press-1", "nope", 1.0).IsInvalidArgument());
  EXPECT_TRUE(f->Write("nope", "speed_setpoint", 1.0).IsInvalidArgument());
  EXPECT_TRUE(f->Write("conveyor-1", "speed_setpoint", "fast").IsInvalidArgument());
  EXPECT_TRUE(f->Write("conveyor-1", "speed_setpoint", 45.5).IsInvalidArgument());
  EXPECT_TRUE(f->Write("conveyor-1", "speed_setpoint", -1.0).IsInvalidArgument());
  EXPECT_TRUE(f->Write("conveyor-1", "speed_setpoint", NAN).IsInvalidArgument());
  EXPECT_TRUE(f->Write("robot-1", "weld_current_setpoint", 49.0).IsInvalidArgument());
  EXPECT_TRUE(f->Write("robot-1", "weld_current_setpoint", 351.0).IsInvalidArgument());
  EXPECT_TRUE(f->Write("pasteuriser", "temperature_setpoint", 76.0).IsInvalidArgument());
  EXPECT_TRUE(f->Write("cold-room", "temperature_setpoint", 8.5).IsInvalidArgument());
  EXPECT_TRUE(f->Write("compressor-1", "pressure_setpoint", 4.9).IsInvalidArgument());
  EXPECT_TRUE(f->Write("robot-1", "weld_current_setpoint", int64_t{350}).ok());  // an int converts
  EXPECT_TRUE(f->Write("conveyor-1", "speed_setpoint", 45.0).ok());
  EXPECT_EQ(D(*f, "conveyor-1", "speed_setpoint"), 45.0);
  EXPECT_EQ(D(*f, "robot-1", "weld_current_setpoint"), 350.0);
  int setpoint_events = 0;
  for (const Event& e : f->TakeEvents()) setpoint_events += e.kind == "setpoint" ? 1 : 0;
  EXPECT_EQ(setpoint_events, 2);
}

TEST(SetpointTest, ConveyorSpeedZeroStopsItAndAStartGoesThroughStarting) {
  auto f = Plant();
  f->AdvanceTo(kStart + 10 * kMinute);
  ASSERT_TRUE(f->Write("conveyor-1", "speed_setpoint", 0.0).ok());
  f->AdvanceTo(f->now() + kMinute);
  EXPECT_EQ(f->Read("conveyor-1", "state")->value.as_int(), 2);  // Stopped
  EXPECT_EQ(D(*f, "conveyor-1", "speed"), 0.0);
  EXPECT_FALSE(f->Read("conveyor-1", "running")->value.as_bool());
  ASSERT_TRUE(f->Write("conveyor-1", "speed_setpoint", 20.0).ok());
  f->AdvanceTo(f->now() + 5 * kSecond);
  EXPECT_EQ(f->Read("conveyor-1", "state")->value.as_int(), 3);  // Starting
  f->AdvanceTo(f->now() + 30 * kSecond);
  EXPECT_NEAR(D(*f, "conveyor-1", "speed"), 20.0, 0.2);  // the robots' buffer keeps it busy
  EXPECT_EQ(f->Read("conveyor-1", "state")->value.as_int(), 6);
}

TEST(SetpointTest, PasteuriserZonesFollowTheSetpointWithInertia) {
  auto f = Plant();
  f->AdvanceTo(kStart + 30 * kMinute);
  EXPECT_NEAR(D(*f, "pasteuriser", "zone3_temperature"), 62, 0.6);
  EXPECT_NEAR(D(*f, "pasteuriser", "zone1_temperature"), 42, 0.6);
  const double pu_before = D(*f, "pasteuriser", "pasteurisation_units");
  ASSERT_TRUE(f->Write("pasteuriser", "temperature_setpoint", 66.0).ok());
  f->AdvanceTo(f->now() + kMinute);
  const double after_a_minute = D(*f, "pasteuriser", "zone3_temperature");
  EXPECT_GT(after_a_minute, 62.2);
  EXPECT_LT(after_a_minute, 63.5);
  f->AdvanceTo(f->now() + kHour);
  EXPECT_NEAR(D(*f, "pasteuriser", "zone3_temperature"), 66, 0.5);
  EXPECT_NEAR(D(*f, "pasteuriser", "zone2_temperature"), 58, 0.5);
  EXPECT_GT(D(*f, "pasteuriser", "pasteurisation_units"), 2 * pu_before);
}

TEST(SetpointTest, CompressorHoldsItsPressureBand) {
  auto f = Plant();
  f->AdvanceTo(kStart + 10 * kMinute);
  EXPECT_NEAR(MeanOver(f.get(), "compressor-1", "discharge_pressure", 20 * kMinute), 7.0, 0.3);
  ASSERT_TRUE(f->Write("compressor-1", "pressure_setpoint", 9.0).ok());
  f->AdvanceTo(f->now() + 10 * kMinute);
  double lo = 99, hi = 0;
  for (int s = 0; s < 1200; ++s) {
    f->AdvanceTo(f->now() + kSecond);
    lo = std::min(lo, D(*f, "compressor-1", "discharge_pressure"));
    hi = std::max(hi, D(*f, "compressor-1", "discharge_pressure"));
  }
  EXPECT_GT(lo, 8.55);
  EXPECT_LT(hi, 9.45);
  EXPECT_GT(hi - lo, 0.4);  // load/unload cycles through the band
}

TEST(SetpointTest, WeldCurrentFollowsItsSetpointPerWeld) {
  auto f = Plant();
  ASSERT_TRUE(f->Write("robot-1", "weld_current_setpoint", 300.0).ok());
  double sum = 0, volts = 0, wire = 0;
  int arc = 0;
  for (int s = 1; s <= 3600; ++s) {
    f->AdvanceTo(kStart + s * kSecond);
    const double a = D(*f, "robot-1", "weld_current");
    if (a > 0) {
      sum += a, volts += D(*f, "robot-1", "weld_voltage"), wire += D(*f, "robot-1", "wire_feed_speed"), ++arc;
      EXPECT_NEAR(a, 300, 25);
    }
  }
  ASSERT_GT(arc, 600);  // six 3 s welds per 38 s cycle (less while waiting)
  EXPECT_NEAR(sum / arc, 300, 3);
  EXPECT_NEAR(volts / arc, 14 + 0.048 * 300, 0.5);
  EXPECT_NEAR(wire / arc, 300 / 26.0, 0.3);
  EXPECT_GT(D(*f, "robot-1", "torch_temperature"), 30);
}

TEST(SetpointTest, ColdRoomFollowsItsSetpointAndDoorsLetHeatIn) {
  auto f = Plant();
  EXPECT_NEAR(MeanOver(f.get(), "cold-room", "air_temperature", 4 * kHour), 4.0, 0.5);
  ASSERT_TRUE(f->Write("cold-room", "temperature_setpoint", 1.0).ok());
  f->AdvanceTo(f->now() + 2 * kHour);
  EXPECT_NEAR(MeanOver(f.get(), "cold-room", "air_temperature", 4 * kHour), 1.0, 0.5);
  int door_events = 0;
  bool last = false;
  for (int s = 0; s < 4 * 3600; ++s) {
    f->AdvanceTo(f->now() + kSecond);
    const bool open = f->Read("cold-room", "door_open")->value.as_bool();
    door_events += open && !last ? 1 : 0;
    last = open;
  }
  EXPECT_GT(door_events, 15);  // a forklift every ~8 minutes
  EXPECT_LT(door_events, 50);
}

TEST(FaultTest, SteamLossCoolsThePasteuriser) {
  auto f = Plant();
  f->AdvanceTo(kStart + 30 * kMinute);
  const double z3 = D(*f, "pasteuriser", "zone3_temperature");
  ASSERT_TRUE(f->InjectFault("pasteuriser", FaultKind::kProcess, 30 * kMinute).ok());
  f->AdvanceTo(f->now() + 20 * kMinute);
  EXPECT_EQ(f->Read("pasteuriser", "fault_code")->value.as_int(), kFaultProcess);
  EXPECT_LT(D(*f, "pasteuriser", "zone3_temperature"), z3 - 5);
  EXPECT_LT(D(*f, "pasteuriser", "zone1_temperature"), 40);
  EXPECT_LT(D(*f, "pasteuriser", "steam_pressure"), 1.0);
  f->AdvanceTo(f->now() + 60 * kMinute);
  EXPECT_EQ(f->Read("pasteuriser", "fault_code")->value.as_int(), 0);
  EXPECT_NEAR(D(*f, "pasteuriser", "zone3_temperature"), z3, 1.5);
}

TEST(FaultTest, InjectionIsValidated) {
  auto f = Plant();
  EXPECT_TRUE(f->InjectFault("nope", FaultKind::kJam, kMinute).IsInvalidArgument());
  EXPECT_TRUE(f->InjectFault("press-1", FaultKind::kJam, 0).IsInvalidArgument());
  EXPECT_TRUE(f->InjectFault("press-1", FaultKind::kProcess, kMinute).IsInvalidArgument());
  EXPECT_TRUE(f->InjectFault("main-meter", FaultKind::kJam, kMinute).IsInvalidArgument());
  EXPECT_TRUE(f->InjectFault("press-1", FaultKind::kSensorStuck, kMinute, "nope").IsInvalidArgument());
  EXPECT_TRUE(f->InjectFault("press-1", FaultKind::kSensorDrift, kMinute, "die_id").IsInvalidArgument());
  EXPECT_TRUE(f->InjectFault("press-1", FaultKind::kSensorStuck, kMinute, "die_id").ok());
}

TEST(FaultTest, SensorFaultsAndCommunicationLoss) {
  auto f = Plant();
  f->AdvanceTo(kStart + 10 * kMinute);
  ASSERT_TRUE(f->InjectFault("compressor-1", FaultKind::kSensorStuck, 10 * kMinute, "discharge_pressure").ok());
  ASSERT_TRUE(f->InjectFault("main-meter", FaultKind::kSensorDrift, 2 * kHour, "voltage_l1").ok());
  ASSERT_TRUE(f->InjectFault("filler", FaultKind::kSensorDropout, 5 * kMinute, "fill_volume").ok());
  ASSERT_TRUE(f->InjectFault("labeler", FaultKind::kCommunicationLoss, 30 * kSecond).ok());
  const double stuck = D(*f, "compressor-1", "discharge_pressure");
  ASSERT_TRUE(f->InjectFault("press-1", FaultKind::kSensorSpike, kMinute, "oil_temperature").ok());
  const double spiked = D(*f, "press-1", "oil_temperature");
  EXPECT_FALSE(f->Reachable("labeler"));
  EXPECT_FALSE(f->Read("labeler", "glue_temperature")->available);
  EXPECT_FALSE(f->Read("filler", "fill_volume")->available);
  EXPECT_TRUE(f->Read("filler", "speed")->available);
  f->AdvanceTo(f->now() + kSecond);
  const double after_spike = D(*f, "press-1", "oil_temperature");
  EXPECT_GT(std::abs(spiked - after_spike), 30);  // 40% of the 0..90 degC span, one sample
  const double drift_start = D(*f, "main-meter", "voltage_l1");
  for (int s = 0; s < 300; ++s) {
    f->AdvanceTo(f->now() + kSecond);
    EXPECT_EQ(D(*f, "compressor-1", "discharge_pressure"), stuck);
  }
  EXPECT_TRUE(f->Reachable("labeler"));
  EXPECT_TRUE(f->Read("labeler", "glue_temperature")->available);
  EXPECT_TRUE(f->Read("filler", "fill_volume")->available);
  f->AdvanceTo(f->now() + 10 * kMinute);
  EXPECT_NE(D(*f, "compressor-1", "discharge_pressure"), stuck);
  f->AdvanceTo(f->now() + kHour);
  // 10% of the 0..300 V span per hour.
  EXPECT_GT(std::abs(D(*f, "main-meter", "voltage_l1") - drift_start), 20);
  EXPECT_LT(std::abs(D(*f, "main-meter", "voltage_l2") - 231), 6);
}

}  // namespace
}  // namespace shopfloor::sim
