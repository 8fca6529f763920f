// Windowed aggregation over raw samples and pre-aggregated rollup windows alike.
//
// A Partial summarises consecutive samples of one series: count, sum, M2 (sum of squared
// deviations, combined with Chan et al.'s parallel formula), min, max, first/last values and
// their timestamps, and the integral of the step function between first_ts and last_ts.
// A raw sample is a Partial of one. Rollups store Partials per minute and per hour, so a
// query answered from rollups gives the same results as one over raw data (up to rounding).
//
// Time-weighted average (TWA): each value holds until the next sample. Within a window
// [ws, we) (clipped to the query range) the value before the window's first sample is the
// previous window's last value when the query saw one (no look-back before `from`); the last
// sample holds until we. TWA = integral / covered time.
#pragma once

#include <cstdint>
#include <deque>

#include "core/types.h"
#include "storage/codec/chunk.h"
#include "storage/storage.h"

namespace shopfloor::storage {

struct Partial {
  uint64_t count = 0;
  double sum = 0, m2 = 0, min = 0, max = 0, first = 0, last = 0;
  core::Timestamp first_ts = 0, last_ts = 0;
  double integral = 0;  // of the step function over [first_ts, last_ts]

  static Partial OfSample(core::Timestamp ts, double v) {
    return Partial{1, v, 0, v, v, v, v, ts, ts, 0};
  }
  // Appends `next`, which lies entirely after this partial in time.
  void Append(const Partial& next);
};

// Floor division that is correct for negative timestamps.
inline core::Timestamp AlignDown(core::Timestamp ts, core::Duration step) {
  core::Timestamp q = ts / step;
  if ((ts % step) != 0 && ts < 0) --q;
  return q * step;
}

// Folds partials, in timestamp order, into epoch-aligned windows of `step` clipped to
// [from, to). Finished rows queue up in ready().
class WindowAggregator {
 public:
  WindowAggregator(core::Timestamp from, core::Timestamp to, core::Duration step);
  // `p` must lie within one window and after everything added before.
  void Add(const Partial& p);
  void Finish();
  std::deque<AggregateRow>& ready() { return ready_; }

 private:
  void CloseWindow();

  core::Timestamp from_, to_;
  core::Duration step_;
  bool open_ = false;
  core::Timestamp window_start_ = 0;
  Partial cur_;
  bool have_prev_ = false;  // a sample was seen in an earlier window
  double prev_last_ = 0;
  std::deque<AggregateRow> ready_;
};

// Aggregates raw numeric columns (double, int64, bool as 0/1) into per-window partials,
// e.g. for rollups: one Partial per epoch-aligned `step` window, in order.
struct WindowPartial {
  core::Timestamp start;
  Partial partial;
};
void PartialsOfWindows(const ChunkColumns& cols, core::Duration step, std::vector<WindowPartial>* out);
// The numeric value of row i (bool 0/1).
double NumericAt(const ChunkColumns& cols, size_t i);

}  // namespace shopfloor::storage
