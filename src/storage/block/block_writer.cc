#include "storage/block/block_writer.h"

#include <algorithm>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "storage/wal/crc32c.h"

namespace shopfloor::storage {

core::Result<std::unique_ptr<BlockWriter>> BlockWriter::Create(core::Env* env, std::string final_path,
                                                               BlockMeta meta) {
  if (env == nullptr) return core::Status::InvalidArgument("BlockWriter needs an Env");
  if (final_path.empty()) return core::Status::InvalidArgument("BlockWriter needs a file path");
  if (meta.partition_start >= meta.partition_end) {
    return core::Status::InvalidArgument(fmt::format("block {}: empty partition [{}, {})", final_path,
                                                     meta.partition_start, meta.partition_end));
  }
  // The writer owns every derived field; whatever the caller left there is replaced.
  meta.format_version = kBlockFormatVersion;
  meta.min_ts = meta.max_ts = 0;
  meta.num_series = meta.num_chunks = meta.num_samples = 0;

  const std::string temp_path = BlockTempPath(final_path);
  SF_ASSIGN_OR_RETURN(auto file, env->NewWritableFile(temp_path));
  std::unique_ptr<BlockWriter> writer(new BlockWriter(env, std::move(final_path), meta, std::move(file)));
  std::string header;
  EncodeBlockHeader(&header);
  core::Status s = writer->file_->Append(header);
  if (!s.ok()) return writer->Fail(s.WithPrefix("writing block header"));
  writer->offset_ = header.size();
  return writer;
}

BlockWriter::BlockWriter(core::Env* env, std::string final_path, BlockMeta meta,
                         std::unique_ptr<core::WritableFile> file)
    : env_(env),
      final_path_(std::move(final_path)),
      temp_path_(BlockTempPath(final_path_)),
      meta_(meta),
      file_(std::move(file)) {}

BlockWriter::~BlockWriter() {
  if (!finished_) Abandon();
}

core::Status BlockWriter::Fail(core::Status status) {
  if (error_.ok()) error_ = status;
  Abandon();
  return status;
}

void BlockWriter::Abandon() {
  if (finished_ || abandoned_) return;
  abandoned_ = true;
  if (file_ != nullptr) {
    file_->Close().IgnoreError();  // the file is being thrown away
    file_.reset();
  }
  env_->RemoveFile(temp_path_).IgnoreError();  // the engine also deletes stray .tmp files on open
}

core::Status BlockWriter::Add(uint64_t series_id, core::ValueType type, int64_t min_ts, int64_t max_ts,
                              uint32_t count, std::string_view chunk_bytes) {
  if (!error_.ok()) return error_;
  if (finished_ || abandoned_) {
    return core::Status::InvalidArgument(fmt::format("block {}: Add after Finish or Abandon", final_path_));
  }
  auto invalid = [&](std::string what) {
    return core::Status::InvalidArgument(
        fmt::format("block {}: chunk {} of series {}: {}", final_path_, chunks_.size(), series_id, what));
  };
  if (static_cast<uint8_t>(type) > static_cast<uint8_t>(core::ValueType::kString)) {
    return invalid(fmt::format("unknown value type {}", static_cast<int>(type)));
  }
  if (min_ts > max_ts) return invalid(fmt::format("min_ts {} > max_ts {}", min_ts, max_ts));
  if (min_ts < meta_.partition_start || max_ts >= meta_.partition_end) {
    return invalid(fmt::format("time range [{}, {}] outside partition [{}, {})", min_ts, max_ts,
                               meta_.partition_start, meta_.partition_end));
  }
  if (count == 0) return invalid("no samples");
  if (chunk_bytes.empty()) return invalid("empty chunk bytes");
  if (chunk_bytes.size() > std::numeric_limits<uint32_t>::max()) {
    return invalid(fmt::format("{} bytes exceed the 4 GiB chunk limit", chunk_bytes.size()));
  }
  if (!chunks_.empty()) {
    const ChunkRef& prev = chunks_.back();
    if (series_id < prev.series_id || (series_id == prev.series_id && min_ts < prev.min_ts)) {
      return invalid(fmt::format("out of order: (series {}, min_ts {}) follows (series {}, min_ts {})", series_id,
                                 min_ts, prev.series_id, prev.min_ts));
    }
    if (series_id == prev.series_id && type != prev.type) {
      return invalid(fmt::format("type {} differs from the series' type {}", core::ValueTypeName(type),
                                 core::ValueTypeName(prev.type)));
    }
  }

  core::Status s = file_->Append(chunk_bytes);
  if (!s.ok()) return Fail(s.WithPrefix(fmt::format("writing chunk to {}", temp_path_)));

  ChunkRef ref;
  ref.series_id = series_id;
  ref.type = type;
  ref.min_ts = min_ts;
  ref.max_ts = max_ts;
  ref.count = count;
  ref.offset = offset_;
  ref.length = static_cast<uint32_t>(chunk_bytes.size());
  ref.crc = Crc32c(chunk_bytes.data(), chunk_bytes.size());
  offset_ += chunk_bytes.size();

  if (chunks_.empty()) {
    meta_.min_ts = min_ts;
    meta_.max_ts = max_ts;
  } else {
    meta_.min_ts = std::min(meta_.min_ts, min_ts);
    meta_.max_ts = std::max(meta_.max_ts, max_ts);
  }
  if (chunks_.empty() || chunks_.back().series_id != series_id) ++meta_.num_series;
  ++meta_.num_chunks;
  meta_.num_samples += count;
  chunks_.push_back(ref);
  return core::Status::OK();
}

core::Status BlockWriter::Finish() {
  if (!error_.ok()) return error_;
  if (finished_ || abandoned_) {
    return core::Status::InvalidArgument(fmt::format("block {}: Finish after Finish or Abandon", final_path_));
  }

  BlockFooter footer;
  footer.meta = meta_;
  footer.index_offset = offset_;
  std::string tail;
  EncodeBlockIndex(chunks_, &tail);
  footer.index_length = tail.size();
  footer.index_crc = Crc32c(tail.data(), tail.size());
  EncodeBlockFooter(footer, &tail);

  core::Status s = file_->Append(tail);
  if (!s.ok()) return Fail(s.WithPrefix(fmt::format("writing index of {}", temp_path_)));
  // The data must be durable before the rename publishes it: otherwise a power loss could
  // leave a visible block whose contents never reached the disk.
  s = file_->Sync();
  if (!s.ok()) return Fail(s.WithPrefix(fmt::format("syncing {}", temp_path_)));
  s = file_->Close();
  file_.reset();
  if (!s.ok()) return Fail(s.WithPrefix(fmt::format("closing {}", temp_path_)));
  offset_ += tail.size();

  s = env_->RenameFile(temp_path_, final_path_);
  if (!s.ok()) return Fail(s.WithPrefix(fmt::format("publishing block {}", final_path_)));
  s = env_->SyncDir(core::DirName(final_path_));
  if (!s.ok()) {
    // The rename may not survive a power loss; report failure and take the block back so
    // the caller's view (not published) matches what is on disk now. If the removal is lost
    // in a crash, a complete, valid block reappears, which is harmless.
    env_->RemoveFile(final_path_).IgnoreError();
    abandoned_ = true;
    error_ = s.WithPrefix(fmt::format("syncing directory of {}", final_path_));
    return error_;
  }
  finished_ = true;
  chunks_.clear();
  chunks_.shrink_to_fit();
  return core::Status::OK();
}

}  // namespace shopfloor::storage
