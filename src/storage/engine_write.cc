// Engine: the write path.
#include <fmt/format.h>

#include "storage/engine.h"
#include "storage/wal_record.h"

namespace shopfloor::storage {

using core::Status;

namespace {
// |ts| < 2^62 ns keeps partition arithmetic (start + width) far from int64 overflow.
constexpr core::Timestamp kMaxAbsTimestamp = (int64_t{1} << 62) - 1;
}  // namespace

Status Engine::Write(const SampleBatch& batch) {
  if (batch.empty()) return Status::OK();
  // Resolve every entry's series first: a bad entry rejects the whole batch before anything
  // reaches the WAL.
  thread_local std::vector<SeriesState*> states;
  states.clear();
  states.reserve(batch.size());
  {
    std::shared_lock l(series_mu_);
    SeriesState* prev = nullptr;
    for (size_t i = 0; i < batch.entries.size(); ++i) {
      const auto& e = batch.entries[i];
      SeriesState* st = (prev != nullptr && prev->info.id == e.series) ? prev : StateOf(e.series);
      if (st == nullptr) {
        return Status::InvalidArgument(fmt::format("entry {}: no series with id {}", i, core::ToU64(e.series)));
      }
      if (st->info.type != e.value.type()) {
        return Status::InvalidArgument(fmt::format("entry {}: series \"{}\" holds {} values, got {}", i,
                                                   st->info.key, core::ValueTypeName(st->info.type),
                                                   core::ValueTypeName(e.value.type())));
      }
      if (e.ts < -kMaxAbsTimestamp || e.ts > kMaxAbsTimestamp) {
        return Status::InvalidArgument(fmt::format("entry {}: timestamp {} is outside the supported range (years 1824..2116)", i, e.ts));
      }
      states.push_back(st);
      prev = st;
    }
  }

  thread_local std::string payload;
  payload.clear();
  EncodeSamples(batch, &payload);
  {
    std::shared_lock gate(gate_);
    SF_RETURN_IF_ERROR(wal_->Append(payload).status());
    int64_t added_bytes = 0;
    size_t i = 0;
    while (i < batch.entries.size()) {
      // Consecutive entries of one series share one lock acquisition.
      SeriesState* st = states[i];
      std::lock_guard<std::mutex> l(st->mu);
      const size_t before = st->head.ApproxBytes();
      for (; i < batch.entries.size() && states[i] == st; ++i) {
        const auto& e = batch.entries[i];
        st->head.Append(e.ts, e.value, e.quality);
        if (!st->latest || e.ts >= st->latest->ts) {
          if (st->latest) {
            st->latest->ts = e.ts;
            st->latest->value = e.value;
            st->latest->quality = e.quality;
          } else {
            st->latest = core::Sample{e.ts, e.value, e.quality};
          }
        }
      }
      added_bytes += static_cast<int64_t>(st->head.ApproxBytes() - before);
    }
    head_bytes_ += added_bytes;
    head_samples_ += static_cast<int64_t>(batch.size());
  }
  samples_written_ += batch.size();

  // Memory pressure: ask the background thread to flush; far above the limit, wait for it
  // (back-pressure instead of rejecting or growing without bound).
  const auto limit = static_cast<int64_t>(options_.head_memory_limit);
  if (head_bytes_.load(std::memory_order_relaxed) > limit) {
    if (!options_.background_maintenance) return Flush();
    std::unique_lock<std::mutex> l(bg_mu_);
    flush_requested_ = true;
    bg_cv_.notify_all();
    const uint64_t seen = flushes_done_;
    while (!stop_ && head_bytes_.load() > 2 * limit && flushes_done_ == seen) bg_cv_.wait(l);
  }
  return Status::OK();
}

}  // namespace shopfloor::storage
