// BlockWriter: builds one immutable block file (docs/format/block.md).
//
// Chunks stream to "<final>.tmp" as they are added; Finish() appends the index and footer,
// fsyncs, closes, renames the file to its final name and fsyncs the directory. That rename
// is the only way a block becomes visible: a crash at any earlier point leaves at most a
// ".tmp" file, which the engine deletes on open.
//
//   SF_ASSIGN_OR_RETURN(auto writer, BlockWriter::Create(env, dir + "/000007.block", meta));
//   for (...) SF_RETURN_IF_ERROR(writer->Add(id, type, min_ts, max_ts, count, bytes));
//   SF_RETURN_IF_ERROR(writer->Finish());
//
// Failure: after any failed I/O the writer is poisoned (every later call returns the first
// error) and its temp file is removed. A writer destroyed before Finish() abandons its file.
// Thread safety: none; one thread drives a writer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "core/types.h"
#include "storage/block/block_format.h"

namespace shopfloor::storage {

class BlockWriter {
 public:
  // Starts a block that will be published at final_path. meta supplies partition_start <
  // partition_end, level and sequence; the writer computes the rest. Fails with
  // InvalidArgument for a bad meta and with the Env's error if the temp file cannot be made.
  static core::Result<std::unique_ptr<BlockWriter>> Create(core::Env* env, std::string final_path,
                                                           BlockMeta meta);
  ~BlockWriter();

  BlockWriter(const BlockWriter&) = delete;
  BlockWriter& operator=(const BlockWriter&) = delete;

  // Appends one chunk of `count` samples spanning [min_ts, max_ts] (both inclusive). Chunks
  // must arrive in non-decreasing (series_id, min_ts) order, lie inside the partition, be
  // non-empty and under 4 GiB, and keep one value type per series; otherwise
  // InvalidArgument, and the writer stays usable.
  core::Status Add(uint64_t series_id, core::ValueType type, int64_t min_ts, int64_t max_ts, uint32_t count,
                   std::string_view chunk_bytes);

  // Writes the index and footer, fsyncs, and publishes the block. On failure nothing is
  // visible at final_path and the temp file is removed.
  core::Status Finish();

  // Drops the block: closes and removes the temp file. Safe to call more than once.
  void Abandon();

  // The meta as it stands (counts and time range of the chunks added so far).
  const BlockMeta& meta() const { return meta_; }
  const std::string& final_path() const { return final_path_; }
  // Bytes written so far (header and chunks).
  uint64_t bytes_written() const { return offset_; }

 private:
  BlockWriter(core::Env* env, std::string final_path, BlockMeta meta, std::unique_ptr<core::WritableFile> file);

  // Records the first I/O error and abandons the file.
  core::Status Fail(core::Status status);

  core::Env* const env_;
  const std::string final_path_;
  const std::string temp_path_;
  BlockMeta meta_;
  std::unique_ptr<core::WritableFile> file_;  // null once closed
  std::vector<ChunkRef> chunks_;
  uint64_t offset_ = 0;
  bool finished_ = false;
  bool abandoned_ = false;
  core::Status error_;  // first I/O error; the writer refuses work once set
};

}  // namespace shopfloor::storage
