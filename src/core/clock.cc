// Clock::System() (CLOCK_REALTIME / CLOCK_MONOTONIC) and SimClock.
#include "core/clock.h"

#include <time.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>

namespace shopfloor::core {

namespace {

int64_t ReadClock(clockid_t id) {
  struct timespec ts {};
  clock_gettime(id, &ts);  // cannot fail for these two clock ids
  return static_cast<int64_t>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

class SystemClock final : public Clock {
 public:
  Timestamp Now() const override { return ReadClock(CLOCK_REALTIME); }
  int64_t Steady() const override { return ReadClock(CLOCK_MONOTONIC); }

  void SleepFor(Duration d) override {
    if (d <= 0) return;
    // An absolute deadline makes EINTR restarts exact instead of sleeping too long.
    int64_t deadline = Steady() + d;
    struct timespec until {};
    until.tv_sec = static_cast<time_t>(deadline / kSecond);
    until.tv_nsec = static_cast<long>(deadline % kSecond);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
    }
  }
};

}  // namespace

Clock* Clock::System() {
  // Never destroyed: threads still running at exit may read the time.
  static Clock* const clock = new SystemClock();
  return clock;
}

struct SimClock::State {
  mutable std::mutex mu;
  std::condition_variable advanced;
  Timestamp wall;      // GUARDED_BY(mu)
  int64_t steady = 0;  // GUARDED_BY(mu)
  int sleepers = 0;    // GUARDED_BY(mu)
};

SimClock::SimClock(Timestamp start) : state_(std::make_unique<State>()) { state_->wall = start; }

SimClock::~SimClock() = default;

Timestamp SimClock::Now() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->wall;
}

int64_t SimClock::Steady() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->steady;
}

void SimClock::SleepFor(Duration d) {
  if (d <= 0) return;
  std::unique_lock<std::mutex> lock(state_->mu);
  const int64_t deadline = state_->steady + d;
  ++state_->sleepers;
  state_->advanced.wait(lock, [&] { return state_->steady >= deadline; });
  --state_->sleepers;
}

void SimClock::Advance(Duration d) {
  if (d <= 0) return;  // Steady() never goes backwards
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->steady += d;
    state_->wall += d;
  }
  state_->advanced.notify_all();
}

void SimClock::SetWallTime(Timestamp t) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->wall = t;
}

int SimClock::sleepers() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->sleepers;
}

}  // namespace shopfloor::core
