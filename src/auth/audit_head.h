// Internal to the auth module: the audit head file, `<data dir>/audit.head`.
//
// One line: "shopfloor-audit-head v1 <seq> <64 lower-case hex digits>\n", naming the newest
// audit entry. Written atomically (temp file, fsync, rename, fsync dir) on every append.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shopfloor::auth {

struct AuditHead {
  int64_t seq = 0;
  std::string hash;  // hex
};

std::string FormatAuditHead(const AuditHead& head);
// Strict: kCorruption naming `file` and what is wrong for anything but the exact form above.
core::Result<AuditHead> ParseAuditHead(std::string_view text, const std::string& file);

}  // namespace shopfloor::auth
