#include "core/types.h"

#include <bit>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace shopfloor::core {

std::string FormatTimestamp(Timestamp ts) {
  int64_t secs = ts / kSecond;
  int64_t frac = ts % kSecond;
  if (frac < 0) {
    frac += kSecond;
    secs -= 1;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (frac != 0) {
    std::string f = fmt::format("{:09}", frac);
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += "." + f;
  }
  out += "Z";
  return out;
}

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kDouble: return "double";
    case ValueType::kInt64: return "int64";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
  }
  return "unknown";
}

bool Value::ToNumber(double* out) const {
  switch (type()) {
    case ValueType::kDouble: *out = as_double(); return true;
    case ValueType::kInt64: *out = static_cast<double>(as_int()); return true;
    case ValueType::kBool: *out = as_bool() ? 1.0 : 0.0; return true;
    case ValueType::kString: return false;
  }
  return false;
}

std::string Value::ToString() const {
  switch (type()) {
    case ValueType::kDouble: return fmt::format("{}", as_double());
    case ValueType::kInt64: return fmt::format("{}", as_int());
    case ValueType::kBool: return as_bool() ? "true" : "false";
    case ValueType::kString: return as_string();
  }
  return {};
}

bool Value::IdenticalTo(const Value& other) const {
  if (type() != other.type()) return false;
  if (is_double()) return std::bit_cast<uint64_t>(as_double()) == std::bit_cast<uint64_t>(other.as_double());
  return *this == other;
}

std::string Quality::ToString() const {
  switch (severity()) {
    case Severity::kGood: return code_ == 0 ? "good" : fmt::format("good(0x{:08X})", code_);
    case Severity::kUncertain: return fmt::format("uncertain(0x{:08X})", code_);
    case Severity::kBad: return fmt::format("bad(0x{:08X})", code_);
  }
  return "unknown";
}

}  // namespace shopfloor::core
