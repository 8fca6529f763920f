// The series catalog file, `<dir>/series.catalog`: every series' id, type and key, written
// atomically (temp, fsync, rename, fsync dir) at each flush before WAL segments are removed,
// so series created in trimmed WAL segments survive.
//
//   file    := magic "SFCAT001" count:varint64 entry* crc32c:fixed32 (masked, over all before)
//   entry   := id:varint64 type:u8 key_len:varint32 key
#pragma once

#include <string>
#include <vector>

#include "core/core.h"
#include "storage/storage.h"

namespace shopfloor::storage {

void EncodeCatalog(const std::vector<SeriesInfo>& series, std::string* out);
// `file` names the file in Corruption errors.
core::Status DecodeCatalog(std::string_view data, const std::string& file, std::vector<SeriesInfo>* series);

}  // namespace shopfloor::storage
