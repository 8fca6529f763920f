// JsonValue: a small JSON reader for query responses that keeps numbers as their text.
//
// The storage benchmark checks that every value reads back bit for bit, so numbers must not
// pass through a JSON library's own number type (which would, e.g., read "-0" as the
// integer 0 and lose the sign). Numbers keep their exact source text; callers convert them
// with the type they expect.
//
// Bad input returns kInvalidArgument naming the byte offset; nesting deeper than
// kMaxJsonDepth is refused rather than recursed into.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace shopfloor::bench {

inline constexpr int kMaxJsonDepth = 64;

struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  Kind kind = Kind::kNull;
  bool boolean = false;
  std::string text;  // number: its source text; string: the decoded UTF-8 string
  std::vector<JsonValue> items;                             // array elements
  std::vector<std::pair<std::string, JsonValue>> members;  // object members, in order

  bool is_null() const { return kind == Kind::kNull; }
  bool is_number() const { return kind == Kind::kNumber; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_array() const { return kind == Kind::kArray; }
  bool is_object() const { return kind == Kind::kObject; }
  // The member named key, or nullptr (also for non-objects).
  const JsonValue* Find(std::string_view key) const;
};

// Parses one JSON document (surrounding whitespace allowed, nothing else after it).
core::Result<JsonValue> ParseJson(std::string_view text);

// Reads a number's text as a double (exactly as strtod would) or an int64 (no fraction or
// exponent allowed). kInvalidArgument if the value is not a number of that form.
core::Result<double> JsonToDouble(const JsonValue& value);
core::Result<int64_t> JsonToInt64(const JsonValue& value);

}  // namespace shopfloor::bench
