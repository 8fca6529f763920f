#include "rules/window.h"

#include <algorithm>
#include <cmath>

namespace shopfloor::rules {

SampleWindow::SampleWindow(core::Duration length, size_t capacity, bool track_min, bool track_max)
    : length_(length), capacity_(std::max<size_t>(capacity, 1)), track_min_(track_min), track_max_(track_max) {}

bool SampleWindow::Add(core::Timestamp ts, double value) {
  bool kept_all = true;
  if (points_.size() >= capacity_) {
    dropped_until_ = std::max(dropped_until_, points_.front().ts);
    PopFront();
    kept_all = false;
  }
  if (points_.empty()) {
    // Re-centre the sums on the data so sum_sq_ does not lose the variance to cancellation.
    shift_ = value;
    sum_ = 0.0;
    sum_sq_ = 0.0;
    removals_ = 0;
  }
  const Point point{ts, value, next_seq_++};
  points_.push_back(point);
  const double d = value - shift_;
  sum_ += d;
  sum_sq_ += d * d;
  if (track_min_) {
    while (!min_q_.empty() && min_q_.back().value >= value) min_q_.pop_back();
    min_q_.push_back(point);
  }
  if (track_max_) {
    while (!max_q_.empty() && max_q_.back().value <= value) max_q_.pop_back();
    max_q_.push_back(point);
  }
  return kept_all;
}

void SampleWindow::Expire(core::Timestamp now) {
  const core::Timestamp cutoff = now - length_;
  while (!points_.empty() && points_.front().ts <= cutoff) PopFront();
}

void SampleWindow::PopFront() {
  const Point& front = points_.front();
  if (!min_q_.empty() && min_q_.front().seq == front.seq) min_q_.pop_front();
  if (!max_q_.empty() && max_q_.front().seq == front.seq) max_q_.pop_front();
  const double d = front.value - shift_;
  sum_ -= d;
  sum_sq_ -= d * d;
  points_.pop_front();
  // After as many removals as there are samples, rebuild the sums: O(1) amortized.
  if (++removals_ >= std::max<size_t>(points_.size(), 16)) Recompute();
}

void SampleWindow::Recompute() {
  removals_ = 0;
  sum_ = 0.0;
  sum_sq_ = 0.0;
  if (points_.empty()) return;
  shift_ = points_.back().value;
  for (const Point& p : points_) {
    const double d = p.value - shift_;
    sum_ += d;
    sum_sq_ += d * d;
  }
}

double SampleWindow::mean() const { return shift_ + sum_ / static_cast<double>(points_.size()); }

double SampleWindow::stddev() const {
  const double n = static_cast<double>(points_.size());
  const double variance = (sum_sq_ - sum_ * sum_ / n) / n;
  return variance > 0.0 ? std::sqrt(variance) : 0.0;
}

size_t SampleWindow::MemoryBytes() const {
  return sizeof(*this) + (points_.size() + min_q_.size() + max_q_.size()) * sizeof(Point);
}

bool StateWindow::Update(core::Timestamp now, bool holds) {
  bool kept_all = true;
  if (started_ && holds_ && now > last_) {
    if (!intervals_.empty() && intervals_.back().end == last_) {
      intervals_.back().end = now;  // the condition still holds: extend the open interval
    } else {
      if (intervals_.size() >= std::max<size_t>(capacity_, 1)) {
        const Interval& oldest = intervals_.front();
        dropped_until_ = std::max(dropped_until_, oldest.end);
        total_ -= oldest.end - oldest.begin;
        intervals_.pop_front();
        kept_all = false;
      }
      intervals_.push_back({last_, now});
    }
    total_ += now - last_;
  }
  last_ = started_ ? std::max(last_, now) : now;
  started_ = true;
  holds_ = holds;
  // Clip to the window (now - length, now].
  const core::Timestamp cutoff = now - length_;
  while (!intervals_.empty() && intervals_.front().end <= cutoff) {
    total_ -= intervals_.front().end - intervals_.front().begin;
    intervals_.pop_front();
  }
  if (!intervals_.empty() && intervals_.front().begin < cutoff) {
    total_ -= cutoff - intervals_.front().begin;
    intervals_.front().begin = cutoff;
  }
  return kept_all;
}

size_t StateWindow::MemoryBytes() const { return sizeof(*this) + intervals_.size() * sizeof(Interval); }

}  // namespace shopfloor::rules
