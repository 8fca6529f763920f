#include "storage/aggregate.h"

#include <algorithm>
#include <cmath>

#include "storage/codec/chunk.h"

namespace shopfloor::storage {

void Partial::Append(const Partial& next) {
  if (next.count == 0) return;
  if (count == 0) {
    *this = next;
    return;
  }
  const double na = static_cast<double>(count);
  const double nb = static_cast<double>(next.count);
  const double delta = next.sum / nb - sum / na;
  m2 += next.m2 + delta * delta * na * nb / (na + nb);
  integral += last * static_cast<double>(next.first_ts - last_ts) + next.integral;
  count += next.count;
  sum += next.sum;
  min = std::min(min, next.min);
  max = std::max(max, next.max);
  last = next.last;
  last_ts = next.last_ts;
}

WindowAggregator::WindowAggregator(core::Timestamp from, core::Timestamp to, core::Duration step)
    : from_(from), to_(to), step_(step) {}

void WindowAggregator::Add(const Partial& p) {
  if (p.count == 0) return;
  core::Timestamp ws = AlignDown(p.first_ts, step_);
  if (open_ && ws != window_start_) CloseWindow();
  if (!open_) {
    open_ = true;
    window_start_ = ws;
    cur_ = Partial{};
  }
  cur_.Append(p);
}

void WindowAggregator::Finish() {
  if (open_) CloseWindow();
}

void WindowAggregator::CloseWindow() {
  const core::Timestamp ws = std::max(window_start_, from_);
  const core::Timestamp we = std::min(window_start_ + step_, to_);
  AggregateRow row;
  row.start = window_start_;
  row.count = cur_.count;
  row.min = cur_.min;
  row.max = cur_.max;
  row.sum = cur_.sum;
  row.first = cur_.first;
  row.last = cur_.last;
  row.avg = cur_.sum / static_cast<double>(cur_.count);
  row.stddev = std::sqrt(std::max(0.0, cur_.m2 / static_cast<double>(cur_.count)));
  double integral = cur_.integral + cur_.last * static_cast<double>(we - cur_.last_ts);
  core::Timestamp covered_from = cur_.first_ts;
  if (have_prev_) {
    integral += prev_last_ * static_cast<double>(cur_.first_ts - ws);
    covered_from = ws;
  }
  const core::Timestamp covered = we - covered_from;
  row.twa = covered > 0 ? integral / static_cast<double>(covered) : cur_.last;
  ready_.push_back(row);
  have_prev_ = true;
  prev_last_ = cur_.last;
  open_ = false;
}

double NumericAt(const ChunkColumns& cols, size_t i) {
  switch (cols.type) {
    case core::ValueType::kDouble: return cols.f64[i];
    case core::ValueType::kInt64: return static_cast<double>(cols.i64[i]);
    case core::ValueType::kBool: return cols.b[i] ? 1.0 : 0.0;
    case core::ValueType::kString: return 0.0;
  }
  return 0.0;
}

void PartialsOfWindows(const ChunkColumns& cols, core::Duration step, std::vector<WindowPartial>* out) {
  const size_t n = cols.ts.size();
  for (size_t i = 0; i < n; ++i) {
    core::Timestamp ws = AlignDown(cols.ts[i], step);
    Partial p = Partial::OfSample(cols.ts[i], NumericAt(cols, i));
    if (!out->empty() && out->back().start == ws) {
      out->back().partial.Append(p);
    } else {
      out->push_back(WindowPartial{ws, p});
    }
  }
}

}  // namespace shopfloor::storage
