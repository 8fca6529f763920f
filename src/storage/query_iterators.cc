#include "storage/query_iterators.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "storage/rollup.h"

namespace shopfloor::storage {

using core::Status;

RawIterator::RawIterator(const Engine* engine, SeriesSnapshot snap, std::vector<core::Timestamp> partitions,
                         core::Timestamp from, core::Timestamp to)
    : engine_(engine), snap_(std::move(snap)), partitions_(std::move(partitions)), from_(from), to_(to) {
  buffer_.type = snap_.info.type;
}

bool RawIterator::Next(Sample* out) {
  while (pos_ >= buffer_.ts.size()) {
    if (next_partition_ >= partitions_.size()) return false;
    pos_ = 0;
    // A damaged chunk is reported (status) but the rest of the data is still returned.
    Status s = engine_->ReadPartition(snap_, partitions_[next_partition_++], from_, to_, &buffer_);
    if (!s.ok() && status_.ok()) status_ = s;
  }
  *out = RowToSample(buffer_, pos_++);
  return true;
}

AggIterator::AggIterator(const Engine* engine, SeriesSnapshot snap, std::vector<core::Timestamp> partitions,
                         const AggregateQuery& query, bool use_1h, bool use_1m)
    : engine_(engine),
      snap_(std::move(snap)),
      partitions_(std::move(partitions)),
      query_(query),
      use_1h_(use_1h),
      use_1m_(use_1m),
      aggregator_(query.from, query.to, query.step) {}

bool AggIterator::Next(AggregateRow* out) {
  auto& ready = aggregator_.ready();
  while (ready.empty()) {
    if (finished_) return false;
    if (next_partition_ >= partitions_.size()) {
      aggregator_.Finish();
      finished_ = true;
      continue;
    }
    ProcessPartition(partitions_[next_partition_++]);
  }
  *out = ready.front();
  ready.pop_front();
  return true;
}

bool AggIterator::TryRollup(core::Timestamp partition_start, const std::vector<std::shared_ptr<BlockReader>>& level,
                            core::Duration res, bool memory_has_data) {
  const core::Timestamp lo = std::max(query_.from, partition_start);
  const core::Timestamp hi = std::min(query_.to, partition_start + engine_->block_duration());
  if (memory_has_data || AlignDown(lo, res) != lo || AlignDown(hi, res) != hi) return false;
  const BlockReader* rollup = nullptr;
  for (const auto& b : level) {
    if (b->meta().partition_start == partition_start &&
        (rollup == nullptr || b->meta().sequence > rollup->meta().sequence)) {
      rollup = b.get();
    }
  }
  if (rollup == nullptr) return false;
  // Valid only if it summarises exactly the raw data that is there now.
  for (const auto& b : snap_.blocks->raw) {
    if (b->meta().partition_start == partition_start && b->meta().sequence != rollup->meta().sequence) return false;
  }
  std::vector<WindowPartial> windows;
  Status s = ReadRollupWindows(*rollup, core::ToU64(snap_.info.id), lo, hi, &windows);
  if (s.IsNotFound()) return false;  // the series' windows were too sparse to be worth a rollup
  if (!s.ok()) {
    engine_->RecordCorruption(s);
    return false;
  }
  for (const WindowPartial& w : windows) aggregator_.Add(w.partial);
  const Resolution r = res == core::kHour ? Resolution::kOneHour : Resolution::kOneMinute;
  if (static_cast<int>(r) > static_cast<int>(resolution_)) resolution_ = r;
  return true;
}

void AggIterator::ProcessPartition(core::Timestamp partition_start) {
  const core::Timestamp pend = partition_start + engine_->block_duration();
  const auto& mts = snap_.memory.ts;
  auto it = std::lower_bound(mts.begin(), mts.end(), partition_start);
  const bool memory_has_data = it != mts.end() && *it < pend;
  if (use_1h_ && TryRollup(partition_start, snap_.blocks->rollup_1h, core::kHour, memory_has_data)) return;
  if (use_1m_ && TryRollup(partition_start, snap_.blocks->rollup_1m, core::kMinute, memory_has_data)) return;
  ChunkColumns cols;
  Status s = engine_->ReadPartition(snap_, partition_start, query_.from, query_.to, &cols);
  if (!s.ok() && status_.ok()) status_ = s;
  std::vector<WindowPartial> windows;
  PartialsOfWindows(cols, query_.step, &windows);
  for (const WindowPartial& w : windows) aggregator_.Add(w.partial);
}

Result<std::unique_ptr<AggregateIterator>> Engine::Aggregate(SeriesId id, const AggregateQuery& query) const {
  if (query.from >= query.to) {
    return Status::InvalidArgument(fmt::format("empty time range: from {} >= to {}", query.from, query.to));
  }
  AggregateQuery q = query;
  if (q.step <= 0) {
    if (q.max_points == 0) return Status::InvalidArgument("an aggregate needs a step or a point budget");
    // The finest resolution whose windows fit the budget.
    const core::Duration span = q.to - q.from;
    core::Duration step = (span + static_cast<core::Duration>(q.max_points) - 1) / static_cast<core::Duration>(q.max_points);
    if (step >= core::kHour) {
      step = (step + core::kHour - 1) / core::kHour * core::kHour;
    } else if (step >= core::kMinute) {
      step = (step + core::kMinute - 1) / core::kMinute * core::kMinute;
    }
    q.step = std::max<core::Duration>(step, 1);
    // Windows are epoch-aligned, so the range can touch one window more than span / step:
    // widen the step by its own rounding unit until the windows fit the budget.
    const core::Duration unit = q.step >= core::kHour ? core::kHour : q.step >= core::kMinute ? core::kMinute : 1;
    while ((AlignDown(q.to - 1, q.step) - AlignDown(q.from, q.step)) / q.step + 1 >
           static_cast<core::Duration>(q.max_points)) {
      q.step += unit;
    }
  }
  SF_ASSIGN_OR_RETURN(SeriesSnapshot snap, Snapshot(id));
  if (snap.info.type == ValueType::kString) {
    return Status::InvalidArgument(fmt::format("series \"{}\" holds strings: it has no numeric aggregates", snap.info.key));
  }
  const bool use_1h = q.allow_rollups && q.step % core::kHour == 0;
  const bool use_1m = q.allow_rollups && q.step % core::kMinute == 0;
  std::vector<core::Timestamp> raw = RawPartitions(snap, options_.block_duration, q.from, q.to);
  std::set<core::Timestamp> parts(raw.begin(), raw.end());
  if (use_1m) {
    const uint64_t probe = core::ToU64(id);
    for (const auto* level : {&snap.blocks->rollup_1h, &snap.blocks->rollup_1m}) {
      for (const auto& b : *level) {
        const BlockMeta& m = b->meta();
        if (m.partition_end > q.from && m.partition_start < q.to && !b->ChunksFor(probe).empty()) {
          parts.insert(m.partition_start);
        }
      }
    }
  }
  return std::unique_ptr<AggregateIterator>(
      new AggIterator(this, std::move(snap), {parts.begin(), parts.end()}, q, use_1h, use_1m));
}

}  // namespace shopfloor::storage
