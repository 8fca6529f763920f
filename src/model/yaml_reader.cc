#include "model/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <system_error>
#include <utility>

#include <fmt/format.h>

namespace shopfloor::model::internal {
namespace {

constexpr size_t kMaxQuotedChars = 40;

}  // namespace

std::string Quote(std::string_view text) {
  std::string out = "\"";
  size_t shown = std::min(text.size(), kMaxQuotedChars);
  for (size_t i = 0; i < shown; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (shown < text.size()) out += "...";
  out += '"';
  return out;
}

namespace {

std::string JoinChoices(const std::vector<std::string_view>& choices) {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) out += ", ";
    out += choices[i];
  }
  return out;
}

// yaml-cpp tags plain (unquoted) scalars "?" and quoted ones "!".
bool IsPlain(const YAML::Node& node) { return node.Tag() != "!"; }

}  // namespace

ConfigLocation LocationOf(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return {};
  return ConfigLocation{mark.line + 1, mark.column + 1};
}

ConfigLocation LocationOf(const YAML::Node& node, ConfigLocation fallback) {
  if (!node.IsDefined() || node.IsNull()) return fallback;
  ConfigLocation where = LocationOf(node.Mark());
  return where.line == 0 ? fallback : where;
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined: return "nothing";
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Scalar: return Quote(node.Scalar());
    case YAML::NodeType::Sequence: return "a sequence";
    case YAML::NodeType::Map: return "a mapping";
  }
  return "an unknown node";
}

void Problems::Add(ConfigLocation where, std::string message, bool always) {
  if (problems_.size() >= kMaxProblems && !always) {
    ++dropped_;
    return;
  }
  core::StatusContext context;
  context.file = file_;
  if (where.line > 0) {
    context.line = where.line;
    context.column = where.column;
  }
  problems_.push_back(core::Status::InvalidArgument(std::move(message), std::move(context)));
}

bool Problems::CountMapping(ConfigLocation where) {
  ++mappings_;
  if (mappings_ == kMaxMappings + 1) {
    Add(where, fmt::format("the file describes more than {} mappings (through aliases?); "
                           "validation stopped here",
                           kMaxMappings),
        /*always=*/true);
  }
  return mappings_ <= kMaxMappings;
}

std::vector<core::Status> Problems::Take() {
  auto position = [](const core::Status& s) {
    return std::make_pair(s.context().line.value_or(0), s.context().column.value_or(0));
  };
  std::stable_sort(problems_.begin(), problems_.end(),
                   [&](const core::Status& a, const core::Status& b) { return position(a) < position(b); });
  std::vector<core::Status> out;
  for (auto& problem : problems_) {
    bool duplicate = std::any_of(out.begin(), out.end(), [&](const core::Status& seen) {
      return position(seen) == position(problem) && seen.message() == problem.message();
    });
    if (!duplicate) out.push_back(std::move(problem));
  }
  if (dropped_ > 0) {
    core::StatusContext context;
    context.file = file_;
    out.push_back(core::Status::InvalidArgument(
        fmt::format("{} more problems not shown (limit {})", dropped_, kMaxProblems), std::move(context)));
  }
  problems_.clear();
  dropped_ = 0;
  return out;
}

MapReader::MapReader(const YAML::Node& node, ConfigLocation fallback, std::string what,
                     std::initializer_list<std::string_view> allowed_keys, Problems* problems)
    : problems_(problems), what_(std::move(what)), location_(LocationOf(node, fallback)),
      allowed_(allowed_keys) {
  if (!node.IsMap()) {
    ProblemAt(location_, fmt::format("expected a mapping (got {})", Describe(node)));
    return;
  }
  if (!problems_->CountMapping(location_)) return;
  valid_ = true;
  for (auto it = node.begin(); it != node.end(); ++it) {
    Entry entry;
    entry.key_node = it->first;
    entry.value = it->second;
    entry.key = it->first.IsScalar() ? it->first.Scalar() : std::string();
    if (!it->first.IsScalar()) {
      ProblemAt(LocationOf(it->first, location_),
                fmt::format("keys must be plain words (got {})", Describe(it->first)));
      continue;
    }
    entries_.push_back(std::move(entry));
  }
}

std::optional<std::string> MapReader::ReadName() {
  std::optional<std::string> name = Name("name", kRequired);
  if (name) what_ = fmt::format("{} \"{}\"", what_, *name);
  return name;
}

void MapReader::Finish() {
  if (!valid_ || finished_) return;
  finished_ = true;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& entry = entries_[i];
    ConfigLocation where = LocationOf(entry.key_node, location_);
    if (std::find(allowed_.begin(), allowed_.end(), entry.key) == allowed_.end()) {
      ProblemAt(where, fmt::format("unknown key {} (allowed: {})", Quote(entry.key), JoinChoices(allowed_)));
      continue;
    }
    for (size_t j = 0; j < i; ++j) {
      if (entries_[j].key == entry.key) {
        ProblemAt(where, fmt::format("duplicate key {} (first at line {})", Quote(entry.key),
                                     LocationOf(entries_[j].key_node, location_).line));
        break;
      }
    }
  }
}

const MapReader::Entry* MapReader::Find(std::string_view key) const {
  for (const Entry& entry : entries_) {
    if (entry.key == key) return &entry;
  }
  return nullptr;
}

ConfigLocation MapReader::KeyLocation(std::string_view key) const {
  const Entry* entry = Find(key);
  return entry ? LocationOf(entry->key_node, location_) : location_;
}

ConfigLocation MapReader::ValueLocation(std::string_view key) const {
  const Entry* entry = Find(key);
  return entry ? LocationOf(entry->value, LocationOf(entry->key_node, location_)) : location_;
}

void MapReader::Problem(std::string_view key, std::string_view message) {
  ProblemAt(ValueLocation(key), message);
}

void MapReader::ProblemAt(ConfigLocation where, std::string_view message) {
  problems_->Add(where, fmt::format("{}: {}", what_, message));
}

std::optional<std::string> MapReader::Scalar(std::string_view key, Need need, std::string_view expected,
                                             bool plain_only) {
  if (!valid_) return std::nullopt;
  const Entry* entry = Find(key);
  if (entry == nullptr) {
    if (need == kRequired) ProblemAt(location_, fmt::format("missing required key \"{}\"", key));
    return std::nullopt;
  }
  const YAML::Node& value = entry->value;
  if (!value.IsScalar()) {
    Problem(key, fmt::format("\"{}\" must be {} (got {})", key, expected, Describe(value)));
    return std::nullopt;
  }
  if (plain_only && !IsPlain(value)) {
    Problem(key, fmt::format("\"{}\" must be {} (got the quoted string {})", key, expected,
                             Quote(value.Scalar())));
    return std::nullopt;
  }
  return value.Scalar();
}

std::optional<std::string> MapReader::String(std::string_view key, Need need) {
  return Scalar(key, need, "a string", /*plain_only=*/false);
}

std::optional<std::string> MapReader::Name(std::string_view key, Need need) {
  std::optional<std::string> text = String(key, need);
  if (text && !IsValidName(*text)) {
    Problem(key, fmt::format("\"{}\" must be 1-128 characters from A-Z a-z 0-9 _ - . and not \".\" or "
                             "\"..\" (got {})",
                             key, Quote(*text)));
    return std::nullopt;
  }
  return text;
}

std::optional<double> MapReader::Double(std::string_view key, Need need) {
  std::optional<std::string> text = Scalar(key, need, "a number", /*plain_only=*/true);
  if (!text) return std::nullopt;
  double value = 0.0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
    Problem(key, fmt::format("\"{}\" must be a finite number (got {})", key, Quote(*text)));
    return std::nullopt;
  }
  return value;
}

std::optional<int64_t> MapReader::Int(std::string_view key, int64_t min, int64_t max, Need need) {
  std::optional<std::string> text = Scalar(key, need, "an integer", /*plain_only=*/true);
  if (!text) return std::nullopt;
  int64_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end || value < min || value > max) {
    Problem(key, fmt::format("\"{}\" must be an integer from {} to {} (got {})", key, min, max, Quote(*text)));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> MapReader::Bool(std::string_view key, Need need) {
  std::optional<std::string> text = Scalar(key, need, "true or false", /*plain_only=*/true);
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  Problem(key, fmt::format("\"{}\" must be true or false (got {})", key, Quote(*text)));
  return std::nullopt;
}

std::optional<core::Duration> MapReader::Duration(std::string_view key, Need need) {
  std::optional<std::string> text = String(key, need);
  if (!text) return std::nullopt;
  core::Result<core::Duration> parsed = ParseDuration(*text);
  if (!parsed.ok()) {
    Problem(key, fmt::format("\"{}\": {}", key, parsed.status().message()));
    return std::nullopt;
  }
  return *parsed;
}

std::optional<uint64_t> MapReader::ByteSize(std::string_view key, Need need) {
  std::optional<std::string> text = String(key, need);
  if (!text) return std::nullopt;
  core::Result<uint64_t> parsed = ParseByteSize(*text);
  if (!parsed.ok()) {
    Problem(key, fmt::format("\"{}\": {}", key, parsed.status().message()));
    return std::nullopt;
  }
  return *parsed;
}

std::optional<size_t> MapReader::OneOf(std::string_view key, std::initializer_list<std::string_view> choices,
                                       Need need) {
  std::vector<std::string_view> list(choices);
  std::optional<std::string> text = Scalar(key, need, "one of " + JoinChoices(list), /*plain_only=*/false);
  if (!text) return std::nullopt;
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i] == *text) return i;
  }
  Problem(key, fmt::format("\"{}\" must be one of {} (got {})", key, JoinChoices(list), Quote(*text)));
  return std::nullopt;
}

std::optional<YAML::Node> MapReader::Sequence(std::string_view key, Need need) {
  if (!valid_) return std::nullopt;
  const Entry* entry = Find(key);
  if (entry == nullptr) {
    if (need == kRequired) ProblemAt(location_, fmt::format("missing required key \"{}\"", key));
    return std::nullopt;
  }
  if (!entry->value.IsSequence()) {
    Problem(key, fmt::format("\"{}\" must be a sequence (got {})", key, Describe(entry->value)));
    return std::nullopt;
  }
  return entry->value;
}

std::optional<YAML::Node> MapReader::Map(std::string_view key, Need need) {
  if (!valid_) return std::nullopt;
  const Entry* entry = Find(key);
  if (entry == nullptr) {
    if (need == kRequired) ProblemAt(location_, fmt::format("missing required key \"{}\"", key));
    return std::nullopt;
  }
  if (!entry->value.IsMap()) {
    Problem(key, fmt::format("\"{}\" must be a mapping (got {})", key, Describe(entry->value)));
    return std::nullopt;
  }
  return entry->value;
}

}  // namespace shopfloor::model::internal
