// Incremental state of window functions and time_in_state.
//
// SampleWindow holds the samples of one tag with ts > now - length, in arrival order
// (timestamps non-decreasing: the evaluator drops out-of-order samples). Running sums give
// avg and stddev, monotonic deques min and max, the ends first/last, rate and delta: every
// operation is O(1) amortized. The sums are taken around a shift (a recent value) and
// recomputed from the buffer after as many removals as the buffer holds, so rounding error
// cannot accumulate over a long run (still O(1) amortized).
//
// Bounded memory: at most `capacity` samples. A full buffer drops its oldest sample and
// remembers its timestamp; until that timestamp has left the window, complete() is false
// and the evaluator answers unknown rather than a value computed from a partial window.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>

#include "core/types.h"

namespace shopfloor::rules {

class SampleWindow {
 public:
  SampleWindow(core::Duration length, size_t capacity, bool track_min, bool track_max);

  // Appends a sample (ts not before the previous one). Returns false when the buffer was
  // full and its oldest sample was dropped.
  bool Add(core::Timestamp ts, double value);
  // Drops samples with ts <= now - length.
  void Expire(core::Timestamp now);

  size_t count() const { return points_.size(); }
  bool empty() const { return points_.empty(); }
  // False while samples dropped for the capacity would still be inside the window.
  bool complete(core::Timestamp now) const { return dropped_until_ <= now - length_; }

  // Require !empty().
  double first() const { return points_.front().value; }
  double last() const { return points_.back().value; }
  core::Timestamp first_ts() const { return points_.front().ts; }
  core::Timestamp last_ts() const { return points_.back().ts; }
  double mean() const;
  double stddev() const;  // population
  double min() const { return min_q_.front().value; }  // requires track_min
  double max() const { return max_q_.front().value; }  // requires track_max

  size_t MemoryBytes() const;

 private:
  struct Point {
    core::Timestamp ts;
    double value;
    uint64_t seq;  // position in the stream, to match deque entries with points
  };
  void PopFront();
  void Recompute();

  core::Duration length_;
  size_t capacity_;
  bool track_min_;
  bool track_max_;
  std::deque<Point> points_;
  std::deque<Point> min_q_;  // increasing values: front is the minimum
  std::deque<Point> max_q_;  // decreasing values: front is the maximum
  uint64_t next_seq_ = 0;
  double shift_ = 0.0;
  double sum_ = 0.0;     // of (value - shift_)
  double sum_sq_ = 0.0;  // of (value - shift_)^2
  size_t removals_ = 0;  // since the last Recompute
  core::Timestamp dropped_until_ = std::numeric_limits<core::Timestamp>::min();
};

// time_in_state: the intervals during which a condition held, as seen by successive
// evaluations (the condition's value at one evaluation holds until the next), clipped to
// the window. Capacity-bounded like SampleWindow.
class StateWindow {
 public:
  StateWindow(core::Duration length, size_t capacity) : length_(length), capacity_(capacity) {}

  // Records the condition's value at `now` (non-decreasing) after crediting the interval
  // since the previous call to the previous value. Returns false when an interval was
  // dropped for the capacity.
  bool Update(core::Timestamp now, bool holds);
  // Time the condition held within (now - length, now], in ns. Call after Update(now).
  core::Duration HeldFor() const { return total_; }
  bool complete(core::Timestamp now) const { return dropped_until_ <= now - length_; }
  size_t MemoryBytes() const;

 private:
  struct Interval {
    core::Timestamp begin;
    core::Timestamp end;
  };
  core::Duration length_;
  size_t capacity_;
  std::deque<Interval> intervals_;
  core::Duration total_ = 0;
  bool started_ = false;
  bool holds_ = false;
  core::Timestamp last_ = 0;
  core::Timestamp dropped_until_ = std::numeric_limits<core::Timestamp>::min();
};

}  // namespace shopfloor::rules
