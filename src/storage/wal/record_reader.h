// RecordReader: reassembles WAL payloads from one segment file and describes damage.
//
// The reader walks the segment block by block. A physical record that fails its checksum,
// claims a length beyond its block, has an unknown type or breaks the fragment sequence
// makes the reader skip ahead (to the next record when the header can be trusted, else to
// the next block) until it finds the start of a payload (a FULL or FIRST fragment) again.
// Everything skipped between two good payloads is reported as ONE Damage, so the caller
// can tell "the file ends in garbage" (a torn tail) from "garbage with good data after it".
//
// Not thread-safe. The file must outlive the reader.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/env.h"
#include "core/status.h"

namespace shopfloor::storage {

struct WalDamage {
  uint64_t start = 0;        // first byte lost (start of the broken payload)
  uint64_t end = 0;          // first byte after the loss (next good payload or end of file)
  uint64_t detected_at = 0;  // offset of the physical record that failed a check
  bool at_end_of_file = false;  // nothing valid follows: the segment ends in this damage
  std::string reason;        // e.g. "record checksum mismatch"
};

class RecordReader {
 public:
  enum class Event { kRecord, kDamage, kEnd };

  RecordReader(core::SequentialFile* file, std::string file_name);
  ~RecordReader();
  RecordReader(const RecordReader&) = delete;
  RecordReader& operator=(const RecordReader&) = delete;

  // Advances to the next event:
  //  kRecord: payload() and record_offset() describe the next payload;
  //  kDamage: damage() describes bytes that could not be read;
  //  kEnd:    the end of the file (bytes_read() is then the file size).
  // A failed read of the file returns its error; the reader must then not be used again.
  core::Result<Event> Next();

  // Valid until the next call to Next().
  std::string_view payload() const { return payload_; }
  uint64_t record_offset() const { return record_offset_; }
  // The file offset just past the payload's last fragment.
  uint64_t record_end() const { return record_end_; }
  const WalDamage& damage() const { return emitted_damage_; }
  uint64_t bytes_read() const { return end_of_buffer_offset_; }
  const std::string& file_name() const { return file_name_; }

 private:
  enum class Physical { kRecord, kEof, kBad, kTorn };

  // Reads one physical record into fragment_/fragment_type_/fragment_offset_, or
  // classifies the problem (reason in bad_reason_).
  core::Result<Physical> ReadPhysical();
  core::Status ReadBlock();
  // Records that bytes from `start` on are lost, detected at `detected_at`.
  void NoteDamage(uint64_t start, uint64_t detected_at, std::string reason);
  // Moves pending damage (ending at `end`) to emitted_damage_.
  void EmitDamage(uint64_t end, bool at_end_of_file);

  core::SequentialFile* file_;
  std::string file_name_;
  std::unique_ptr<char[]> block_;
  std::string_view buffer_;       // unread bytes of the current block
  uint64_t end_of_buffer_offset_ = 0;  // file offset just past the current block's bytes
  bool eof_ = false;              // the last read returned less than a block

  uint8_t fragment_type_ = 0;
  std::string_view fragment_;
  uint64_t fragment_offset_ = 0;
  std::string bad_reason_;

  bool in_fragmented_ = false;    // a FIRST was seen, waiting for MIDDLE/LAST
  uint64_t fragmented_start_ = 0;
  std::string assembled_;

  bool has_pending_damage_ = false;
  WalDamage pending_damage_;
  WalDamage emitted_damage_;
  bool has_stashed_full_ = false;  // a FULL record found while damage was pending
  bool finished_ = false;

  std::string_view payload_;
  uint64_t record_offset_ = 0;
  uint64_t record_end_ = 0;
};

}  // namespace shopfloor::storage
