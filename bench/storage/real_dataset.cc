#include "bench/storage/real_dataset.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "bench/storage/factory_dataset.h"

namespace shopfloor::bench {
namespace {

using core::Result;
using core::Status;
using core::Timestamp;

Status LineError(const std::string& file, int line, std::string_view what) {
  core::StatusContext ctx;
  ctx.file = file;
  ctx.line = line;
  return Status::InvalidArgument(fmt::format("{}:{}: {}", file, line, what), std::move(ctx));
}

// Splits content into lines (without "\n" or a trailing "\r").
std::vector<std::string_view> SplitLines(std::string_view content) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = content.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = end + 1;
  }
  return lines;
}

std::vector<std::string_view> SplitOn(std::string_view line, char sep) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (true) {
    size_t end = line.find(sep, pos);
    if (end == std::string_view::npos) {
      parts.push_back(line.substr(pos));
      return parts;
    }
    parts.push_back(line.substr(pos, end - pos));
    pos = end + 1;
  }
}

std::vector<std::string_view> SplitWhitespace(std::string_view line) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    size_t start = pos;
    while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t') ++pos;
    if (pos > start) parts.push_back(line.substr(start, pos - start));
  }
  return parts;
}

// A finite double from the whole of text.
bool ParseDouble(std::string_view text, double* out) {
  if (text.empty()) return false;
  const char* begin = text.data();
  if (*begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(*out);
}

bool ParseInt(std::string_view text, int64_t* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::string FieldName(std::string_view header) {
  std::string name;
  for (char c : header) {
    unsigned char u = static_cast<unsigned char>(c);
    name.push_back(std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '_');
  }
  return name;
}

Result<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot open data file", path.string());
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IOError("cannot read data file", path.string());
  return content;
}

}  // namespace

Result<Timestamp> ParseDateTime(std::string_view text) {
  // 0123456789012345678
  // YYYY-MM-DD HH:MM:SS
  auto bad = [&] { return Status::InvalidArgument(fmt::format("bad datetime '{}'", text)); };
  if (text.size() != 19 || text[4] != '-' || text[7] != '-' || text[10] != ' ' || text[13] != ':' ||
      text[16] != ':') {
    return bad();
  }
  int64_t year, month, day, hour, minute, second;
  if (!ParseInt(text.substr(0, 4), &year) || !ParseInt(text.substr(5, 2), &month) ||
      !ParseInt(text.substr(8, 2), &day) || !ParseInt(text.substr(11, 2), &hour) ||
      !ParseInt(text.substr(14, 2), &minute) || !ParseInt(text.substr(17, 2), &second)) {
    return bad();
  }
  // Years outside 1900..2200 are refused: they are not in these data sets, and the
  // nanosecond Timestamp only reaches 2262.
  if (year < 1900 || year > 2200 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60 || hour < 0 || minute < 0 || second < 0) {
    return bad();
  }
  int64_t days = DaysFromCivil(year, month, day);
  return ((days * 24 + hour) * 60 + minute) * 60 * core::kSecond + second * core::kSecond;
}

Status ParseNabCsv(std::string_view content, const std::string& name, RecordTable* out) {
  std::vector<std::string_view> lines = SplitLines(content);
  if (lines.empty() || lines[0] != "timestamp,value") {
    return LineError(name, 1, "expected header 'timestamp,value'");
  }
  int group = static_cast<int>(out->groups.size());
  std::vector<Record> records;
  for (size_t i = 1; i < lines.size(); ++i) {
    int line_no = static_cast<int>(i + 1);
    if (lines[i].empty()) continue;
    std::vector<std::string_view> cols = SplitOn(lines[i], ',');
    if (cols.size() != 2) return LineError(name, line_no, fmt::format("expected 2 columns, got {}", cols.size()));
    auto ts = ParseDateTime(cols[0]);
    if (!ts.ok()) return LineError(name, line_no, ts.status().message());
    double value = 0;
    if (!ParseDouble(cols[1], &value)) return LineError(name, line_no, "value is not a finite number");
    records.push_back(Record{group, *ts, {core::Value(value)}});
  }
  SeriesGroup g;
  g.measurement = "nab";
  g.tags = {{"file", name}};
  g.fields = {"value"};
  g.types = {core::ValueType::kDouble};
  out->groups.push_back(std::move(g));
  for (auto& r : records) out->records.push_back(std::move(r));
  return Status::OK();
}

Status ParseSkabCsv(std::string_view content, const std::string& name, RecordTable* out) {
  std::vector<std::string_view> lines = SplitLines(content);
  if (lines.empty()) return LineError(name, 1, "empty file");
  std::vector<std::string_view> header = SplitOn(lines[0], ';');
  if (header.size() < 2 || header[0] != "datetime") {
    return LineError(name, 1, "expected a header starting with 'datetime;'");
  }
  SeriesGroup g;
  g.measurement = "skab";
  g.tags = {{"run", name}};
  std::vector<size_t> columns;  // header column of each field
  std::set<std::string> seen;
  for (size_t c = 1; c < header.size(); ++c) {
    if (header[c] == "anomaly" || header[c] == "changepoint") continue;
    std::string field = FieldName(header[c]);
    if (field.empty() || !seen.insert(field).second) {
      return LineError(name, 1, fmt::format("empty or duplicate column name '{}'", header[c]));
    }
    g.fields.push_back(field);
    g.types.push_back(core::ValueType::kDouble);
    columns.push_back(c);
  }
  if (g.fields.empty()) return LineError(name, 1, "no sensor columns");
  int group = static_cast<int>(out->groups.size());
  std::vector<Record> records;
  for (size_t i = 1; i < lines.size(); ++i) {
    int line_no = static_cast<int>(i + 1);
    if (lines[i].empty()) continue;
    std::vector<std::string_view> cols = SplitOn(lines[i], ';');
    if (cols.size() != header.size()) {
      return LineError(name, line_no, fmt::format("expected {} columns, got {}", header.size(), cols.size()));
    }
    auto ts = ParseDateTime(cols[0]);
    if (!ts.ok()) return LineError(name, line_no, ts.status().message());
    Record r{group, *ts, {}};
    for (size_t c : columns) {
      double value = 0;
      if (!ParseDouble(cols[c], &value)) {
        return LineError(name, line_no, fmt::format("column '{}' is not a finite number", header[c]));
      }
      r.values.emplace_back(value);
    }
    records.push_back(std::move(r));
  }
  out->groups.push_back(std::move(g));
  for (auto& r : records) out->records.push_back(std::move(r));
  return Status::OK();
}

Status ParseCmapss(std::string_view content, const std::string& name, int max_units, Timestamp base,
                   RecordTable* out) {
  constexpr size_t kColumns = 26;
  constexpr int64_t kMaxCycle = 1'000'000;
  std::vector<std::string> fields = {"setting1", "setting2", "setting3"};
  for (int s = 1; s <= 21; ++s) fields.push_back(fmt::format("s{}", s));

  std::vector<std::string_view> lines = SplitLines(content);
  RecordTable parsed;
  int64_t current_unit = -1;
  for (size_t i = 0; i < lines.size(); ++i) {
    int line_no = static_cast<int>(i + 1);
    std::vector<std::string_view> cols = SplitWhitespace(lines[i]);
    if (cols.empty()) continue;
    if (cols.size() != kColumns) {
      return LineError(name, line_no, fmt::format("expected {} columns, got {}", kColumns, cols.size()));
    }
    int64_t unit = 0, cycle = 0;
    if (!ParseInt(cols[0], &unit) || unit <= 0 || unit > 100'000) return LineError(name, line_no, "bad unit id");
    if (!ParseInt(cols[1], &cycle) || cycle <= 0 || cycle > kMaxCycle) return LineError(name, line_no, "bad cycle");
    if (max_units > 0 && unit > max_units) continue;
    if (unit != current_unit) {
      SeriesGroup g;
      g.measurement = "cmapss";
      g.tags = {{"engine", fmt::format("{}_u{:03}", name, unit)}};
      for (const auto& pg : parsed.groups) {
        if (pg.tags[0].second == g.tags[0].second) {
          return LineError(name, line_no, fmt::format("rows of unit {} are not contiguous", unit));
        }
      }
      g.fields = fields;
      g.types.assign(fields.size(), core::ValueType::kDouble);
      parsed.groups.push_back(std::move(g));
      current_unit = unit;
    }
    Record r{static_cast<int>(out->groups.size() + parsed.groups.size() - 1), base + cycle * core::kSecond, {}};
    for (size_t c = 2; c < kColumns; ++c) {
      double value = 0;
      if (!ParseDouble(cols[c], &value)) {
        return LineError(name, line_no, fmt::format("column {} is not a finite number", c + 1));
      }
      r.values.emplace_back(value);
    }
    parsed.records.push_back(std::move(r));
  }
  for (auto& g : parsed.groups) out->groups.push_back(std::move(g));
  for (auto& r : parsed.records) out->records.push_back(std::move(r));
  return Status::OK();
}

Result<std::unique_ptr<RealDataset>> RealDataset::Load(const std::string& data_root, Size size) {
  namespace fs = std::filesystem;
  fs::path root(data_root);
  bool full = size == Size::kFull;
  RecordTable table;

  std::vector<std::string> nab = {"machine_temperature_system_failure"};
  if (full) {
    nab = {"ambient_temperature_system_failure", "cpu_utilization_asg_misconfiguration",
           "ec2_request_latency_system_failure", "machine_temperature_system_failure",
           "nyc_taxi", "rogue_agent_key_hold", "rogue_agent_key_updown"};
  }
  for (const auto& name : nab) {
    SF_ASSIGN_OR_RETURN(std::string content, ReadFile(root / "nab/data/realKnownCause" / (name + ".csv")));
    SF_RETURN_IF_ERROR(ParseNabCsv(content, name, &table));
  }

  std::vector<std::pair<std::string, std::string>> skab = {{"valve1", "0"}};
  if (full) {
    skab = {{"anomaly-free", "anomaly-free"}};
    for (int i = 0; i < 16; ++i) skab.emplace_back("valve1", std::to_string(i));
  }
  for (const auto& [dir, file] : skab) {
    SF_ASSIGN_OR_RETURN(std::string content, ReadFile(root / "skab" / dir / (file + ".csv")));
    SF_RETURN_IF_ERROR(ParseSkabCsv(content, dir == file ? dir : dir + "_" + file, &table));
  }

  std::vector<std::string> cmapss = {"train_FD001"};
  if (full) cmapss = {"train_FD001", "test_FD001", "train_FD002", "test_FD002"};
  for (const auto& name : cmapss) {
    SF_ASSIGN_OR_RETURN(std::string content, ReadFile(root / "cmapss" / (name + ".txt")));
    SF_RETURN_IF_ERROR(ParseCmapss(content, name, full ? 0 : 5, kFactoryStart, &table));
  }
  return std::unique_ptr<RealDataset>(new RealDataset(std::move(table), size));
}

RealDataset::RealDataset(RecordTable table, Size size) : table_(std::move(table)), size_(size) {
  records_of_group_.resize(table_.groups.size());
  first_ts_ = std::numeric_limits<Timestamp>::max();
  last_ts_ = std::numeric_limits<Timestamp>::min();
  for (size_t i = 0; i < table_.records.size(); ++i) {
    const Record& r = table_.records[i];
    records_of_group_[r.group].push_back(i);
    points_ += r.values.size();
    first_ts_ = std::min(first_ts_, r.ts);
    last_ts_ = std::max(last_ts_, r.ts);
  }
  if (table_.records.empty()) first_ts_ = last_ts_ = 0;
}

std::string RealDataset::label() const {
  return fmt::format("real (NAB, SKAB, C-MAPSS) {} series{}", series_count(),
                     size_ == Size::kSmoke ? ", smoke subset" : "");
}

bool RealDataset::Next(Record* out) {
  if (cursor_ >= table_.records.size()) return false;
  *out = table_.records[cursor_++];
  return true;
}

std::vector<core::Sample> RealDataset::Expected(SeriesRef series, Timestamp from, Timestamp to) const {
  std::vector<core::Sample> out;
  if (series.group < 0 || static_cast<size_t>(series.group) >= records_of_group_.size()) return out;
  std::map<Timestamp, core::Value> by_ts;  // last write of a timestamp wins
  for (size_t index : records_of_group_[series.group]) {
    const Record& r = table_.records[index];
    if (r.ts < from || r.ts >= to || static_cast<size_t>(series.field) >= r.values.size()) continue;
    by_ts[r.ts] = r.values[series.field];
  }
  for (auto& [ts, value] : by_ts) out.push_back(core::Sample{ts, std::move(value), core::Quality::Good()});
  return out;
}

}  // namespace shopfloor::bench
