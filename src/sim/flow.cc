#include "sim/flow.h"

#include <algorithm>
#include <cmath>

namespace shopfloor::sim {

namespace {
constexpr double kWaitTau = 2.0;  // s, smoothing of the starved/blocked fractions
}

void Station::Step(double dt) {
  finished_in_step_ = 0;
  double left = dt;
  double starved_s = 0.0;
  double blocked_s = 0.0;
  // Invariant: each pass either ends the step or moves a part one stage on (taken,
  // finished, delivered), so the loop runs at most about 3 * parts-per-step times.
  while (left > 1e-12) {
    if (done_) {
      if (out_ != nullptr && out_->full()) {
        blocked_s = left;
        break;
      }
      if (out_ != nullptr) ++out_->count;
      done_ = false;
      has_part_ = false;
    }
    if (!has_part_) {
      if (supply_cut_ || (in_ != nullptr && in_->count == 0)) {
        starved_s = left;
        break;
      }
      if (in_ != nullptr) --in_->count;
      has_part_ = true;
      progress_ = 0.0;
      // Cycle-to-cycle variation: uniform within +-jitter (cheap, one draw per part).
      part_factor_ = 1.0 + jitter_ * (2.0 * rng_->Uniform() - 1.0);
    }
    const double part_cycle = cycle_s_ * part_factor_;
    const double need = (1.0 - progress_) * part_cycle;
    if (need <= left) {
      left -= need;
      progress_ = 1.0;
      ++finished_in_step_;
      if (judge_->JudgePart()) {
        ++good_;
        done_ = true;
      } else {
        ++scrap_;
        has_part_ = false;
      }
    } else {
      progress_ += left / part_cycle;
      left = 0.0;
    }
  }
  utilisation_ = dt > 0 ? std::max(0.0, 1.0 - (starved_s + blocked_s) / dt) : 0.0;
  Smooth(dt, starved_s, blocked_s);
}

void Station::Idle(double dt) {
  finished_in_step_ = 0;
  utilisation_ = 0.0;
  Smooth(dt, 0.0, 0.0);
}

void Station::Smooth(double dt, double starved_s, double blocked_s) {
  if (dt <= 0) return;
  const double a = 1.0 - std::exp(-dt / kWaitTau);
  starved_frac_ += a * (starved_s / dt - starved_frac_);
  blocked_frac_ += a * (blocked_s / dt - blocked_frac_);
  starved_ = starved_ ? starved_frac_ > 0.2 : starved_frac_ > 0.5;
  blocked_ = blocked_ ? blocked_frac_ > 0.2 : blocked_frac_ > 0.5;
}

}  // namespace shopfloor::sim
