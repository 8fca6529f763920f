#include "storage/wal/wal_format.h"

#include <algorithm>
#include <cstdio>

#include "storage/wal/crc32c.h"

namespace shopfloor::storage::wal_format {

std::string SegmentFileName(uint64_t number) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%016llu.wal", static_cast<unsigned long long>(number));
  return buf;
}

bool ParseSegmentFileName(std::string_view name, uint64_t* number) {
  if (name.size() != kSegmentNameDigits + kSegmentSuffix.size()) return false;
  if (name.substr(kSegmentNameDigits) != kSegmentSuffix) return false;
  uint64_t value = 0;
  for (size_t i = 0; i < kSegmentNameDigits; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return false;
    // 16 decimal digits always fit in 64 bits.
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  *number = value;
  return true;
}

uint32_t RecordChecksum(uint8_t type, std::string_view payload) {
  uint32_t crc = Crc32c(&type, 1);
  crc = Crc32cExtend(crc, payload.data(), payload.size());
  return Crc32cMask(crc);
}

void RecordEncoder::Add(std::string_view payload, std::string* out) {
  bool first = true;
  // Invariant: a fragment never crosses a block boundary, and a block never ends with
  // kHeaderSize or more unused bytes unless the file ends there.
  do {
    size_t leftover = kBlockSize - block_offset_;
    if (leftover < kHeaderSize) {
      out->append(leftover, '\0');
      block_offset_ = 0;
      leftover = kBlockSize;
    }
    size_t avail = leftover - kHeaderSize;
    size_t fragment_len = std::min(avail, payload.size());
    bool last = fragment_len == payload.size();
    RecordType type = first && last ? RecordType::kFull
                      : first       ? RecordType::kFirst
                      : last        ? RecordType::kLast
                                    : RecordType::kMiddle;
    EmitFragment(type, payload.substr(0, fragment_len), out);
    payload.remove_prefix(fragment_len);
    first = false;
  } while (!payload.empty());
}

void RecordEncoder::EmitFragment(RecordType type, std::string_view fragment, std::string* out) {
  const auto type_byte = static_cast<uint8_t>(type);
  uint32_t crc = RecordChecksum(type_byte, fragment);
  char header[kHeaderSize];
  header[0] = static_cast<char>(crc & 0xff);
  header[1] = static_cast<char>((crc >> 8) & 0xff);
  header[2] = static_cast<char>((crc >> 16) & 0xff);
  header[3] = static_cast<char>((crc >> 24) & 0xff);
  header[4] = static_cast<char>(fragment.size() & 0xff);
  header[5] = static_cast<char>((fragment.size() >> 8) & 0xff);
  header[6] = static_cast<char>(type_byte);
  out->append(header, kHeaderSize);
  out->append(fragment.data(), fragment.size());
  block_offset_ += kHeaderSize + fragment.size();
}

}  // namespace shopfloor::storage::wal_format
