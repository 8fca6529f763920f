// Engine: sealing the head into level-0 block files.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "core/log.h"
#include "storage/aggregate.h"
#include "storage/block/block_writer.h"
#include "storage/catalog.h"
#include "storage/engine.h"

namespace shopfloor::storage {

using core::Status;

constexpr size_t kFlushChunkSamples = 4096;

// Writes rows [begin, end) of `cols` as evenly sized chunks of at most kFlushChunkSamples.
Status AddChunks(BlockWriter* writer, uint64_t series_id, const ChunkColumns& cols, size_t begin, size_t end) {
  const size_t n = end - begin;
  const size_t pieces = (n + kFlushChunkSamples - 1) / kFlushChunkSamples;
  const size_t per = (n + pieces - 1) / pieces;
  std::string bytes;
  ChunkColumns piece;
  piece.type = cols.type;
  for (size_t at = begin; at < end; at += per) {
    const size_t stop = std::min(end, at + per);
    ClearColumns(&piece);
    for (size_t i = at; i < stop; ++i) AppendRow(cols, i, &piece);
    bytes.clear();
    EncodeChunk(piece, &bytes);
    SF_RETURN_IF_ERROR(writer->Add(series_id, cols.type, piece.ts.front(), piece.ts.back(),
                                   static_cast<uint32_t>(piece.ts.size()), bytes));
  }
  return Status::OK();
}

void SortBlocks(std::vector<std::shared_ptr<BlockReader>>* list) {
  std::sort(list->begin(), list->end(), [](const auto& a, const auto& b) {
    if (a->meta().partition_start != b->meta().partition_start)
      return a->meta().partition_start < b->meta().partition_start;
    return a->meta().sequence < b->meta().sequence;
  });
}


Status Engine::Flush() {
  std::lock_guard<std::mutex> l(flush_mu_);
  return FlushLocked();
}

Status Engine::WriteCatalog() {
  std::vector<SeriesInfo> all;
  {
    std::shared_lock l(series_mu_);
    all.reserve(by_key_.size());
    for (const auto& st : by_id_) {
      if (st) all.push_back(st->info);
    }
  }
  std::string data;
  EncodeCatalog(all, &data);
  return env_->WriteFileAtomic(core::JoinPath(options_.dir, "series.catalog"), data);
}

void Engine::Publish(std::shared_ptr<const BlockSet> next) {
  std::unique_lock l(version_mu_);
  blocks_ = std::move(next);
}

Status Engine::FlushLocked() {
  // 1. Freeze: every sample is now either in a frozen head or in WAL segment >= first_kept.
  uint64_t first_kept = 0;
  std::vector<SeriesState*> frozen;
  {
    std::unique_lock gate(gate_);
    SF_ASSIGN_OR_RETURN(first_kept, wal_->Rotate());
    std::shared_lock l(series_mu_);
    for (const auto& st : by_id_) {
      if (!st) continue;
      std::lock_guard<std::mutex> sl(st->mu);
      if (st->head.empty()) continue;
      st->frozen = std::move(st->head);
      st->head = HeadBuffer(st->info.type);
      frozen.push_back(st.get());
    }
  }
  last_flush_ = clock_->Now();
  // 2. Series created in the WAL segments about to go must survive in the catalog, even
  // when no samples were written since (an empty flush still trims the WAL).
  Status s = WriteCatalog();
  if (frozen.empty()) {
    SF_RETURN_IF_ERROR(s);
    return wal_->RemoveSegmentsBefore(first_kept);
  }

  // 3. Group the frozen data by time partition, then write one block per partition.
  struct Piece {
    SeriesState* state;
    size_t begin, end;
  };
  std::map<core::Timestamp, std::vector<Piece>> partitions;
  const core::Duration width = options_.block_duration;
  for (SeriesState* st : frozen) {
    std::lock_guard<std::mutex> sl(st->mu);
    st->frozen.SortAndDedupe();
    const auto& ts = st->frozen.columns().ts;
    size_t i = 0;
    while (i < ts.size()) {
      const core::Timestamp p = AlignDown(ts[i], width);
      const size_t end = static_cast<size_t>(std::lower_bound(ts.begin() + static_cast<std::ptrdiff_t>(i), ts.end(), p + width) - ts.begin());
      partitions[p].push_back(Piece{st, i, end});
      i = end;
    }
  }
  std::vector<std::shared_ptr<BlockReader>> written;
  std::vector<std::string> written_paths;
  for (auto& [start, pieces] : partitions) {
    if (!s.ok()) break;
    BlockMeta meta;
    meta.partition_start = start;
    meta.partition_end = start + width;
    meta.level = 0;
    meta.sequence = next_seq_++;
    const std::string path = BlockPath("blocks", meta.sequence);
    auto writer = BlockWriter::Create(env_, path, meta);
    if (!writer.ok()) {
      s = writer.status();
      break;
    }
    // Frozen heads are only changed by flushes (serialised by flush_mu_), so reading them
    // without the series lock is safe here; queries read them under the lock.
    for (const Piece& piece : pieces) {
      s = AddChunks(writer->get(), core::ToU64(piece.state->info.id), piece.state->frozen.columns(), piece.begin,
                    piece.end);
      if (!s.ok()) break;
    }
    if (s.ok()) s = (*writer)->Finish();
    if (!s.ok()) {
      (*writer)->Abandon();
      break;
    }
    written_paths.push_back(path);
    auto reader = BlockReader::Open(env_, path);
    if (!reader.ok()) {
      s = reader.status();
      break;
    }
    written.push_back(std::shared_ptr<BlockReader>(std::move(reader).value()));
  }

  if (!s.ok()) {
    // Undo: blocks written so far are removed and the frozen data goes back in front of
    // the head (it is older than anything written since), so nothing is lost and the WAL
    // segments still hold it all.
    for (const std::string& path : written_paths) env_->RemoveFile(path).IgnoreError();
    for (SeriesState* st : frozen) {
      std::lock_guard<std::mutex> sl(st->mu);
      HeadBuffer merged(st->info.type);
      const ChunkColumns& old_cols = st->frozen.columns();
      const ChunkColumns& new_cols = st->head.columns();
      for (const ChunkColumns* cols : {&old_cols, &new_cols}) {
        for (size_t i = 0; i < cols->ts.size(); ++i) {
          core::Sample sample = RowToSample(*cols, i);
          merged.Append(sample.ts, sample.value, sample.quality);
        }
      }
      st->head = std::move(merged);
      st->frozen.Clear();
    }
    SF_LOG(error, "storage.flush_failed", "dir={} error=\"{}\"", options_.dir, s.ToString());
    return s;
  }

  // 4. Publish the new blocks and drop the frozen heads in one step for queries.
  {
    std::unique_lock l(version_mu_);
    auto next = std::make_shared<BlockSet>(*blocks_);
    for (auto& b : written) next->raw.push_back(std::move(b));
    SortBlocks(&next->raw);
    blocks_ = std::move(next);
    int64_t freed_bytes = 0, freed_samples = 0;
    for (SeriesState* st : frozen) {
      std::lock_guard<std::mutex> sl(st->mu);
      freed_bytes += static_cast<int64_t>(st->frozen.ApproxBytes());
      freed_samples += static_cast<int64_t>(st->frozen.size());
      st->frozen.Clear();
    }
    head_bytes_ -= freed_bytes;
    head_samples_ -= freed_samples;
  }
  ++flushes_;
  SF_LOG(debug, "storage.flushed", "dir={} series={} partitions={}", options_.dir, frozen.size(), partitions.size());
  // 5. The data is in blocks: the WAL before the rotation point is no longer needed.
  return wal_->RemoveSegmentsBefore(first_kept);
}

}  // namespace shopfloor::storage
