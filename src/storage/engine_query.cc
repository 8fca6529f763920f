// Engine: snapshots, raw reads and the latest values.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "storage/aggregate.h"
#include "storage/engine.h"
#include "storage/query_iterators.h"

namespace shopfloor::storage {

using core::Status;

Result<SeriesSnapshot> Engine::Snapshot(SeriesId id) const {
  SeriesSnapshot snap;
  SeriesState* st = nullptr;
  {
    std::shared_lock l(series_mu_);
    st = StateOf(id);
    if (st == nullptr) return Status::NotFound(fmt::format("no series with id {}", core::ToU64(id)));
    snap.info = st->info;
  }
  HeadBuffer frozen(snap.info.type), head(snap.info.type);
  {
    std::shared_lock v(version_mu_);
    snap.blocks = blocks_;
    std::lock_guard<std::mutex> sl(st->mu);
    frozen = st->frozen;
    head = st->head;
  }
  frozen.SortAndDedupe();
  head.SortAndDedupe();
  snap.memory.type = snap.info.type;
  MergeRuns({{&frozen.columns(), 1}, {&head.columns(), 2}}, &snap.memory);
  return snap;
}

Status Engine::ReadPartition(const SeriesSnapshot& snap, core::Timestamp partition_start, core::Timestamp from,
                             core::Timestamp to, ChunkColumns* out) const {
  const uint64_t id = core::ToU64(snap.info.id);
  const core::Timestamp lo = std::max(from, partition_start);
  const core::Timestamp hi = std::min(to, partition_start + options_.block_duration);
  Status first_error;
  std::vector<ChunkColumns> block_runs;
  std::vector<uint64_t> priorities;
  std::string scratch;
  ChunkColumns decoded;
  for (const auto& block : snap.blocks->raw) {
    if (block->meta().partition_start != partition_start) continue;
    ChunkColumns run;
    run.type = snap.info.type;
    for (const ChunkRef& ref : block->ChunksFor(id)) {
      if (ref.max_ts < lo || ref.min_ts >= hi) continue;
      auto bytes = block->ReadChunk(ref, &scratch);
      Status s = bytes.ok() ? DecodeChunk(*bytes, &decoded) : bytes.status();
      if (s.ok() && decoded.type != snap.info.type) {
        s = Status::Corruption(fmt::format("chunk of series {} has type {}", id, core::ValueTypeName(decoded.type)),
                               block->path(), ref.offset);
      }
      if (!s.ok()) {
        if (s.context().file.empty()) s = Status::Corruption(s.message(), block->path(), ref.offset);
        RecordCorruption(s);
        if (first_error.ok()) first_error = s;
        continue;
      }
      SliceColumns(decoded, lo, hi, &run);
    }
    if (!run.ts.empty()) {
      block_runs.push_back(std::move(run));
      priorities.push_back(block->meta().sequence);
    }
  }
  ChunkColumns memory;
  SliceColumns(snap.memory, lo, hi, &memory);
  std::vector<PrioritizedRun> runs;
  for (size_t i = 0; i < block_runs.size(); ++i) runs.push_back({&block_runs[i], priorities[i]});
  runs.push_back({&memory, UINT64_MAX});
  ClearColumns(out);
  out->type = snap.info.type;
  MergeRuns(runs, out);
  return first_error;
}

std::vector<core::Timestamp> RawPartitions(const SeriesSnapshot& snap, core::Duration width, core::Timestamp from,
                                           core::Timestamp to) {
  std::set<core::Timestamp> parts;
  const uint64_t id = core::ToU64(snap.info.id);
  for (const auto& block : snap.blocks->raw) {
    const BlockMeta& m = block->meta();
    if (m.partition_end <= from || m.partition_start >= to) continue;
    if (!block->ChunksFor(id).empty()) parts.insert(m.partition_start);
  }
  const auto& ts = snap.memory.ts;
  auto it = std::lower_bound(ts.begin(), ts.end(), from);
  while (it != ts.end() && *it < to) {
    const core::Timestamp p = AlignDown(*it, width);
    parts.insert(p);
    it = std::lower_bound(it, ts.end(), p + width);
  }
  return {parts.begin(), parts.end()};
}

Result<std::unique_ptr<SampleIterator>> Engine::ReadRaw(SeriesId id, Timestamp from, Timestamp to) const {
  if (from >= to) return Status::InvalidArgument(fmt::format("empty time range: from {} >= to {}", from, to));
  SF_ASSIGN_OR_RETURN(SeriesSnapshot snap, Snapshot(id));
  std::vector<core::Timestamp> parts = RawPartitions(snap, options_.block_duration, from, to);
  return std::unique_ptr<SampleIterator>(new RawIterator(this, std::move(snap), std::move(parts), from, to));
}

void Engine::ResolveLatestFromBlocks(SeriesState* st, const BlockSet& blocks) const {
  const uint64_t id = core::ToU64(st->info.id);
  const BlockReader* best_block = nullptr;
  const ChunkRef* best = nullptr;
  for (const auto& block : blocks.raw) {
    for (const ChunkRef& ref : block->ChunksFor(id)) {
      if (best == nullptr || ref.max_ts > best->max_ts ||
          (ref.max_ts == best->max_ts && block->meta().sequence > best_block->meta().sequence)) {
        best = &ref;
        best_block = block.get();
      }
    }
  }
  if (best == nullptr || (st->latest && st->latest->ts > best->max_ts)) return;
  std::string scratch;
  auto bytes = best_block->ReadChunk(*best, &scratch);
  ChunkColumns cols;
  Status s = bytes.ok() ? DecodeChunk(*bytes, &cols) : bytes.status();
  if (!s.ok() || cols.ts.empty() || cols.type != st->info.type) {
    RecordCorruption(s.ok() ? Status::Corruption("chunk type mismatch", best_block->path(), best->offset) : s);
    return;
  }
  // Head data with the same timestamp is newer than any block (last write wins).
  if (st->latest && st->latest->ts == cols.ts.back()) return;
  st->latest = RowToSample(cols, cols.ts.size() - 1);
}

std::vector<std::optional<Sample>> Engine::Latest(std::span<const SeriesId> ids) const {
  std::vector<std::optional<Sample>> out(ids.size());
  std::shared_ptr<const BlockSet> blocks = CurrentBlocks();
  std::shared_lock l(series_mu_);
  for (size_t i = 0; i < ids.size(); ++i) {
    SeriesState* st = StateOf(ids[i]);
    if (st == nullptr) continue;
    std::lock_guard<std::mutex> sl(st->mu);
    if (!st->latest_resolved) {
      ResolveLatestFromBlocks(st, *blocks);
      st->latest_resolved = true;
    }
    out[i] = st->latest;
  }
  return out;
}

}  // namespace shopfloor::storage
