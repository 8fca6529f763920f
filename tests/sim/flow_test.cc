// Material flow: finite buffers make stations starve and block for real.
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
constexpr int64_t kSuspended = 5, kExecute = 6, kHeld = 11;

std::unique_ptr<Factory> Plant() {
  FactoryOptions o;
  o.seed = 7;
  o.start = kStart;
  o.step = kSecond;
  o.random_faults = false;
  o.burst_interval = 0;
  return Factory::Create(o);
}

int64_t Int(const Factory& f, const char* machine, const char* signal) {
  return f.Read(machine, signal)->value.as_int();
}
bool Bool(const Factory& f, const char* machine, const char* signal) {
  return f.Read(machine, signal)->value.as_bool();
}

TEST(FlowTest, ThroughputIsSetByTheBottleneck) {
  auto f = Plant();
  f->AdvanceTo(kStart + 8 * kHour);
  // Body line: robot-2 (40 s) is the slowest station: about 720 panels in 8 h.
  const int64_t panels = Int(*f, "vision-station", "parts_good") + Int(*f, "vision-station", "parts_scrap");
  EXPECT_NEAR(static_cast<double>(panels), 8 * 3600 / 40.0, 25);
  // The press (30 s) could do 960 strokes but waits, blocked, for the robots: it made
  // the panels plus what the buffers and stations hold plus its own scrap.
  const int64_t strokes = Int(*f, "press-1", "strokes_good") + Int(*f, "press-1", "strokes_scrap");
  EXPECT_GE(strokes, panels);
  EXPECT_LE(strokes, panels + 30);
  // Bottling: the filler (24,000/h) sets the pace.
  const int64_t bottles = Int(*f, "filler", "bottles_good") + Int(*f, "filler", "bottles_scrap");
  EXPECT_NEAR(static_cast<double>(bottles), 8 * 24000.0, 8 * 24000.0 * 0.01);
  EXPECT_NEAR(f->Read("filler", "speed")->value.as_double(), 24000, 500);
  EXPECT_EQ(Int(*f, "filler", "state"), kExecute);
}

TEST(FlowTest, SlowDownstreamBlocksUpstreamAndStarvesTheRest) {
  auto f = Plant();
  f->AdvanceTo(kStart + 10 * kMinute);
  // 1 m/min: one 6 m skid pitch every 6 minutes; the conveyor becomes the bottleneck.
  ASSERT_TRUE(f->Write("conveyor-1", "speed_setpoint", 1.0).ok());
  f->AdvanceTo(kStart + 1 * kHour);
  // Over the next hour, the share of time each station spends blocked or starved.
  const char* upstream[3] = {"press-1", "robot-1", "robot-2"};
  int blocked[3] = {0, 0, 0}, starved = 0, conveyor_running = 0;
  const int seconds = 3600;
  for (int s = 1; s <= seconds; ++s) {
    f->AdvanceTo(kStart + kHour + s * kSecond);
    for (int k = 0; k < 3; ++k) {
      const bool b = Bool(*f, upstream[k], "blocked");
      blocked[k] += b ? 1 : 0;
      if (b) {
        EXPECT_EQ(Int(*f, upstream[k], "state"), kSuspended);
        EXPECT_FALSE(Bool(*f, upstream[k], "running"));
        EXPECT_EQ(Int(*f, upstream[k], "fault_code"), 0);  // waiting is not a fault
      }
    }
    starved += Bool(*f, "vision-station", "starved") && Int(*f, "vision-station", "state") == kSuspended ? 1 : 0;
    conveyor_running += Int(*f, "conveyor-1", "state") == kExecute ? 1 : 0;
  }
  // robot-2 needs 40 s of each 360 s conveyor cycle, the press 30 s, vision 22 s.
  for (int k = 0; k < 3; ++k) EXPECT_GT(blocked[k], 0.8 * seconds) << upstream[k];
  EXPECT_GT(starved, 0.85 * seconds);
  EXPECT_GT(conveyor_running, 0.95 * seconds);
  bool saw_blocked_event = false;
  for (const Event& e : f->TakeEvents()) {
    if (e.machine == "press-1" && e.kind == "state" && e.detail == "Execute -> Suspended (blocked)") {
      saw_blocked_event = true;
    }
  }
  EXPECT_TRUE(saw_blocked_event);
  // Throughput now follows the conveyor: 10 skids per hour.
  const int64_t before = Int(*f, "vision-station", "parts_good") + Int(*f, "vision-station", "parts_scrap");
  f->AdvanceTo(kStart + 3 * kHour);
  const int64_t after = Int(*f, "vision-station", "parts_good") + Int(*f, "vision-station", "parts_scrap");
  EXPECT_NEAR(static_cast<double>(after - before), 10, 1);
}

TEST(FlowTest, AJamHoldsItsStationBlocksUpstreamStarvesDownstreamThenRecovers) {
  auto f = Plant();
  f->AdvanceTo(kStart + 30 * kMinute);
  ASSERT_TRUE(f->InjectFault("robot-2", FaultKind::kJam, 1 * kHour).ok());
  EXPECT_EQ(Int(*f, "robot-2", "fault_code"), 0);  // from the next step
  f->AdvanceTo(kStart + 80 * kMinute);
  EXPECT_EQ(Int(*f, "robot-2", "state"), kHeld);
  EXPECT_EQ(Int(*f, "robot-2", "fault_code"), kFaultJam);
  EXPECT_TRUE(Bool(*f, "robot-2", "faulted"));
  for (const char* m : {"press-1", "robot-1"}) {
    EXPECT_EQ(Int(*f, m, "state"), kSuspended) << m;
    EXPECT_TRUE(Bool(*f, m, "blocked")) << m;
  }
  for (const char* m : {"conveyor-1", "vision-station"}) {
    EXPECT_EQ(Int(*f, m, "state"), kSuspended) << m;
    EXPECT_TRUE(Bool(*f, m, "starved")) << m;
  }
  EXPECT_EQ(f->Read("conveyor-1", "speed")->value.as_double(), 0.0);
  EXPECT_FALSE(Bool(*f, "conveyor-1", "running"));
  // The jam clears after an hour; the line runs again.
  const int64_t skids = Int(*f, "conveyor-1", "skids_transported");
  const int64_t panels = Int(*f, "vision-station", "parts_good") + Int(*f, "vision-station", "parts_scrap");
  f->AdvanceTo(kStart + 100 * kMinute);
  EXPECT_EQ(Int(*f, "robot-2", "fault_code"), 0);
  EXPECT_EQ(Int(*f, "robot-2", "state"), kExecute);  // the bottleneck, fed from a full buffer
  EXPECT_GE(Int(*f, "conveyor-1", "skids_transported"), skids + 12);
  EXPECT_GE(Int(*f, "vision-station", "parts_good") + Int(*f, "vision-station", "parts_scrap"), panels + 12);
  int cleared = 0;
  for (const Event& e : f->TakeEvents()) cleared += e.kind == "fault_cleared" && e.machine == "robot-2" ? 1 : 0;
  EXPECT_EQ(cleared, 1);
}

TEST(FlowTest, MaterialStarvationAtTheFillerStarvesTheBottlingLine) {
  auto f = Plant();
  f->AdvanceTo(kStart + 10 * kMinute);
  ASSERT_TRUE(f->InjectFault("filler", FaultKind::kStarvation, 30 * kMinute).ok());
  f->AdvanceTo(kStart + 15 * kMinute);
  EXPECT_EQ(Int(*f, "filler", "state"), kSuspended);
  EXPECT_EQ(Int(*f, "filler", "fault_code"), kFaultStarved);
  EXPECT_LT(f->Read("filler", "bowl_level")->value.as_double(), 20.0);
  // Downstream buffers (60, 200, 400, 600 bottles) drain within seconds to a minute.
  f->AdvanceTo(kStart + 20 * kMinute);
  for (const char* m : {"capper", "labeler", "pasteuriser", "cold-room"}) {
    EXPECT_EQ(Int(*f, m, "state"), kSuspended) << m;
    EXPECT_TRUE(Bool(*f, m, "starved")) << m;
  }
  f->AdvanceTo(kStart + 50 * kMinute);
  for (const char* m : {"filler", "capper", "labeler", "pasteuriser", "cold-room"}) {
    EXPECT_EQ(Int(*f, m, "state"), kExecute) << m;
  }
}

TEST(FlowTest, ToolWearRaisesScrap) {
  auto worn = Plant();
  auto fresh = Plant();
  ASSERT_TRUE(worn->InjectFault("press-1", FaultKind::kToolWear, 25 * kHour).ok());
  worn->AdvanceTo(kStart + 24 * kHour);
  fresh->AdvanceTo(kStart + 24 * kHour);
  EXPECT_EQ(Int(*worn, "press-1", "fault_code"), kFaultToolWear);
  EXPECT_EQ(Int(*worn, "press-1", "state"), kExecute);  // a worn tool still runs
  const double base = static_cast<double>(Int(*fresh, "press-1", "strokes_scrap"));
  const double wear = static_cast<double>(Int(*worn, "press-1", "strokes_scrap"));
  EXPECT_GT(wear, 3 * base + 10);
}

}  // namespace
}  // namespace shopfloor::sim
