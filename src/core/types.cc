#include "core/types.h"

#include <bit>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace shopfloor::core {

namespace {

// Reads exactly `digits` decimal digits at text[*pos].
bool ReadDigits(std::string_view text, size_t* pos, int digits, int* out) {
  if (*pos + static_cast<size_t>(digits) > text.size()) return false;
  int v = 0;
  for (int i = 0; i < digits; ++i) {
    char c = text[*pos + static_cast<size_t>(i)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += static_cast<size_t>(digits);
  *out = v;
  return true;
}

bool Expect(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

}  // namespace

Result<Value> ConvertLossless(const Value& value, ValueType type) {
  if (value.type() == type) return value;
  if (type == ValueType::kDouble && value.is_int()) return Value(static_cast<double>(value.as_int()));
  if (type == ValueType::kInt64 && value.is_double()) {
    const double d = value.as_double();
    if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.2e18) return Value(static_cast<int64_t>(d));
  }
  return Status::InvalidArgument(
      fmt::format("the tag is {}, got {} {}", ValueTypeName(type), ValueTypeName(value.type()), value.ToString()));
}

Result<Timestamp> ParseRfc3339(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("invalid RFC 3339 time \"{}\": {}", text, why));
  };
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, &pos, 4, &year) || !Expect(text, &pos, '-') || !ReadDigits(text, &pos, 2, &month) ||
      !Expect(text, &pos, '-') || !ReadDigits(text, &pos, 2, &day)) {
    return bad("expected YYYY-MM-DD");
  }
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) {
    return bad("expected 'T' after the date");
  }
  ++pos;
  if (!ReadDigits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') || !ReadDigits(text, &pos, 2, &minute) ||
      !Expect(text, &pos, ':') || !ReadDigits(text, &pos, 2, &second)) {
    return bad("expected hh:mm:ss");
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) return bad("date out of range");
  if (hour > 23 || minute > 59 || second > 60) return bad("time out of range");
  int64_t frac_ns = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    int64_t scale = kSecond;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 9) {
        scale /= 10;
        frac_ns += (text[pos] - '0') * scale;
      }
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad("expected digits after '.'");
  }
  int64_t offset_s = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!ReadDigits(text, &pos, 2, &oh) || !Expect(text, &pos, ':') || !ReadDigits(text, &pos, 2, &om) ||
        oh > 23 || om > 59) {
      return bad("expected a zone offset like +02:00");
    }
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return bad("expected 'Z' or a zone offset");
  }
  if (pos != text.size()) return bad("unexpected characters after the time");
  int64_t secs = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  Timestamp ts = 0;
  if (__builtin_mul_overflow(secs, kSecond, &ts) || __builtin_add_overflow(ts, frac_ns, &ts)) {
    return bad("outside the representable range (years 1678..2262)");
  }
  return ts;
}

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
