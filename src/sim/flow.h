// Material flow: finite buffers between stations, and the station that takes a part from
// its input buffer, works on it for its cycle time and puts it into its output buffer.
// A station whose input is empty waits starved; one whose finished part finds the output
// full waits blocked (holding the part). The first station of a line draws from an
// unlimited supply (unless its supply is cut: a starvation fault), the last one delivers
// to an unlimited sink.
#pragma once

#include <cstdint>

#include "sim/rng.h"

namespace shopfloor::sim {

struct Buffer {
  int64_t count = 0;
  int64_t capacity = 1;
  bool full() const { return count >= capacity; }
};

// Decides the quality of each finished part (the machine owning the station).
class PartJudge {
 public:
  virtual ~PartJudge() = default;
  virtual bool JudgePart() = 0;  // true: good, passed on; false: scrap, removed
};

class Station {
 public:
  Station(double cycle_s, double jitter, Buffer* in, Buffer* out, PartJudge* judge, Rng* rng)
      : cycle_s_(cycle_s), jitter_(jitter), in_(in), out_(out), judge_(judge), rng_(rng) {}

  // Advances by dt seconds. Only a station that may run (Execute or Suspended) is stepped.
  void Step(double dt);
  // A station that is not running does not wait: its wait fractions decay.
  void Idle(double dt);

  void set_cycle(double cycle_s) { cycle_s_ = cycle_s; }
  double cycle() const { return cycle_s_; }
  void set_supply_cut(bool cut) { supply_cut_ = cut; }

  // Fraction of the current part's cycle that is done (0 when empty).
  double phase() const { return has_part_ ? progress_ : 0.0; }
  bool working() const { return has_part_ && !done_; }
  int64_t good() const { return good_; }
  int64_t scrap() const { return scrap_; }
  int finished_in_step() const { return finished_in_step_; }

  // Smoothed fractions of time spent waiting (time constant 2 s), with hysteresis: the
  // station counts as starved/blocked above 0.5 and stops counting below 0.2.
  bool starved() const { return starved_; }
  bool blocked() const { return blocked_; }
  // Running time of the step actually spent working (0..1).
  double utilisation() const { return utilisation_; }

 private:
  void Smooth(double dt, double starved_s, double blocked_s);

  double cycle_s_;
  double jitter_;
  Buffer* in_;
  Buffer* out_;
  PartJudge* judge_;
  Rng* rng_;
  bool supply_cut_ = false;
  bool has_part_ = false;
  bool done_ = false;          // finished, waiting for space downstream
  double progress_ = 0.0;      // 0..1 of this part
  double part_factor_ = 1.0;   // this part's cycle relative to the ideal
  int64_t good_ = 0;
  int64_t scrap_ = 0;
  int finished_in_step_ = 0;
  double starved_frac_ = 0.0;
  double blocked_frac_ = 0.0;
  bool starved_ = false;
  bool blocked_ = false;
  double utilisation_ = 0.0;
};

}  // namespace shopfloor::sim
