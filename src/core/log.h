// Logging: spdlog with structured key=value fields.
//
//   SF_LOG(info, "wal.synced", "segment={} bytes={}", seg, n);
// prints  "2026-11-25T03:04:05.123Z info  wal.synced segment=12 bytes=4096"
// The event name is a stable dotted identifier operators can grep for; the fields follow.
#pragma once

#include <string_view>

#include <spdlog/spdlog.h>

#include "core/status.h"

namespace shopfloor::core {

// Sets the global level ("trace", "debug", "info", "warn", "error", "off") and pattern.
// Logs go to stderr. Returns InvalidArgument for an unknown level.
Status InitLogging(std::string_view level);

}  // namespace shopfloor::core

#define SF_LOG(level, event, ...) \
  ::spdlog::level(event " " __VA_ARGS__)
