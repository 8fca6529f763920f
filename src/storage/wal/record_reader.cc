#include "storage/wal/record_reader.h"

#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "storage/wal/wal_format.h"

namespace shopfloor::storage {

using wal_format::kBlockSize;
using wal_format::kHeaderSize;
using wal_format::RecordType;

namespace {

uint32_t DecodeFixed32(const char* p) {
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  return uint32_t{b[0]} | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
}

}  // namespace

RecordReader::RecordReader(core::SequentialFile* file, std::string file_name)
    : file_(file), file_name_(std::move(file_name)), block_(new char[kBlockSize]) {}

RecordReader::~RecordReader() = default;

core::Status RecordReader::ReadBlock() {
  size_t got = 0;
  while (got < kBlockSize) {
    auto chunk = file_->Read(kBlockSize - got, block_.get() + got);
    if (!chunk.ok()) return chunk.status().WithPrefix("reading WAL segment " + file_name_);
    if (chunk->empty()) break;
    if (chunk->data() != block_.get() + got) std::memmove(block_.get() + got, chunk->data(), chunk->size());
    got += chunk->size();
  }
  if (got < kBlockSize) eof_ = true;
  buffer_ = std::string_view(block_.get(), got);
  end_of_buffer_offset_ += got;
  return core::Status::OK();
}

core::Result<RecordReader::Physical> RecordReader::ReadPhysical() {
  while (true) {
    if (buffer_.size() < kHeaderSize) {
      if (!eof_) {
        // The unread bytes (if any) are the zero trailer of a full block.
        buffer_ = {};
        core::Status s = ReadBlock();
        if (!s.ok()) return s;
        continue;
      }
      if (buffer_.empty()) return Physical::kEof;
      fragment_offset_ = end_of_buffer_offset_ - buffer_.size();
      buffer_ = {};
      // A writer only leaves fewer than kHeaderSize bytes at the end of a block as padding,
      // and may have been cut off while writing it.
      if (fragment_offset_ % kBlockSize + kHeaderSize > kBlockSize) return Physical::kEof;
      bad_reason_ = "record header cut off by the end of the file";
      return Physical::kTorn;
    }

    const char* header = buffer_.data();
    const uint32_t stored_crc = DecodeFixed32(header);
    const size_t length = static_cast<uint8_t>(header[4]) | (size_t{static_cast<uint8_t>(header[5])} << 8);
    const uint8_t type = static_cast<uint8_t>(header[6]);
    fragment_offset_ = end_of_buffer_offset_ - buffer_.size();

    if (fragment_offset_ % kBlockSize + kHeaderSize + length > kBlockSize) {
      bad_reason_ = fmt::format("record length {} runs past the end of its {}-byte block", length, kBlockSize);
      buffer_ = {};  // the header cannot be trusted: resynchronise at the next block
      return Physical::kBad;
    }
    if (kHeaderSize + length > buffer_.size()) {
      // Only possible in the file's last, partial block.
      bad_reason_ = fmt::format("record of length {} cut off by the end of the file ({} bytes present)",
                                length, buffer_.size() - kHeaderSize);
      buffer_ = {};
      return Physical::kTorn;
    }
    std::string_view fragment(header + kHeaderSize, length);
    if (stored_crc != wal_format::RecordChecksum(type, fragment)) {
      bad_reason_ = "record checksum mismatch";
      buffer_ = {};  // the length may be what was damaged: resynchronise at the next block
      return Physical::kBad;
    }
    buffer_.remove_prefix(kHeaderSize + length);
    if (type == 0 || type > wal_format::kMaxRecordType) {
      bad_reason_ = fmt::format("unknown record type {}", type);
      return Physical::kBad;  // the checksum held, so the next record starts right after
    }
    fragment_type_ = type;
    fragment_ = fragment;
    return Physical::kRecord;
  }
}

void RecordReader::NoteDamage(uint64_t start, uint64_t detected_at, std::string reason) {
  if (has_pending_damage_) return;  // merged into the damage already pending
  has_pending_damage_ = true;
  pending_damage_ = WalDamage{start, start, detected_at, false, std::move(reason)};
}

void RecordReader::EmitDamage(uint64_t end, bool at_end_of_file) {
  emitted_damage_ = std::move(pending_damage_);
  emitted_damage_.end = end;
  emitted_damage_.at_end_of_file = at_end_of_file;
  has_pending_damage_ = false;
}

core::Result<RecordReader::Event> RecordReader::Next() {
  while (true) {
    if (finished_) return Event::kEnd;
    if (has_stashed_full_) {
      has_stashed_full_ = false;
      payload_ = fragment_;
      record_offset_ = fragment_offset_;
      record_end_ = end_of_buffer_offset_ - buffer_.size();
      return Event::kRecord;
    }
    auto physical = ReadPhysical();
    if (!physical.ok()) return physical.status();

    switch (*physical) {
      case Physical::kEof:
        if (in_fragmented_) {
          NoteDamage(fragmented_start_, end_of_buffer_offset_,
                     "payload's last fragment missing at the end of the file");
          in_fragmented_ = false;
        }
        finished_ = true;
        if (has_pending_damage_) {
          EmitDamage(end_of_buffer_offset_, /*at_end_of_file=*/true);
          return Event::kDamage;
        }
        return Event::kEnd;

      case Physical::kTorn:
      case Physical::kBad:
        NoteDamage(in_fragmented_ ? fragmented_start_ : fragment_offset_, fragment_offset_, bad_reason_);
        in_fragmented_ = false;
        continue;

      case Physical::kRecord:
        break;
    }

    const auto type = static_cast<RecordType>(fragment_type_);
    if (type == RecordType::kFull || type == RecordType::kFirst) {
      if (in_fragmented_) {
        NoteDamage(fragmented_start_, fragment_offset_, "payload interrupted before its last fragment");
        in_fragmented_ = false;
      }
      if (type == RecordType::kFirst) {
        in_fragmented_ = true;
        fragmented_start_ = fragment_offset_;
        assembled_.assign(fragment_);
      }
      if (has_pending_damage_) {
        EmitDamage(fragment_offset_, /*at_end_of_file=*/false);
        has_stashed_full_ = type == RecordType::kFull;
        return Event::kDamage;
      }
      if (type == RecordType::kFirst) continue;
      payload_ = fragment_;
      record_offset_ = fragment_offset_;
      record_end_ = end_of_buffer_offset_ - buffer_.size();
      return Event::kRecord;
    }

    // kMiddle or kLast.
    if (!in_fragmented_) {
      NoteDamage(fragment_offset_, fragment_offset_, "fragment without a first fragment");
      continue;
    }
    if (assembled_.size() + fragment_.size() > wal_format::kMaxPayloadBytes) {
      NoteDamage(fragmented_start_, fragment_offset_,
                 fmt::format("payload larger than {} bytes", wal_format::kMaxPayloadBytes));
      in_fragmented_ = false;
      continue;
    }
    assembled_.append(fragment_);
    if (type == RecordType::kMiddle) continue;
    in_fragmented_ = false;
    payload_ = assembled_;
    record_offset_ = fragmented_start_;
    record_end_ = end_of_buffer_offset_ - buffer_.size();
    return Event::kRecord;
  }
}

}  // namespace shopfloor::storage
