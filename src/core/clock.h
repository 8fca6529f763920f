// Clock: the seam between Shopfloor and time.
//
// Every module reads time from a Clock passed in (never std::chrono::system_clock::now()
// directly), so tests run in simulated time and the simulator can run a day in a second.
#pragma once

#include <memory>

#include "core/types.h"

namespace shopfloor::core {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (UTC, ns since the Unix epoch): for timestamps.
  virtual Timestamp Now() const = 0;
  // Monotonic time in ns from an arbitrary origin: for timeouts and intervals.
  virtual int64_t Steady() const = 0;
  // Blocks the calling thread until Steady() has advanced by at least d.
  virtual void SleepFor(Duration d) = 0;

  // The process-wide real clock. Never null.
  static Clock* System();
};

// A clock that only moves when told to. Now() and Steady() advance together.
// SleepFor() blocks until another thread advances the clock far enough (or returns at once
// for d <= 0). Thread-safe.
class SimClock : public Clock {
 public:
  explicit SimClock(Timestamp start = 1'700'000'000LL * kSecond);
  ~SimClock() override;

  Timestamp Now() const override;
  int64_t Steady() const override;
  void SleepFor(Duration d) override;

  // Moves Now() and Steady() forward by d and wakes sleepers that are due. d <= 0 does
  // nothing (Steady() never goes backwards).
  void Advance(Duration d);
  // Jumps wall time (e.g. an NTP step); Steady() is unaffected. May go backwards.
  void SetWallTime(Timestamp t);
  // Number of threads currently blocked in SleepFor (lets tests wait for a sleeper).
  int sleepers() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace shopfloor::core
