// Energy counters are the integral of power, the main meter sums the plant.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sim/factory.h"

namespace shopfloor::sim {
namespace {

using core::kHour;
using core::kSecond;

constexpr core::Timestamp kStart = 1'767'225'600LL * kSecond;

double D(const Factory& f, const std::string& machine, const char* signal) {
  return f.Read(machine, signal)->value.as_double();
}

TEST(EnergyTest, CountersEqualTheIntegralOfPowerAndTheMeterSumsThePlant) {
  FactoryOptions o;
  o.seed = 3;
  o.start = kStart;
  o.step = kSecond;
  o.random_faults = true;  // faults change the loads; sensor faults could hit a power reading
  o.burst_interval = 0;
  auto f = Factory::Create(o);

  struct Meter {
    std::string machine;
    const char* power;
    const char* energy;
    double sum = 0;
  };
  std::vector<Meter> meters;
  for (const SignalInfo& s : f->Signals()) {
    if (s.name == "power") meters.push_back({s.machine, "power", "energy"});
  }
  meters.push_back({"main-meter", "active_power", "energy_import"});
  // Every machine but the meter draws power: press, robots, conveyor, vision, the five
  // bottling machines, the compressor.
  ASSERT_EQ(meters.size(), 12u);

  const double dt_h = 1.0 / 3600.0;
  for (int step = 1; step <= 6 * 3600; ++step) {
    f->AdvanceTo(kStart + step * kSecond);
    double load = 0;
    for (Meter& m : meters) {
      const double p = D(*f, m.machine, m.power);
      m.sum += p * dt_h;
      if (m.machine != "main-meter") load += p;
    }
    if (step % 600 == 0) {
      for (const Meter& m : meters) {
        EXPECT_NEAR(D(*f, m.machine, m.energy), m.sum, 1e-9 * m.sum + 1e-9) << m.machine;
      }
      // active_power = loads + base load (quantised to 0.01 kW).
      EXPECT_NEAR(D(*f, "main-meter", "active_power"), load + D(*f, "main-meter", "base_load"), 0.006);
    }
  }
  // Six hours of a plant drawing some 500 kW.
  EXPECT_GT(D(*f, "main-meter", "energy_import"), 6 * 300.0);
  EXPECT_LT(D(*f, "main-meter", "energy_import"), 6 * 1000.0);
  EXPECT_GT(D(*f, "compressor-1", "energy"), 6 * 40.0);
}

TEST(EnergyTest, PowerFollowsLoad) {
  FactoryOptions o;
  o.start = kStart;
  o.step = kSecond;
  o.random_faults = false;
  o.burst_interval = 0;
  auto fast = Factory::Create(o);
  auto slow = Factory::Create(o);
  ASSERT_TRUE(fast->Write("conveyor-1", "speed_setpoint", 40.0).ok());
  // Mean motor current while the conveyor moves: it rises with speed.
  double current[2] = {0, 0};
  int moving[2] = {0, 0};
  for (int step = 1; step <= 3600; ++step) {
    Factory* both[2] = {fast.get(), slow.get()};
    for (int k = 0; k < 2; ++k) {
      both[k]->AdvanceTo(kStart + step * kSecond);
      if (D(*both[k], "conveyor-1", "speed") > 1.0) {
        current[k] += D(*both[k], "conveyor-1", "motor_current");
        ++moving[k];
      }
    }
  }
  ASSERT_GT(moving[0], 100);
  ASSERT_GT(moving[1], 100);
  EXPECT_GT(current[0] / moving[0], current[1] / moving[1] + 3);  // ramps included
  // The compressor's energy per hour lies between always-unloaded and always-loaded.
  const double kwh = D(*slow, "compressor-1", "energy");
  EXPECT_GT(kwh, 26.0);
  EXPECT_LT(kwh, 96.0);
}

}  // namespace
}  // namespace shopfloor::sim
