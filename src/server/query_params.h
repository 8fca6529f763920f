// Parsing of URL targets and of the query API's parameters (times, steps, lists). Every
// function here reads bytes from the network: bad input is a kInvalidArgument Status that
// names the parameter, never a crash.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/core.h"

namespace shopfloor::server {

class QueryParams {
 public:
  // Splits "/path?a=1&b=x%20y" into the path and decoded parameters ('+' is a space).
  static core::Result<QueryParams> Parse(std::string_view target);

  const std::string& path() const { return path_; }
  // The path as sent (still percent-encoded): routes split it before decoding.
  const std::string& raw_path() const { return raw_path_; }
  // Every value of `name` (repeated parameters, e.g. series=a&series=b).
  std::vector<std::string> GetAll(std::string_view name) const;
  // The first value of `name`, or nullptr.
  const std::string* Get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::string path_;
  std::string raw_path_;
  std::vector<std::pair<std::string, std::string>> items_;
};

// Percent-decodes `text` ('+' becomes a space when `plus_is_space`).
core::Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);

using core::ParseRfc3339;  // core/types.h

// A time parameter: an integer count of `unit` nanoseconds or an RFC 3339 time.
// `name` is used in the error message.
core::Result<core::Timestamp> ParseTimeParam(std::string_view name, std::string_view text, core::Duration unit);

// A step: "1m", "3600s", "500ms", "250us", "100ns", "2h", "1d", or an integer count of
// `unit` nanoseconds. Must be positive.
core::Result<core::Duration> ParseStepParam(std::string_view name, std::string_view text, core::Duration unit);

// A non-negative decimal integer.
core::Result<uint64_t> ParseUintParam(std::string_view name, std::string_view text);

}  // namespace shopfloor::server
