#include "server/query_params.h"

#include <charconv>
#include <limits>

#include <fmt/format.h>

namespace shopfloor::server {

using core::Duration;
using core::Result;
using core::Status;
using core::Timestamp;

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}


}  // namespace

Result<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      const bool complete = i + 2 < text.size();
      int hi = complete ? HexValue(text[i + 1]) : -1;
      int lo = complete ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument(fmt::format("bad percent-encoding at offset {} in \"{}\"", i, text));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<QueryParams> QueryParams::Parse(std::string_view target) {
  QueryParams params;
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  params.raw_path_ = std::string(path);
  SF_ASSIGN_OR_RETURN(params.path_, PercentDecode(path, false));
  if (q == std::string_view::npos) return params;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto name = PercentDecode(pair.substr(0, eq), true);
    if (!name.ok()) return name.status().WithPrefix("query parameter name");
    std::string value;
    if (eq != std::string_view::npos) {
      auto decoded = PercentDecode(pair.substr(eq + 1), true);
      if (!decoded.ok()) return decoded.status().WithPrefix(fmt::format("query parameter \"{}\"", *name));
      value = std::move(decoded).value();
    }
    params.items_.emplace_back(std::move(name).value(), std::move(value));
  }
  return params;
}

std::vector<std::string> QueryParams::GetAll(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : items_) {
    if (key == name) out.push_back(value);
  }
  return out;
}

const std::string* QueryParams::Get(std::string_view name) const {
  for (const auto& [key, value] : items_) {
    if (key == name) return &value;
  }
  return nullptr;
}


Result<Timestamp> ParseTimeParam(std::string_view name, std::string_view text, Duration unit) {
  if (text.empty()) return Status::InvalidArgument(fmt::format("parameter \"{}\" is empty", name));
  if (text.size() >= 5 && text[4] == '-') {
    auto ts = ParseRfc3339(text);
    if (!ts.ok()) return ts.status().WithPrefix(fmt::format("parameter \"{}\"", name));
    return ts;
  }
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::InvalidArgument(
        fmt::format("parameter \"{}\": \"{}\" is neither an integer nor an RFC 3339 time", name, text));
  }
  Timestamp ts = 0;
  if (__builtin_mul_overflow(v, unit, &ts)) {
    return Status::InvalidArgument(fmt::format("parameter \"{}\": {} is out of range", name, text));
  }
  return ts;
}

Result<Duration> ParseStepParam(std::string_view name, std::string_view text, Duration unit) {
  size_t digits_end = 0;
  while (digits_end < text.size() && text[digits_end] >= '0' && text[digits_end] <= '9') ++digits_end;
  auto bad = [&] {
    return Status::InvalidArgument(fmt::format(
        "parameter \"{}\": \"{}\" is not a positive duration (e.g. 1m, 3600s, 500ms or an integer)", name, text));
  };
  if (digits_end == 0) return bad();
  int64_t count = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits_end, count);
  if (ec != std::errc()) return bad();
  std::string_view suffix = text.substr(digits_end);
  Duration per = 0;
  if (suffix.empty()) per = unit;
  else if (suffix == "ns") per = core::kNanosecond;
  else if (suffix == "us" || suffix == "\xC2\xB5s") per = core::kMicrosecond;
  else if (suffix == "ms") per = core::kMillisecond;
  else if (suffix == "s") per = core::kSecond;
  else if (suffix == "m") per = core::kMinute;
  else if (suffix == "h") per = core::kHour;
  else if (suffix == "d") per = core::kDay;
  else return bad();
  Duration step = 0;
  if (__builtin_mul_overflow(count, per, &step) || step <= 0) return bad();
  return step;
}

Result<uint64_t> ParseUintParam(std::string_view name, std::string_view text) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::InvalidArgument(fmt::format("parameter \"{}\": \"{}\" is not a non-negative integer", name, text));
  }
  return v;
}

}  // namespace shopfloor::server
