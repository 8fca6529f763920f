// Random faults at believable rates, and the cost of a simulated day.
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "sim/factory.h"

namespace shopfloor::sim {
namespace {

using core::kHour;
using core::kSecond;

constexpr core::Timestamp kStart = 1'767'225'600LL * kSecond;  // 2026-01-01T00:00:00Z

FactoryOptions Options(core::Duration step, bool random_faults) {
  FactoryOptions o;
  o.seed = 42;
  o.start = kStart;
  o.step = step;
  o.random_faults = random_faults;
  return o;
}

TEST(RatesTest, RandomFaultsAtBelievableRatesAndNoneWhenDisabled) {
  auto f = Factory::Create(Options(kSecond, true));
  f->AdvanceTo(kStart + 24 * kHour);
  std::map<std::string, int> faults;
  for (const Event& e : f->TakeEvents()) {
    if (e.kind == "fault") faults[e.detail.substr(0, e.detail.find(':'))]++;
  }
  // Ten stations, about four micro-stops per producing hour each.
  EXPECT_GT(faults["micro_stop"], 200);
  EXPECT_LT(faults["micro_stop"], 1200);
  EXPECT_GE(faults["jam"], 10);
  EXPECT_LT(faults["jam"], 150);
  EXPECT_LT(faults["communication_loss"], 6);

  auto quiet = Factory::Create(Options(kSecond, false));
  quiet->AdvanceTo(kStart + 6 * kHour);
  for (const Event& e : quiet->TakeEvents()) EXPECT_NE(e.kind, "fault") << e.machine << " " << e.detail;
}

TEST(RatesTest, ASimulatedDayIsCheap) {
  auto f = Factory::Create(Options(kSecond, true));
  const auto t0 = std::chrono::steady_clock::now();
  f->AdvanceTo(kStart + 24 * kHour);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const size_t bursts = f->TakeBursts().size();
  std::printf("one simulated day, step 1 s, bursts every 5 min: %.3f s wall\n", seconds);
  EXPECT_EQ(bursts, 64u);  // pending bursts are capped
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(seconds, 3.0);
#endif
}

}  // namespace
}  // namespace shopfloor::sim
