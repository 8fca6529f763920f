#include "bench/storage/line_protocol.h"

#include <charconv>

namespace shopfloor::bench {
namespace {

void AppendDouble(double d, std::string* out) {
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  (void)ec;  // 32 bytes always hold the shortest form of a double
  out->append(buf, ptr);
}

void AppendInt(int64_t i, std::string* out) {
  char buf[24];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), i);
  (void)ec;
  out->append(buf, ptr);
}

void AppendValue(const core::Value& value, std::string* out) {
  switch (value.type()) {
    case core::ValueType::kDouble: AppendDouble(value.as_double(), out); break;
    case core::ValueType::kInt64:
      AppendInt(value.as_int(), out);
      out->push_back('i');
      break;
    case core::ValueType::kBool: out->append(value.as_bool() ? "true" : "false"); break;
    case core::ValueType::kString:
      out->push_back('"');
      for (char c : value.as_string()) {
        if (c == '"' || c == '\\') out->push_back('\\');
        out->push_back(c);
      }
      out->push_back('"');
      break;
  }
}

}  // namespace

std::string FormatDouble(double d) {
  std::string out;
  AppendDouble(d, &out);
  return out;
}

std::string EscapeLineProtocolName(std::string_view name, bool escape_equals) {
  std::string out;
  for (char c : name) {
    if (c == ',' || c == ' ' || c == '\\' || (escape_equals && c == '=')) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

LineProtocolWriter::LineProtocolWriter(const std::vector<SeriesGroup>& groups) {
  for (const auto& group : groups) {
    std::string prefix = EscapeLineProtocolName(group.measurement, false);
    for (const auto& [key, value] : group.tags) {
      prefix += ',' + EscapeLineProtocolName(key) + '=' + EscapeLineProtocolName(value);
    }
    prefix += ' ';
    prefixes_.push_back(std::move(prefix));
    std::vector<std::string> keys;
    for (const auto& field : group.fields) keys.push_back(EscapeLineProtocolName(field) + '=');
    field_keys_.push_back(std::move(keys));
  }
}

void LineProtocolWriter::Append(const Record& record, std::string* out) const {
  out->append(prefixes_[record.group]);
  const auto& keys = field_keys_[record.group];
  for (size_t i = 0; i < record.values.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append(keys[i]);
    AppendValue(record.values[i], out);
  }
  out->push_back(' ');
  AppendInt(record.ts, out);
  out->push_back('\n');
}

}  // namespace shopfloor::bench
