#include "storage/head.h"

#include <algorithm>
#include <numeric>
#include <queue>

namespace shopfloor::storage {

using core::Value;
using core::ValueType;

void HeadBuffer::Append(core::Timestamp ts, const Value& value, core::Quality quality) {
  if (!cols_.ts.empty() && ts <= cols_.ts.back()) sorted_ = false;
  cols_.ts.push_back(ts);
  bytes_ += 8;
  switch (cols_.type) {
    case ValueType::kDouble: cols_.f64.push_back(value.as_double()); bytes_ += 8; break;
    case ValueType::kInt64: cols_.i64.push_back(value.as_int()); bytes_ += 8; break;
    case ValueType::kBool: cols_.b.push_back(value.as_bool() ? 1 : 0); bytes_ += 1; break;
    case ValueType::kString:
      cols_.str.push_back(value.as_string());
      bytes_ += sizeof(std::string) + (value.as_string().size() > 15 ? value.as_string().size() : 0);
      break;
  }
  // The quality column is empty while every sample is good; the first bad one fills it in
  // (zeros for the rows before it, none when it is the first row).
  uint32_t q = quality.opcua_status();
  if (q != 0 || !cols_.quality.empty()) {
    if (cols_.quality.empty()) cols_.quality.assign(cols_.ts.size() - 1, 0);
    cols_.quality.push_back(q);
    bytes_ += 4;
  }
  min_ts_ = std::min(min_ts_, ts);
  max_ts_ = std::max(max_ts_, ts);
}

void HeadBuffer::SortAndDedupe() {
  if (sorted_) return;
  const size_t n = cols_.ts.size();
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [this](uint32_t a, uint32_t b) { return cols_.ts[a] < cols_.ts[b]; });
  ChunkColumns out;
  out.type = cols_.type;
  for (size_t i = 0; i < n; ++i) {
    // Within a run of equal timestamps the stable sort keeps arrival order: keep the last.
    if (i + 1 < n && cols_.ts[order[i + 1]] == cols_.ts[order[i]]) continue;
    AppendRow(cols_, order[i], &out);
  }
  cols_ = std::move(out);
  sorted_ = true;
}

void HeadBuffer::Clear() {
  ClearColumns(&cols_);
  sorted_ = true;
  min_ts_ = INT64_MAX;
  max_ts_ = INT64_MIN;
  bytes_ = 0;
}

void AppendRow(const ChunkColumns& src, size_t i, ChunkColumns* dst) {
  dst->ts.push_back(src.ts[i]);
  switch (src.type) {
    case ValueType::kDouble: dst->f64.push_back(src.f64[i]); break;
    case ValueType::kInt64: dst->i64.push_back(src.i64[i]); break;
    case ValueType::kBool: dst->b.push_back(src.b[i]); break;
    case ValueType::kString: dst->str.push_back(src.str[i]); break;
  }
  uint32_t q = src.quality.empty() ? 0 : src.quality[i];
  if (q != 0 || !dst->quality.empty()) {
    if (dst->quality.empty()) dst->quality.assign(dst->ts.size() - 1, 0);
    dst->quality.push_back(q);
  }
}

core::Sample RowToSample(const ChunkColumns& cols, size_t i) {
  core::Sample s;
  s.ts = cols.ts[i];
  switch (cols.type) {
    case ValueType::kDouble: s.value = Value(cols.f64[i]); break;
    case ValueType::kInt64: s.value = Value(cols.i64[i]); break;
    case ValueType::kBool: s.value = Value(cols.b[i] != 0); break;
    case ValueType::kString: s.value = Value(cols.str[i]); break;
  }
  s.quality = core::Quality::FromOpcUaStatus(cols.quality.empty() ? 0 : cols.quality[i]);
  return s;
}

void SliceColumns(const ChunkColumns& src, core::Timestamp from, core::Timestamp to, ChunkColumns* dst) {
  dst->type = src.type;
  auto lo = std::lower_bound(src.ts.begin(), src.ts.end(), from) - src.ts.begin();
  auto hi = std::lower_bound(src.ts.begin(), src.ts.end(), to) - src.ts.begin();
  for (auto i = lo; i < hi; ++i) AppendRow(src, static_cast<size_t>(i), dst);
}

void ClearColumns(ChunkColumns* cols) {
  cols->ts.clear();
  cols->f64.clear();
  cols->i64.clear();
  cols->b.clear();
  cols->str.clear();
  cols->quality.clear();
}

void MergeRuns(const std::vector<PrioritizedRun>& runs, ChunkColumns* out) {
  if (runs.empty()) return;
  out->type = runs.front().cols->type;
  if (runs.size() == 1) {
    const ChunkColumns& only = *runs.front().cols;
    for (size_t i = 0; i < only.ts.size(); ++i) AppendRow(only, i, out);
    return;
  }
  // Heap of (ts, -priority, run) so the smallest timestamp comes first and, among equal
  // timestamps, the highest priority first; the others at that timestamp are skipped.
  struct Cursor {
    core::Timestamp ts;
    uint64_t priority;
    size_t run;
    size_t pos;
  };
  auto later = [](const Cursor& a, const Cursor& b) {
    if (a.ts != b.ts) return a.ts > b.ts;
    return a.priority < b.priority;
  };
  std::priority_queue<Cursor, std::vector<Cursor>, decltype(later)> heap(later);
  for (size_t r = 0; r < runs.size(); ++r) {
    if (!runs[r].cols->ts.empty()) heap.push(Cursor{runs[r].cols->ts[0], runs[r].priority, r, 0});
  }
  bool have_last = false;
  core::Timestamp last_ts = 0;
  while (!heap.empty()) {
    Cursor c = heap.top();
    heap.pop();
    if (!have_last || c.ts != last_ts) {
      AppendRow(*runs[c.run].cols, c.pos, out);
      have_last = true;
      last_ts = c.ts;
    }
    if (++c.pos < runs[c.run].cols->ts.size()) {
      c.ts = runs[c.run].cols->ts[c.pos];
      heap.push(c);
    }
  }
}

}  // namespace shopfloor::storage
