#include "core/clock.h"

#include <atomic>
#include <chrono>
#include <ctime>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace shopfloor::core {
namespace {

// Waits (in real time, bounded) until `clock` has `count` sleepers.
bool WaitForSleepers(const SimClock& clock, int count) {
  for (int attempt = 0; attempt < 5000; ++attempt) {
    if (clock.sleepers() == count) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST(SystemClockTest, NowIsCloseToTime) {
  Clock* clock = Clock::System();
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock, Clock::System());
  int64_t before = static_cast<int64_t>(std::time(nullptr));
  Timestamp now = clock->Now();
  int64_t after = static_cast<int64_t>(std::time(nullptr));
  EXPECT_GE(now, (before - 1) * kSecond);
  EXPECT_LE(now, (after + 1) * kSecond);
}

TEST(SystemClockTest, SteadyIsMonotonicAndSleepWaits) {
  Clock* clock = Clock::System();
  int64_t previous = clock->Steady();
  for (int sample = 0; sample < 1000; ++sample) {
    int64_t current = clock->Steady();
    ASSERT_GE(current, previous);
    previous = current;
  }
  int64_t start = clock->Steady();
  clock->SleepFor(5 * kMillisecond);
  EXPECT_GE(clock->Steady() - start, 5 * kMillisecond);
  start = clock->Steady();
  clock->SleepFor(0);
  clock->SleepFor(-kSecond);
  EXPECT_LT(clock->Steady() - start, kSecond);
}

TEST(SimClockTest, StartsWhereTold) {
  SimClock clock(42 * kSecond);
  EXPECT_EQ(clock.Now(), 42 * kSecond);
  SimClock default_clock;
  EXPECT_EQ(default_clock.Now(), 1'700'000'000LL * kSecond);
}

TEST(SimClockTest, AdvanceMovesWallAndSteadyTogether) {
  SimClock clock(1000 * kSecond);
  int64_t steady = clock.Steady();
  clock.Advance(1500 * kMillisecond);
  EXPECT_EQ(clock.Now(), 1001 * kSecond + 500 * kMillisecond);
  EXPECT_EQ(clock.Steady(), steady + 1500 * kMillisecond);
  clock.Advance(0);
  clock.Advance(-kSecond);  // ignored: Steady never goes back
  EXPECT_EQ(clock.Steady(), steady + 1500 * kMillisecond);
  EXPECT_EQ(clock.Now(), 1001 * kSecond + 500 * kMillisecond);
}

TEST(SimClockTest, SetWallTimeLeavesSteadyAlone) {
  SimClock clock(1000 * kSecond);
  clock.Advance(kSecond);
  int64_t steady = clock.Steady();
  clock.SetWallTime(10 * kSecond);  // backwards step
  EXPECT_EQ(clock.Now(), 10 * kSecond);
  EXPECT_EQ(clock.Steady(), steady);
  clock.Advance(kSecond);
  EXPECT_EQ(clock.Now(), 11 * kSecond);
  EXPECT_EQ(clock.Steady(), steady + kSecond);
}

TEST(SimClockTest, ZeroOrNegativeSleepReturnsAtOnce) {
  SimClock clock;
  clock.SleepFor(0);
  clock.SleepFor(-5 * kSecond);
  EXPECT_EQ(clock.sleepers(), 0);
}

TEST(SimClockTest, SleepForBlocksUntilAdvancedFarEnough) {
  SimClock clock;
  const int64_t start = clock.Steady();
  std::atomic<bool> woke{false};
  int64_t woke_at = 0;
  std::thread sleeper([&] {
    clock.SleepFor(10 * kSecond);
    woke_at = clock.Steady();
    woke = true;
  });
  ASSERT_TRUE(WaitForSleepers(clock, 1));
  clock.Advance(4 * kSecond);
  clock.Advance(5 * kSecond);
  // Not yet due: the sleeper must still be blocked after a moment of real time.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(woke.load());
  EXPECT_EQ(clock.sleepers(), 1);
  clock.Advance(1 * kSecond);
  sleeper.join();
  EXPECT_TRUE(woke.load());
  EXPECT_EQ(woke_at, start + 10 * kSecond);
  EXPECT_EQ(clock.sleepers(), 0);
}

TEST(SimClockTest, OneAdvanceWakesOnlyTheDueSleepers) {
  SimClock clock;
  std::atomic<int> woken{0};
  std::vector<std::thread> threads;
  for (int64_t seconds : {1, 2, 60}) {
    threads.emplace_back([&clock, &woken, seconds] {
      clock.SleepFor(seconds * kSecond);
      ++woken;
    });
  }
  ASSERT_TRUE(WaitForSleepers(clock, 3));
  clock.Advance(2 * kSecond);
  ASSERT_TRUE(WaitForSleepers(clock, 1));
  EXPECT_EQ(woken.load(), 2);
  clock.Advance(58 * kSecond);
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(woken.load(), 3);
}

}  // namespace
}  // namespace shopfloor::core
