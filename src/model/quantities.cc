// Parsers for the small value languages of the configuration: durations, byte sizes,
// names and retention globs. Declared in plant_config.h.
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "model/plant_config.h"

namespace shopfloor::model {
namespace {

struct Unit {
  std::string_view suffix;
  uint64_t factor;
};

// Longest suffixes first where one is a prefix of another ("ms" before "m").
constexpr std::array<Unit, 8> kDurationUnits = {{
    {"ns", 1},
    {"us", 1'000},
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60ull * 1'000'000'000},
    {"h", 3'600ull * 1'000'000'000},
    {"d", 86'400ull * 1'000'000'000},
    {"w", 604'800ull * 1'000'000'000},
}};

constexpr std::array<Unit, 9> kSizeUnits = {{
    {"B", 1},
    {"KiB", 1ull << 10},
    {"MiB", 1ull << 20},
    {"GiB", 1ull << 30},
    {"TiB", 1ull << 40},
    {"kB", 1'000},
    {"MB", 1'000'000},
    {"GB", 1'000'000'000},
    {"TB", 1'000'000'000'000},
}};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads a run of digits at text[*pos]; false on overflow of uint64 or no digits.
bool ReadNumber(std::string_view text, size_t* pos, uint64_t* out, bool* overflow) {
  size_t start = *pos;
  uint64_t value = 0;
  *overflow = false;
  while (*pos < text.size() && IsDigit(text[*pos])) {
    uint64_t digit = static_cast<uint64_t>(text[*pos] - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) *overflow = true;
    if (!*overflow) value = value * 10 + digit;
    ++*pos;
  }
  *out = value;
  return *pos > start;
}

// Multiplies with overflow check against `limit`.
bool MulWithin(uint64_t a, uint64_t b, uint64_t limit, uint64_t* out) {
  if (b != 0 && a > limit / b) return false;
  *out = a * b;
  return true;
}

core::Status Invalid(std::string_view what, std::string_view text, std::string_view why) {
  return core::Status::InvalidArgument(fmt::format("invalid {} \"{}\": {}", what, text, why));
}

}  // namespace

core::Result<core::Duration> ParseDuration(std::string_view text) {
  constexpr std::string_view kWhat = "duration";
  constexpr std::string_view kExpected = "expected e.g. 500ms, 10s, 5m, 2h, 30d or 1h30m";
  if (text.empty()) return Invalid(kWhat, text, std::string("empty; ") + std::string(kExpected));
  if (text == "0") return core::Duration{0};
  const uint64_t limit = static_cast<uint64_t>(std::numeric_limits<core::Duration>::max());
  uint64_t total = 0;
  size_t pos = 0;
  size_t last_unit = kDurationUnits.size();  // units must strictly decrease
  while (pos < text.size()) {
    uint64_t number = 0;
    bool overflow = false;
    if (!ReadNumber(text, &pos, &number, &overflow)) {
      return Invalid(kWhat, text, fmt::format("expected a digit at offset {}; {}", pos, kExpected));
    }
    size_t unit_start = pos;
    while (pos < text.size() && !IsDigit(text[pos])) ++pos;
    std::string_view suffix = text.substr(unit_start, pos - unit_start);
    if (suffix.empty()) {
      return Invalid(kWhat, text, "missing unit (expected one of ns, us, ms, s, m, h, d, w)");
    }
    size_t unit_idx = kDurationUnits.size();
    for (size_t i = 0; i < kDurationUnits.size(); ++i) {
      if (kDurationUnits[i].suffix == suffix) unit_idx = i;
    }
    if (unit_idx == kDurationUnits.size()) {
      return Invalid(kWhat, text,
                     fmt::format("unknown unit \"{}\" (expected one of ns, us, ms, s, m, h, d, w)", suffix));
    }
    if (unit_idx >= last_unit) {
      return Invalid(kWhat, text, "units must be in decreasing order without repeats (e.g. 1h30m)");
    }
    last_unit = unit_idx;
    uint64_t part = 0;
    if (overflow || !MulWithin(number, kDurationUnits[unit_idx].factor, limit, &part) ||
        part > limit - total) {
      return Invalid(kWhat, text, "too large (the maximum is about 292 years)");
    }
    total += part;
  }
  return static_cast<core::Duration>(total);
}

core::Result<uint64_t> ParseByteSize(std::string_view text) {
  constexpr std::string_view kWhat = "size";
  if (text.empty()) return Invalid(kWhat, text, "empty; expected e.g. 512KiB, 256MiB or 20GiB");
  size_t pos = 0;
  uint64_t number = 0;
  bool overflow = false;
  if (!ReadNumber(text, &pos, &number, &overflow)) {
    return Invalid(kWhat, text, "expected a whole number followed by a unit, e.g. 256MiB");
  }
  std::string_view suffix = text.substr(pos);
  uint64_t factor = 0;
  if (suffix.empty()) {
    factor = 1;
  } else {
    for (const Unit& unit : kSizeUnits) {
      if (unit.suffix == suffix) factor = unit.factor;
    }
  }
  if (factor == 0) {
    return Invalid(kWhat, text,
                   fmt::format("unknown unit \"{}\" (expected one of B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)",
                               suffix));
  }
  uint64_t bytes = 0;
  if (overflow || !MulWithin(number, factor, std::numeric_limits<uint64_t>::max(), &bytes)) {
    return Invalid(kWhat, text, "too large (the maximum is 2^64-1 bytes)");
  }
  return bytes;
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_' ||
              c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace shopfloor::model
