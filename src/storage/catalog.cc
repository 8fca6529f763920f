#include "storage/catalog.h"

#include <fmt/format.h>

#include "storage/varint.h"
#include "storage/wal/crc32c.h"

namespace shopfloor::storage {

namespace {
constexpr std::string_view kMagic = "SFCAT001";
}

void EncodeCatalog(const std::vector<SeriesInfo>& series, std::string* out) {
  size_t start = out->size();
  out->append(kMagic);
  PutVarint64(out, series.size());
  for (const SeriesInfo& s : series) {
    PutVarint64(out, core::ToU64(s.id));
    out->push_back(static_cast<char>(s.type));
    PutVarint64(out, s.key.size());
    out->append(s.key);
  }
  PutFixed32(out, Crc32cMasked(out->data() + start, out->size() - start));
}

core::Status DecodeCatalog(std::string_view data, const std::string& file, std::vector<SeriesInfo>* series) {
  if (data.size() < kMagic.size() + 5 || data.substr(0, kMagic.size()) != kMagic) {
    return core::Status::Corruption("series catalog: bad magic or too short", file, 0);
  }
  uint32_t stored = 0;
  std::memcpy(&stored, data.data() + data.size() - 4, 4);
  if (Crc32cUnmask(stored) != Crc32c(data.data(), data.size() - 4)) {
    return core::Status::Corruption("series catalog: checksum mismatch", file, data.size() - 4);
  }
  ByteReader r(data.substr(kMagic.size(), data.size() - 4 - kMagic.size()));
  uint64_t count = 0;
  if (!r.GetVarint64(&count) || count > r.remaining() / 3) {
    return core::Status::Corruption("series catalog: bad count", file, kMagic.size());
  }
  series->clear();
  series->reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t id = 0;
    uint8_t type = 0;
    uint32_t len = 0;
    std::string_view key;
    if (!r.GetVarint64(&id) || !r.GetU8(&type) || type > 3 || !GetVarint32(&r, &len) || !GetBytes(&r, len, &key) ||
        id == 0 || key.empty()) {
      return core::Status::Corruption(fmt::format("series catalog: bad entry {}", i), file, kMagic.size() + r.offset());
    }
    series->push_back(SeriesInfo{static_cast<core::SeriesId>(id), std::string(key), static_cast<core::ValueType>(type)});
  }
  if (r.remaining() != 0) {
    return core::Status::Corruption("series catalog: trailing bytes", file, kMagic.size() + r.offset());
  }
  return core::Status::OK();
}

}  // namespace shopfloor::storage
