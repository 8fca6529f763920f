#include "core/log.h"

#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace shopfloor::core {

Status InitLogging(std::string_view level) {
  spdlog::level::level_enum lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return Status::InvalidArgument(
        "unknown log level \"" + std::string(level) + "\" (expected trace, debug, info, warn, error or off)");
  }
  auto logger = spdlog::stderr_color_mt("shopfloor");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(lvl);
  return Status::OK();
}

}  // namespace shopfloor::core
