// Debouncer: runs an action on its own thread once no Poke() has arrived for `quiet` of the
// Clock's steady time, so a burst of model edits costs one source restart (OpcUaSources,
// ModbusSources).
//
// It waits on a condition variable in slices of 20 ms of real time rather than with
// Clock::SleepFor, so Stop() is never stuck behind a SimClock nobody advances.
//
// Thread safety: Poke() from any thread; Start() and Stop() from the owner. The action runs
// on the debouncer's thread, never after Stop() returns.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "core/clock.h"

namespace shopfloor::app {

class Debouncer {
 public:
  Debouncer(core::Clock* clock, core::Duration quiet, std::function<void()> action)
      : clock_(clock), quiet_(quiet), action_(std::move(action)) {}
  ~Debouncer() { Stop(); }
  Debouncer(const Debouncer&) = delete;
  Debouncer& operator=(const Debouncer&) = delete;

  void Start() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable() && !stopping_) thread_ = std::thread([this] { Run(); });
  }
  void Poke() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      dirty_ = true;
      dirty_at_ = clock_->Steady();
    }
    cv_.notify_all();
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  static constexpr core::Duration kSlice = 20 * core::kMillisecond;

  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      if (!dirty_) {
        cv_.wait(lock);
        continue;
      }
      if (clock_->Steady() - dirty_at_ < quiet_) {
        cv_.wait_for(lock, std::chrono::nanoseconds(kSlice));
        continue;
      }
      dirty_ = false;
      lock.unlock();
      action_();
      lock.lock();
    }
  }

  core::Clock* const clock_;
  const core::Duration quiet_;
  const std::function<void()> action_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = false;     // GUARDED_BY(mu_)
  int64_t dirty_at_ = 0;   // GUARDED_BY(mu_), Clock::Steady()
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace shopfloor::app
