// Shopfloor's vocabulary: Timestamp, Value, Quality, SeriesId and Sample.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>

#include "core/status.h"

namespace shopfloor::core {

// Nanoseconds since the Unix epoch (UTC). Signed: data before 1970 is representable,
// and the range covers roughly years 1678..2262.
using Timestamp = int64_t;
// A span of time in nanoseconds.
using Duration = int64_t;

inline constexpr Duration kNanosecond = 1;
inline constexpr Duration kMicrosecond = 1'000;
inline constexpr Duration kMillisecond = 1'000'000;
inline constexpr Duration kSecond = 1'000'000'000;
inline constexpr Duration kMinute = 60 * kSecond;
inline constexpr Duration kHour = 60 * kMinute;
inline constexpr Duration kDay = 24 * kHour;

// "2026-11-25T03:04:05.123456789Z" (fraction trimmed of trailing zeros).
std::string FormatTimestamp(Timestamp ts);
// "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123+02:00" (RFC 3339) -> ns since the epoch.
// InvalidArgument names what is wrong; years 1678..2262 (the range of Timestamp).
Result<Timestamp> ParseRfc3339(std::string_view text);

enum class ValueType : uint8_t { kDouble = 0, kInt64 = 1, kBool = 2, kString = 3 };
std::string_view ValueTypeName(ValueType type);  // "double", "int64", "bool", "string"

// A reading's value: one of double, int64, bool or string.
class Value {
 public:
  Value() : v_(0.0) {}
  Value(double d) : v_(d) {}              // NOLINT(google-explicit-constructor)
  Value(int64_t i) : v_(i) {}             // NOLINT(google-explicit-constructor)
  Value(int i) : v_(int64_t{i}) {}        // NOLINT(google-explicit-constructor)
  Value(bool b) : v_(b) {}                // NOLINT(google-explicit-constructor)
  Value(std::string s) : v_(std::move(s)) {}          // NOLINT(google-explicit-constructor)
  Value(const char* s) : v_(std::string(s)) {}        // NOLINT(google-explicit-constructor)

  ValueType type() const { return static_cast<ValueType>(v_.index()); }
  bool is_double() const { return type() == ValueType::kDouble; }
  bool is_int() const { return type() == ValueType::kInt64; }
  bool is_bool() const { return type() == ValueType::kBool; }
  bool is_string() const { return type() == ValueType::kString; }

  // Unchecked accessors: the caller has checked type().
  double as_double() const { return std::get<double>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  bool as_bool() const { return std::get<bool>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }

  // Numeric view for aggregation: double/int as-is, bool 0/1; false for strings.
  bool ToNumber(double* out) const;
  std::string ToString() const;

  // Bitwise equality for doubles (NaN == NaN with the same payload, -0 != +0), so that
  // "every value reads back exactly" can be checked.
  bool IdenticalTo(const Value& other) const;
  bool operator==(const Value& other) const { return v_ == other.v_; }

 private:
  std::variant<double, int64_t, bool, std::string> v_;
};

// `value` as a `type` value without losing information (an int64 into a double, a whole
// double into an int64), or InvalidArgument saying why not ("the tag is int64, got double 2.5").
Result<Value> ConvertLossless(const Value& value, ValueType type);

// Data quality, bit-compatible with an OPC UA StatusCode: the top two bits give the
// severity (00 good, 01 uncertain, 10 bad) and bits 16..29 the sub-code, so a StatusCode
// from a PLC maps to a Quality losslessly. Nearly all samples are Good (code 0).
class Quality {
 public:
  enum class Severity : uint8_t { kGood = 0, kUncertain = 1, kBad = 2 };

  constexpr Quality() = default;
  static constexpr Quality FromOpcUaStatus(uint32_t status_code) { return Quality(status_code); }
  static constexpr Quality Good() { return Quality(0); }
  static constexpr Quality Uncertain(uint16_t sub_code = 0) { return Make(Severity::kUncertain, sub_code); }
  static constexpr Quality Bad(uint16_t sub_code = 0) { return Make(Severity::kBad, sub_code); }
  static constexpr Quality Make(Severity s, uint16_t sub_code) {
    return Quality((static_cast<uint32_t>(s) << 30) | (static_cast<uint32_t>(sub_code & 0x3FFF) << 16));
  }

  constexpr Severity severity() const {
    uint32_t top = code_ >> 30;
    return top == 0 ? Severity::kGood : top == 1 ? Severity::kUncertain : Severity::kBad;
  }
  constexpr bool good() const { return severity() == Severity::kGood; }
  constexpr bool bad() const { return severity() == Severity::kBad; }
  constexpr uint16_t sub_code() const { return static_cast<uint16_t>((code_ >> 16) & 0x3FFF); }
  constexpr uint32_t opcua_status() const { return code_; }

  // Well-known OPC UA sub-codes (Part 4, Part 6 StatusCodes).
  static constexpr Quality BadCommunicationError() { return Quality(0x80050000u); }
  static constexpr Quality BadSensorFailure() { return Quality(0x808C0000u); }
  static constexpr Quality BadNoCommunication() { return Quality(0x80310000u); }
  static constexpr Quality BadOutOfService() { return Quality(0x808D0000u); }
  static constexpr Quality UncertainLastUsableValue() { return Quality(0x40900000u); }
  static constexpr Quality UncertainSensorNotAccurate() { return Quality(0x40930000u); }
  static constexpr Quality UncertainEngineeringUnitsExceeded() { return Quality(0x40940000u); }

  std::string ToString() const;  // "good", "bad(0x8005)", "uncertain(0x4090)"
  constexpr auto operator<=>(const Quality&) const = default;

 private:
  constexpr explicit Quality(uint32_t code) : code_(code) {}
  uint32_t code_ = 0;
};

// Identifies a series inside one storage engine. Handed back to writers so repeated
// appends skip the key lookup.
enum class SeriesId : uint64_t {};
inline constexpr uint64_t ToU64(SeriesId id) { return static_cast<uint64_t>(id); }

// One reading.
struct Sample {
  Timestamp ts = 0;
  Value value;
  Quality quality;
};

}  // namespace shopfloor::core
