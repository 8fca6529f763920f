// The WAL's on-disk record format (docs/format/wal.md is the normative description).
//
// A segment file is a sequence of 32 KiB blocks. Each payload handed to Wal::Append is
// stored as one or more physical records ("fragments"), none of which crosses a block
// boundary:
//
//   +---------------------+-------------+----------+------------------+
//   | masked crc32c (4 B) | length (2 B)| type (1) | payload (length) |
//   +---------------------+-------------+----------+------------------+
//
// crc covers the type byte and the payload; integers are little-endian. A block whose
// remaining space is smaller than a header is padded with zero bytes (the "trailer").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace shopfloor::storage::wal_format {

inline constexpr size_t kBlockSize = 32 * 1024;
inline constexpr size_t kHeaderSize = 4 + 2 + 1;

enum class RecordType : uint8_t {
  kFull = 1,    // the whole payload
  kFirst = 2,   // first fragment of a payload
  kMiddle = 3,  // interior fragment
  kLast = 4,    // final fragment
};
inline constexpr uint8_t kMaxRecordType = 4;

// Largest payload Wal::Append accepts and RecordReader reassembles.
inline constexpr size_t kMaxPayloadBytes = 256u << 20;

// Segment files are named "<16-digit zero-padded number>.wal".
inline constexpr size_t kSegmentNameDigits = 16;
inline constexpr std::string_view kSegmentSuffix = ".wal";

std::string SegmentFileName(uint64_t number);
// Parses a segment file name (not a path). False for any other name.
bool ParseSegmentFileName(std::string_view name, uint64_t* number);

// Encodes payloads into physical records, tracking the position inside the current block.
// Not thread-safe. Writes into a caller-supplied string so one write can carry many
// records (group commit) and tests need no file.
class RecordEncoder {
 public:
  // file_offset: the segment's size when encoding starts.
  explicit RecordEncoder(uint64_t file_offset = 0)
      : block_offset_(static_cast<size_t>(file_offset % kBlockSize)) {}

  // Appends the physical records for payload (size <= kMaxPayloadBytes) to *out.
  void Add(std::string_view payload, std::string* out);

 private:
  void EmitFragment(RecordType type, std::string_view fragment, std::string* out);

  size_t block_offset_;  // bytes already used in the current block
};

// The masked checksum stored in a record header.
uint32_t RecordChecksum(uint8_t type, std::string_view payload);

}  // namespace shopfloor::storage::wal_format
