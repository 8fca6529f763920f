#include "app/host_port.h"

#include <charconv>

#include <fmt/format.h>

namespace shopfloor::app {

core::Result<HostPort> ParseHostPort(std::string_view text, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return core::Status::InvalidArgument(fmt::format("{} \"{}\": {} (expected HOST:PORT, e.g. 127.0.0.1:8080)", what,
                                                     text, why));
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  HostPort out;
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  out.host = host.empty() ? "127.0.0.1" : std::string(host);
  std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value > 65535) {
    return bad("port must be a number from 0 to 65535");
  }
  out.port = static_cast<uint16_t>(value);
  return out;
}

}  // namespace shopfloor::app
