// Modbus binding addresses and the register codec (address.h, docs/modbus.md).
#include "connect/modbus/address.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>

#include <fmt/format.h>

#include "model/plant_config.h"

namespace shopfloor::connect::modbus {

namespace {

struct TypeName {
  DataType type;
  std::string_view name;
};
constexpr TypeName kRegisterTypes[] = {
    {DataType::kInt16, "int16"},     {DataType::kUInt16, "uint16"},   {DataType::kInt32, "int32"},
    {DataType::kUInt32, "uint32"},   {DataType::kInt64, "int64"},     {DataType::kUInt64, "uint64"},
    {DataType::kFloat32, "float32"}, {DataType::kFloat64, "float64"},
};

bool IsFloat(DataType t) { return t == DataType::kFloat32 || t == DataType::kFloat64; }
bool IsWide(DataType t) {
  return t == DataType::kInt32 || t == DataType::kUInt32 || t == DataType::kInt64 || t == DataType::kUInt64 ||
         t == DataType::kFloat32 || t == DataType::kFloat64;
}
bool IsNumeric(DataType t) { return t != DataType::kBool && t != DataType::kBit && t != DataType::kString; }

// A whole decimal number without sign, spaces or a leading '+'.
bool ParseUnsigned(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool ParseFinite(std::string_view text, double* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(*out);
}

std::string FormatDurationText(core::Duration d) {
  struct Unit {
    core::Duration size;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{7 * 24 * 3600 * core::kSecond, "w"},
                                    {24 * 3600 * core::kSecond, "d"},
                                    {3600 * core::kSecond, "h"},
                                    {60 * core::kSecond, "m"},
                                    {core::kSecond, "s"},
                                    {core::kMillisecond, "ms"},
                                    {core::kMillisecond / 1000, "us"}};
  for (const Unit& u : kUnits) {
    if (d % u.size == 0) return fmt::format("{}{}", d / u.size, u.name);
  }
  return fmt::format("{}ns", d);
}

uint16_t SwapBytes(uint16_t w) { return static_cast<uint16_t>((w << 8) | (w >> 8)); }

// The registers in protocol order -> the raw bits, most significant register first.
uint64_t Assemble(std::span<const uint16_t> words, bool word_swap, bool byte_swap) {
  uint64_t raw = 0;
  const size_t n = words.size();
  for (size_t i = 0; i < n; ++i) {
    uint16_t w = words[word_swap ? n - 1 - i : i];
    if (byte_swap) w = SwapBytes(w);
    raw = (raw << 16) | w;
  }
  return raw;
}

std::vector<uint16_t> Disassemble(uint64_t raw, size_t n, bool word_swap, bool byte_swap) {
  std::vector<uint16_t> words(n);
  for (size_t i = 0; i < n; ++i) {
    uint16_t w = static_cast<uint16_t>(raw >> (16 * (n - 1 - i)));
    if (byte_swap) w = SwapBytes(w);
    words[word_swap ? n - 1 - i : i] = w;
  }
  return words;
}

core::Status Bad(const Address& a, std::string why) {
  return core::Status::InvalidArgument(fmt::format("modbus address \"{}\": {}", FormatAddress(a), why));
}

// A number read from the device as the tag's type.
core::Result<core::Value> NumberAs(const Address& a, double value, core::ValueType tag_type) {
  switch (tag_type) {
    case core::ValueType::kDouble: return core::Value(value);
    case core::ValueType::kBool:
      if (std::isnan(value)) return Bad(a, "NaN is not a bool");
      return core::Value(value != 0.0);
    case core::ValueType::kInt64:
      // 2^63 is exactly representable; anything at or past it does not fit.
      if (!std::isfinite(value) || value != std::floor(value) || value >= 9223372036854775808.0 ||
          value < -9223372036854775808.0) {
        return Bad(a, fmt::format("{} does not fit an int64 tag", value));
      }
      return core::Value(static_cast<int64_t>(value));
    case core::ValueType::kString: break;
  }
  return Bad(a, "a number cannot be read into a string tag");
}

}  // namespace

std::string_view TableName(Table table) {
  switch (table) {
    case Table::kCoil: return "co";
    case Table::kDiscreteInput: return "di";
    case Table::kInputRegister: return "ir";
    case Table::kHoldingRegister: return "hr";
  }
  return "?";
}

std::string_view DataTypeName(DataType type) {
  switch (type) {
    case DataType::kBool: return "bool";
    case DataType::kBit: return "bit";
    case DataType::kString: return "string";
    default:
      for (const TypeName& t : kRegisterTypes) {
        if (t.type == type) return t.name;
      }
  }
  return "?";
}

uint16_t Address::count() const {
  switch (type) {
    case DataType::kInt32:
    case DataType::kUInt32:
    case DataType::kFloat32: return 2;
    case DataType::kInt64:
    case DataType::kUInt64:
    case DataType::kFloat64: return 4;
    case DataType::kString: return static_cast<uint16_t>((string_bytes + 1) / 2);
    default: return 1;
  }
}

core::ValueType Address::natural_type() const {
  if (type == DataType::kBool || type == DataType::kBit) return core::ValueType::kBool;
  if (type == DataType::kString) return core::ValueType::kString;
  if (IsFloat(type) || scaled()) return core::ValueType::kDouble;
  return core::ValueType::kInt64;
}

core::Result<Address> ParseAddress(std::string_view text) {
  auto fail = [text](std::string why) {
    return core::Status::InvalidArgument(fmt::format("modbus address \"{}\": {}", text, why));
  };
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t colon = text.find(':', start);
    parts.push_back(text.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 2) return fail("expected <table>:<register>, e.g. hr:100 or ir:0:float32");
  Address a;
  if (parts[0] == "co") {
    a.table = Table::kCoil;
  } else if (parts[0] == "di") {
    a.table = Table::kDiscreteInput;
  } else if (parts[0] == "ir") {
    a.table = Table::kInputRegister;
  } else if (parts[0] == "hr") {
    a.table = Table::kHoldingRegister;
  } else {
    return fail(fmt::format("unknown table \"{}\" (expected co, di, ir or hr)", parts[0]));
  }
  a.type = IsBitTable(a.table) ? DataType::kBool : DataType::kUInt16;
  std::string_view reg = parts[1];
  std::string_view bit;
  if (size_t dot = reg.find('.'); dot != std::string_view::npos) {
    bit = reg.substr(dot + 1);
    reg = reg.substr(0, dot);
    if (IsBitTable(a.table)) return fail(fmt::format("a bit (.{}) applies to ir and hr registers only", bit));
  }
  uint64_t number = 0;
  if (!ParseUnsigned(reg, &number)) return fail(fmt::format("register \"{}\" is not a decimal number", reg));
  if (number > 65535) return fail(fmt::format("register {} is beyond 65535", number));
  a.reg = static_cast<uint16_t>(number);
  if (parts[1].find('.') != std::string_view::npos) {
    if (!ParseUnsigned(bit, &number) || number > 15) {
      return fail(fmt::format("bit \"{}\" must be a number from 0 to 15", bit));
    }
    a.type = DataType::kBit;
    a.bit = static_cast<int>(number);
  }
  size_t next = 2;
  if (next < parts.size() && parts[next].find('=') == std::string_view::npos) {
    std::string_view type = parts[next++];
    if (type == "bool") {
      if (!IsBitTable(a.table) && a.type != DataType::kBit) {
        return fail("type bool needs a co or di address or a register bit such as hr:50.3");
      }
    } else if (IsBitTable(a.table)) {
      return fail(fmt::format("{} addresses are bool, not {}", parts[0], type));
    } else if (a.type == DataType::kBit) {
      return fail(fmt::format("a register bit is bool, not {}", type));
    } else if (type.starts_with("string")) {
      uint64_t bytes = 0;
      if (!ParseUnsigned(type.substr(6), &bytes) || bytes < 1 || bytes > 250) {
        return fail(fmt::format("type \"{}\" must be string<N> with N bytes from 1 to 250, e.g. string16", type));
      }
      a.type = DataType::kString;
      a.string_bytes = static_cast<int>(bytes);
    } else {
      bool known = false;
      for (const TypeName& t : kRegisterTypes) {
        if (t.name == type) {
          a.type = t.type;
          known = true;
        }
      }
      if (!known) {
        return fail(fmt::format("unknown type \"{}\" (expected int16, uint16, int32, uint32, int64, uint64, float32, "
                                "float64, string<N> or bool)",
                                type));
      }
    }
  }
  bool seen_scale = false, seen_offset = false, seen_words = false, seen_bytes = false, seen_poll = false;
  for (; next < parts.size(); ++next) {
    std::string_view part = parts[next];
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return fail(fmt::format("\"{}\" is not a modifier (the type comes right after the register)", part));
    }
    std::string_view key = part.substr(0, eq), value = part.substr(eq + 1);
    auto once = [&](bool* seen) {
      const bool first = !*seen;
      *seen = true;
      return first;
    };
    if (key == "scale" || key == "offset") {
      if (!once(key == "scale" ? &seen_scale : &seen_offset)) return fail(fmt::format("{}= is given twice", key));
      if (!IsNumeric(a.type)) return fail(fmt::format("{}= applies to numeric types, not {}", key, DataTypeName(a.type)));
      double d = 0;
      if (!ParseFinite(value, &d)) return fail(fmt::format("{} \"{}\" is not a finite number", key, value));
      if (key == "scale" && d == 0) return fail("scale must not be 0");
      (key == "scale" ? a.scale : a.offset) = d;
    } else if (key == "words") {
      if (!once(&seen_words)) return fail("words= is given twice");
      if (!IsWide(a.type)) return fail(fmt::format("words= applies to 32- and 64-bit types, not {}", DataTypeName(a.type)));
      if (value != "big" && value != "little") return fail(fmt::format("words must be big or little, not \"{}\"", value));
      a.word_swap = value == "little";
    } else if (key == "bytes") {
      if (!once(&seen_bytes)) return fail("bytes= is given twice");
      if (IsBitTable(a.table)) return fail(fmt::format("bytes= applies to registers, not {}", TableName(a.table)));
      if (value != "big" && value != "little") return fail(fmt::format("bytes must be big or little, not \"{}\"", value));
      a.byte_swap = value == "little";
    } else if (key == "poll") {
      if (!once(&seen_poll)) return fail("poll= is given twice");
      auto d = model::ParseDuration(value);
      if (!d.ok() || *d <= 0) {
        return fail(fmt::format("poll \"{}\" must be a positive duration such as 100ms, 5s or 1m", value));
      }
      a.poll = *d;
    } else {
      return fail(fmt::format("unknown modifier \"{}\" (expected scale, offset, words, bytes or poll)", key));
    }
  }
  if (static_cast<uint32_t>(a.reg) + a.count() > 65536) {
    return fail(fmt::format("{} {} from {} run past 65535", a.count(), IsBitTable(a.table) ? "bits" : "registers",
                            a.reg));
  }
  return a;
}

std::string FormatAddress(const Address& a) {
  std::string out = fmt::format("{}:{}", TableName(a.table), a.reg);
  if (a.type == DataType::kBit) {
    out += fmt::format(".{}", a.bit);
  } else if (a.type == DataType::kString) {
    out += fmt::format(":string{}", a.string_bytes);
  } else if (a.type != DataType::kBool) {
    out += fmt::format(":{}", DataTypeName(a.type));
  }
  if (a.scale != 1.0) out += fmt::format(":scale={}", a.scale);
  if (a.offset != 0.0) out += fmt::format(":offset={}", a.offset);
  if (a.word_swap) out += *a.word_swap ? ":words=little" : ":words=big";
  if (a.byte_swap) out += ":bytes=little";
  if (a.poll > 0) out += ":poll=" + FormatDurationText(a.poll);
  return out;
}

core::Status CheckBinding(const Address& a, core::ValueType tag_type, bool writable) {
  if (writable && !IsWritableTable(a.table)) {
    return Bad(a, fmt::format("a writable tag needs a co or hr address ({} is read-only)", TableName(a.table)));
  }
  const bool string_address = a.type == DataType::kString;
  if ((tag_type == core::ValueType::kString) != string_address) {
    return Bad(a, string_address ? fmt::format("a string<N> address needs a string tag, not {}", core::ValueTypeName(tag_type))
                                 : "a string tag needs a string<N> address");
  }
  if (tag_type == core::ValueType::kInt64 && (IsFloat(a.type) || a.scaled())) {
    return Bad(a, "an int64 tag cannot take a float or scaled value (make the tag double)");
  }
  return core::Status::OK();
}

core::Result<core::Value> Decode(const Address& a, bool source_word_swap, std::span<const uint16_t> words,
                                 std::span<const uint8_t> bits, core::ValueType tag_type) {
  const size_t n = a.count();
  if (IsBitTable(a.table)) {
    if (bits.size() != n) return Bad(a, fmt::format("decoding needs {} bit, got {}", n, bits.size()));
    return NumberAs(a, bits[0] != 0 ? 1.0 : 0.0, tag_type);
  }
  if (words.size() != n) return Bad(a, fmt::format("decoding needs {} registers, got {}", n, words.size()));
  if (a.type == DataType::kString) {
    if (tag_type != core::ValueType::kString) return Bad(a, "a string cannot be read into a non-string tag");
    std::string s;
    for (size_t i = 0; i < n; ++i) {
      const uint16_t w = a.byte_swap ? SwapBytes(words[i]) : words[i];
      s.push_back(static_cast<char>(w >> 8));
      s.push_back(static_cast<char>(w & 0xFF));
    }
    s.resize(static_cast<size_t>(a.string_bytes));
    while (!s.empty() && s.back() == '\0') s.pop_back();
    return core::Value(std::move(s));
  }
  if (tag_type == core::ValueType::kString) return Bad(a, "a number cannot be read into a string tag");
  const bool word_swap = a.word_swap.value_or(source_word_swap);
  const uint64_t raw = Assemble(words, word_swap, a.byte_swap);
  if (a.type == DataType::kBit) return NumberAs(a, ((raw >> a.bit) & 1) != 0 ? 1.0 : 0.0, tag_type);
  // Integers keep full precision on the way to an unscaled int64 tag.
  std::optional<int64_t> integer;
  double number = 0;
  switch (a.type) {
    case DataType::kInt16: integer = static_cast<int16_t>(raw); break;
    case DataType::kUInt16: integer = static_cast<int64_t>(raw); break;
    case DataType::kInt32: integer = static_cast<int32_t>(raw); break;
    case DataType::kUInt32: integer = static_cast<int64_t>(raw); break;
    case DataType::kInt64: integer = static_cast<int64_t>(raw); break;
    case DataType::kUInt64:
      if (raw > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        number = static_cast<double>(raw);
      } else {
        integer = static_cast<int64_t>(raw);
      }
      break;
    case DataType::kFloat32: number = std::bit_cast<float>(static_cast<uint32_t>(raw)); break;
    case DataType::kFloat64: number = std::bit_cast<double>(raw); break;
    default: return Bad(a, "unexpected type");
  }
  if (!a.scaled() && tag_type == core::ValueType::kInt64) {
    if (integer) return core::Value(*integer);
    if (a.type == DataType::kUInt64) return Bad(a, fmt::format("{} does not fit an int64 tag", raw));
  }
  if (integer) number = static_cast<double>(*integer);
  if (a.scaled()) number = number * a.scale + a.offset;
  return NumberAs(a, number, tag_type);
}

core::Result<std::vector<uint16_t>> Encode(const Address& a, bool source_word_swap, const core::Value& value) {
  if (IsBitTable(a.table) || a.type == DataType::kBit) {
    double d = 0;
    if (value.is_string() || !value.ToNumber(&d) || (d != 0.0 && d != 1.0)) {
      return Bad(a, fmt::format("{} is not a bool (true/false, 0 or 1)", value.ToString()));
    }
    return std::vector<uint16_t>{static_cast<uint16_t>(d != 0.0)};
  }
  const size_t n = a.count();
  if (a.type == DataType::kString) {
    if (!value.is_string()) return Bad(a, fmt::format("{} is not a string", value.ToString()));
    const std::string& s = value.as_string();
    if (s.size() > static_cast<size_t>(a.string_bytes)) {
      return Bad(a, fmt::format("the string is {} bytes, longer than {}", s.size(), a.string_bytes));
    }
    std::vector<uint16_t> words(n, 0);
    for (size_t i = 0; i < s.size(); ++i) {
      const auto byte = static_cast<uint8_t>(s[i]);
      words[i / 2] |= static_cast<uint16_t>(i % 2 == 0 ? byte << 8 : byte);
    }
    if (a.byte_swap) {
      for (uint16_t& w : words) w = SwapBytes(w);
    }
    return words;
  }
  double d = 0;
  if (value.is_string() || !value.ToNumber(&d)) return Bad(a, fmt::format("{} is not a number", value.ToString()));
  const bool word_swap = a.word_swap.value_or(source_word_swap);
  if (IsFloat(a.type)) {
    if (a.scaled()) d = (d - a.offset) / a.scale;
    if (a.type == DataType::kFloat32) {
      if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max()) {
        return Bad(a, fmt::format("{} is out of float32's range", d));
      }
      return Disassemble(std::bit_cast<uint32_t>(static_cast<float>(d)), n, word_swap, a.byte_swap);
    }
    return Disassemble(std::bit_cast<uint64_t>(d), n, word_swap, a.byte_swap);
  }
  // Integer registers: the raw value, exact for an unscaled int64 value.
  struct Range {
    double min, max;
  };
  Range range{};
  switch (a.type) {
    case DataType::kInt16: range = {-32768.0, 32767.0}; break;
    case DataType::kUInt16: range = {0, 65535.0}; break;
    case DataType::kInt32: range = {-2147483648.0, 2147483647.0}; break;
    case DataType::kUInt32: range = {0, 4294967295.0}; break;
    case DataType::kInt64: range = {-9223372036854775808.0, 9223372036854775807.0}; break;
    case DataType::kUInt64: range = {0, 18446744073709551615.0}; break;
    default: return Bad(a, "unexpected type");
  }
  uint64_t raw = 0;
  if (value.is_int() && !a.scaled()) {
    const int64_t i = value.as_int();
    if (static_cast<double>(i) < range.min || static_cast<double>(i) > range.max) {
      return Bad(a, fmt::format("{} is out of {}'s range", i, DataTypeName(a.type)));
    }
    raw = static_cast<uint64_t>(i);
  } else {
    if (a.scaled()) {
      d = std::nearbyint((d - a.offset) / a.scale);
    } else if (std::isfinite(d) && d != std::floor(d)) {
      return Bad(a, fmt::format("{} has a fraction, and {} needs a whole number", d, DataTypeName(a.type)));
    }
    // The upper bounds of the 64-bit types round up to 2^63 and 2^64 as doubles: exclusive.
    const bool wide = a.type == DataType::kInt64 || a.type == DataType::kUInt64;
    if (!std::isfinite(d) || d < range.min || (wide ? d >= range.max : d > range.max)) {
      return Bad(a, fmt::format("{} is out of {}'s range", value.ToString(), DataTypeName(a.type)));
    }
    raw = d < 0 ? static_cast<uint64_t>(static_cast<int64_t>(d)) : static_cast<uint64_t>(d);
  }
  if (n < 4) raw &= (uint64_t{1} << (16 * n)) - 1;
  return Disassemble(raw, n, word_swap, a.byte_swap);
}

}  // namespace shopfloor::connect::modbus
