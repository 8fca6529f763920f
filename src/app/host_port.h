// "HOST:PORT" parsing for listen addresses given on the command line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shopfloor::app {

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Accepts "127.0.0.1:8080", "localhost:80", "[::1]:8080" and ":8080" (all interfaces is
// NOT implied: an empty host means 127.0.0.1, secure by default).
core::Result<HostPort> ParseHostPort(std::string_view text, std::string_view what);

}  // namespace shopfloor::app
