// Engine: compaction, rollups, retention, the disk quota and the maintenance thread.
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/log.h"
#include "storage/engine.h"
#include "storage/rollup.h"

namespace shopfloor::storage {

using core::Status;

namespace {

using BlockList = std::vector<std::shared_ptr<BlockReader>>;

bool IsNumeric(core::ValueType t) { return t != core::ValueType::kString; }

constexpr size_t kTierFanout = 4;

}  // namespace

Status Engine::Compact() {
  std::lock_guard<std::mutex> l(flush_mu_);
  return CompactLocked(/*force=*/true);
}

Status Engine::CompactLocked(bool force) {
  const core::Timestamp now = clock_->Now();
  std::shared_ptr<const BlockSet> blocks = CurrentBlocks();
  std::map<core::Timestamp, BlockList> raw_by_partition;
  std::map<core::Timestamp, BlockList> rollups_by_partition;
  for (const auto& b : blocks->raw) raw_by_partition[b->meta().partition_start].push_back(b);
  for (const auto* level : {&blocks->rollup_1m, &blocks->rollup_1h}) {
    for (const auto& b : *level) rollups_by_partition[b->meta().partition_start].push_back(b);
  }

  // Retention cut-off of a series (INT64_MIN: kept forever).
  auto cutoff = [&](uint64_t id, int factor) -> core::Timestamp {
    std::shared_lock l(series_mu_);
    const SeriesState* st = StateOf(static_cast<SeriesId>(id));
    return (st == nullptr || st->max_age == 0) ? INT64_MIN : now - st->max_age * factor;
  };
  std::set<core::Timestamp> partitions;
  for (const auto& [start, list] : raw_by_partition) partitions.insert(start);
  for (const auto& [start, block] : rollups_by_partition) partitions.insert(start);

  for (core::Timestamp start : partitions) {
    const BlockList& inputs = raw_by_partition[start];
    const BlockList& rollups = rollups_by_partition[start];
    const bool closed = start + options_.block_duration + options_.block_duration / 2 <= now;
    // Retention works on whole partitions: a series' data in a partition goes when the
    // partition's end is older than the series' max_age (so data lives max_age plus at most
    // one block width, and a partition is rewritten once per expiry, not continuously).
    const core::Timestamp end = start + options_.block_duration;
    bool expired = false;
    for (const auto& b : inputs) {
      for (const ChunkRef& ref : b->chunks()) expired = expired || end <= cutoff(ref.series_id, 1);
    }
    for (const auto& rollup : rollups) {
      for (const ChunkRef& ref : rollup->chunks()) {
        expired = expired || end <= cutoff(ref.series_id, options_.rollup_retention_factor);
      }
    }
    // A closed (or forced) partition is merged into one block with its rollups; the rollup
    // blocks carry the raw block's sequence number and mark it done, even when empty.
    const bool full_due = closed || force;
    const bool done = inputs.size() == 1 && std::any_of(rollups.begin(), rollups.end(), [&](const auto& r) {
                        return r->meta().sequence == inputs.front()->meta().sequence;
                      });
    if (expired || (full_due && !inputs.empty() && !done)) {
      SF_RETURN_IF_ERROR(CompactPartition(start, inputs, /*full=*/true));
      continue;
    }
    if (full_due) continue;
    // The open partition: size-tiered merging, kTierFanout blocks of one level into one
    // block of the next, so each sample is rewritten O(log n) times, not at every flush.
    std::map<uint32_t, BlockList> by_level;
    for (const auto& b : inputs) by_level[b->meta().level].push_back(b);
    for (const auto& [level, tier] : by_level) {
      if (tier.size() >= kTierFanout) SF_RETURN_IF_ERROR(CompactPartition(start, tier, /*full=*/false));
    }
  }
  return ApplyQuotaLocked();
}

namespace {

// Window-by-window union of rollups kept from an earlier compaction and rollups recomputed
// from the raw data now present. Raw data only loses samples through retention, so where
// both have a window the one summarising more samples is the complete one (on a tie the
// recomputed window wins: it reflects overwrites).
std::vector<WindowPartial> UnionWindows(const std::vector<WindowPartial>& kept, const std::vector<WindowPartial>& fresh) {
  std::vector<WindowPartial> out;
  size_t i = 0, j = 0;
  while (i < kept.size() || j < fresh.size()) {
    if (j == fresh.size() || (i < kept.size() && kept[i].start < fresh[j].start)) {
      out.push_back(kept[i++]);
    } else if (i == kept.size() || fresh[j].start < kept[i].start) {
      out.push_back(fresh[j++]);
    } else {
      out.push_back(kept[i].partial.count > fresh[j].partial.count ? kept[i] : fresh[j]);
      ++i;
      ++j;
    }
  }
  return out;
}

}  // namespace

Status Engine::CompactPartition(core::Timestamp partition_start, const BlockList& inputs, bool full) {
  const core::Timestamp now = clock_->Now();
  std::shared_ptr<const BlockSet> current = CurrentBlocks();
  // The partition's existing rollups (newest of each level), whose windows may outlive raw data.
  const BlockReader* old_1m = nullptr;
  const BlockReader* old_1h = nullptr;
  BlockList old_rollups;
  for (auto [level, slot] : {std::pair{&current->rollup_1m, &old_1m}, std::pair{&current->rollup_1h, &old_1h}}) {
    if (!full) break;  // a partial merge leaves the partition's rollups alone
    for (const auto& b : *level) {
      if (b->meta().partition_start != partition_start) continue;
      old_rollups.push_back(b);
      if (*slot == nullptr || b->meta().sequence > (*slot)->meta().sequence) *slot = b.get();
    }
  }
  std::set<uint64_t> ids;
  uint32_t level = 0;
  for (const auto& b : inputs) {
    for (uint64_t id : b->SeriesIds()) ids.insert(id);
    level = std::max(level, b->meta().level);
  }
  for (const BlockReader* old : {old_1m, old_1h}) {
    if (old == nullptr) continue;
    for (uint64_t id : old->SeriesIds()) ids.insert(id);
  }
  BlockMeta meta;
  meta.partition_start = partition_start;
  meta.partition_end = partition_start + options_.block_duration;
  meta.level = level + 1;
  meta.sequence = next_seq_++;
  SF_ASSIGN_OR_RETURN(auto raw_writer, BlockWriter::Create(env_, BlockPath("blocks", meta.sequence), meta));
  BlockMeta rmeta = meta;
  rmeta.level = 0;
  SF_ASSIGN_OR_RETURN(auto w1m, BlockWriter::Create(env_, BlockPath("rollup/1m", meta.sequence), rmeta));
  SF_ASSIGN_OR_RETURN(auto w1h, BlockWriter::Create(env_, BlockPath("rollup/1h", meta.sequence), rmeta));
  auto abandon = [&](Status s) {
    raw_writer->Abandon();
    w1m->Abandon();
    w1h->Abandon();
    return s;
  };

  std::string scratch;
  ChunkColumns decoded, merged;
  uint64_t written = 0, rollup_1m_series = 0, rollup_1h_series = 0, dropped = 0;
  for (uint64_t id : ids) {
    core::Duration max_age = 0;
    {
      std::shared_lock l(series_mu_);
      if (const SeriesState* st = StateOf(static_cast<SeriesId>(id))) max_age = st->max_age;
    }
    std::vector<ChunkColumns> runs;
    std::vector<uint64_t> priorities;
    for (const auto& b : inputs) {
      ChunkColumns run;
      for (const ChunkRef& ref : b->ChunksFor(id)) {
        auto bytes = b->ReadChunk(ref, &scratch);
        Status s = bytes.ok() ? DecodeChunk(*bytes, &decoded) : bytes.status();
        if (!s.ok()) {
          // Never compact damaged data away: leave the partition as it is for an operator.
          if (s.context().file.empty()) s = Status::Corruption(s.message(), b->path(), ref.offset);
          RecordCorruption(s);
          return abandon(Status::OK());  // OK: the partition is skipped, not an engine failure
        }
        run.type = decoded.type;
        for (size_t i = 0; i < decoded.ts.size(); ++i) AppendRow(decoded, i, &run);
      }
      if (!run.ts.empty()) {
        runs.push_back(std::move(run));
        priorities.push_back(b->meta().sequence);
      }
    }
    std::vector<PrioritizedRun> prioritized;
    for (size_t r = 0; r < runs.size(); ++r) prioritized.push_back({&runs[r], priorities[r]});
    ClearColumns(&merged);
    if (!prioritized.empty()) {
      merged.type = prioritized.front().cols->type;
      MergeRuns(prioritized, &merged);
    }

    // Rollups first, from all raw data still here (retention below only cuts raw data).
    std::vector<WindowPartial> minutes, hours;
    if (full && !merged.ts.empty() && IsNumeric(merged.type)) {
      PartialsOfWindows(merged, core::kMinute, &minutes);
      if (!RollupPays(merged.ts.size(), minutes.size())) minutes.clear();
      PartialsOfWindows(merged, core::kHour, &hours);
      if (!RollupPays(merged.ts.size(), hours.size())) hours.clear();
    }
    for (auto [old, windows] : {std::pair{old_1m, &minutes}, std::pair{old_1h, &hours}}) {
      if (old == nullptr || old->ChunksFor(id).empty()) continue;
      std::vector<WindowPartial> kept;
      Status s = ReadRollupWindows(*old, id, INT64_MIN, INT64_MAX, &kept);
      if (!s.ok()) {
        RecordCorruption(s);
        return abandon(Status::OK());
      }
      *windows = UnionWindows(kept, *windows);
    }
    if (max_age > 0 && meta.partition_end <= now - max_age * options_.rollup_retention_factor) {
      minutes.clear();
      hours.clear();
    }
    if (full && max_age > 0 && meta.partition_end <= now - max_age) {
      dropped += merged.ts.size();
      ClearColumns(&merged);
    }
    Status added;
    if (!minutes.empty()) {
      added = AddRollup(w1m.get(), id, minutes);
      ++rollup_1m_series;
    }
    if (added.ok() && !hours.empty()) {
      added = AddRollup(w1h.get(), id, hours);
      ++rollup_1h_series;
    }
    if (!added.ok()) return abandon(added);
    if (merged.ts.empty()) continue;
    const size_t n = merged.ts.size();
    Status added_chunks = AddChunks(raw_writer.get(), id, merged, 0, n);
    if (!added_chunks.ok()) return abandon(added_chunks);
    written += n;
  }

  auto next = std::make_shared<BlockSet>(*CurrentBlocks());
  std::vector<std::string> obsolete;
  auto remove_from = [&](BlockList* list, const BlockList& gone) {
    std::erase_if(*list, [&](const auto& b) {
      if (std::find(gone.begin(), gone.end(), b) == gone.end()) return false;
      obsolete.push_back(b->path());
      return true;
    });
  };
  remove_from(&next->raw, inputs);
  remove_from(&next->rollup_1m, old_rollups);
  remove_from(&next->rollup_1h, old_rollups);

  if (written == 0) {
    raw_writer->Abandon();
  } else {
    SF_RETURN_IF_ERROR(raw_writer->Finish());
    SF_ASSIGN_OR_RETURN(auto raw_reader, BlockReader::Open(env_, raw_writer->final_path()));
    next->raw.push_back(std::move(raw_reader));
  }
  for (auto [writer, used, level] : {std::tuple{w1m.get(), rollup_1m_series, &next->rollup_1m},
                                     std::tuple{w1h.get(), rollup_1h_series, &next->rollup_1h}}) {
    // With raw data left, a full compaction writes both rollup blocks, empty or not: they
    // mark the raw block as compacted.
    if (!full || (used == 0 && written == 0)) {
      writer->Abandon();
      continue;
    }
    SF_RETURN_IF_ERROR(writer->Finish());
    SF_ASSIGN_OR_RETURN(auto reader, BlockReader::Open(env_, writer->final_path()));
    level->push_back(std::move(reader));
  }
  if (written == 0 && !inputs.empty()) {
    retention_evicted_ += inputs.size();
    SF_LOG(info, "storage.retention_evicted", "partition={} blocks={}", core::FormatTimestamp(partition_start),
           inputs.size());
  }
  retention_evicted_samples_ += dropped;
  SortBlocks(&next->raw);
  SortBlocks(&next->rollup_1m);
  SortBlocks(&next->rollup_1h);
  Publish(std::move(next));
  // Queries that still hold the old readers keep reading them: open files outlive unlink.
  for (const std::string& path : obsolete) SF_RETURN_IF_ERROR(env_->RemoveFile(path));
  for (const char* dir : {"blocks", "rollup/1m", "rollup/1h"}) {
    SF_RETURN_IF_ERROR(env_->SyncDir(core::JoinPath(options_.dir, dir)));
  }
  ++compactions_;
  SF_LOG(debug, "storage.compacted", "partition={} inputs={} samples={} expired_samples={}",
         core::FormatTimestamp(partition_start), inputs.size(), written, dropped);
  return Status::OK();
}

Status Engine::ApplyQuotaLocked() {
  if (options_.disk_quota_bytes == 0) return Status::OK();
  for (;;) {
    std::shared_ptr<const BlockSet> blocks = CurrentBlocks();
    uint64_t total = 0;
    for (const auto* list : {&blocks->raw, &blocks->rollup_1m, &blocks->rollup_1h}) {
      for (const auto& b : *list) total += b->file_size();
    }
    if (total <= options_.disk_quota_bytes) return Status::OK();
    // Oldest first: the oldest raw partition, but never the newest one (fresh data); then
    // the oldest rollups.
    BlockList victims;
    const BlockList* from = nullptr;
    std::set<core::Timestamp> raw_parts;
    for (const auto& b : blocks->raw) raw_parts.insert(b->meta().partition_start);
    if (raw_parts.size() > 1) {
      from = &blocks->raw;
    } else if (!blocks->rollup_1m.empty() || !blocks->rollup_1h.empty()) {
      from = blocks->rollup_1m.empty() ? &blocks->rollup_1h : &blocks->rollup_1m;
    }
    if (from == nullptr) {
      SF_LOG(warn, "storage.quota_too_small", "dir={} quota_bytes={} used_bytes={}", options_.dir,
             options_.disk_quota_bytes, total);
      return Status::OK();
    }
    const core::Timestamp oldest = from->front()->meta().partition_start;
    for (const auto& b : *from) {
      if (b->meta().partition_start == oldest) victims.push_back(b);
    }
    auto next = std::make_shared<BlockSet>(*blocks);
    for (auto* list : {&next->raw, &next->rollup_1m, &next->rollup_1h}) {
      std::erase_if(*list, [&](const auto& b) { return std::find(victims.begin(), victims.end(), b) != victims.end(); });
    }
    Publish(std::move(next));
    for (const auto& b : victims) {
      SF_RETURN_IF_ERROR(env_->RemoveFile(b->path()));
      ++quota_evicted_;
      SF_LOG(warn, "storage.quota_evicted", "file={} partition={} bytes={} quota_bytes={}", b->path(),
             core::FormatTimestamp(oldest), b->file_size(), options_.disk_quota_bytes);
    }
  }
}

void Engine::MaintenanceLoop() {
  core::Timestamp last_compaction = clock_->Now();
  std::unique_lock<std::mutex> l(bg_mu_);
  while (!stop_) {
    bg_cv_.wait_for(l, std::chrono::milliseconds(500));
    if (stop_) break;
    const core::Timestamp now = clock_->Now();
    const bool flush = flush_requested_ ||
                       head_bytes_.load() > static_cast<int64_t>(options_.head_memory_limit) ||
                       (head_samples_.load() > 0 && now - last_flush_ >= options_.flush_interval);
    const bool compact = now - last_compaction >= options_.compaction_interval;
    flush_requested_ = false;
    l.unlock();
    Status s;
    if (flush) s = Flush();
    if (s.ok() && compact) {
      std::lock_guard<std::mutex> fl(flush_mu_);
      s = CompactLocked(/*force=*/false);
      last_compaction = now;
    }
    if (!s.ok()) SF_LOG(error, "storage.maintenance_failed", "dir={} error=\"{}\"", options_.dir, s.ToString());
    l.lock();
    ++flushes_done_;
    bg_cv_.notify_all();
  }
}

}  // namespace shopfloor::storage
