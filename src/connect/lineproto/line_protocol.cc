#include "connect/lineproto/line_protocol.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

namespace shopfloor::connect {

using core::Duration;
using core::Status;
using core::Timestamp;

core::Result<Precision> ParsePrecision(std::string_view text) {
  if (text == "ns" || text == "n") return Precision::kNanoseconds;
  if (text == "us" || text == "u") return Precision::kMicroseconds;
  if (text == "ms") return Precision::kMilliseconds;
  if (text == "s") return Precision::kSeconds;
  if (text == "m") return Precision::kMinutes;
  if (text == "h") return Precision::kHours;
  return Status::InvalidArgument(
      fmt::format("invalid precision \"{}\": expected ns, us, ms, s, m or h", text));
}

Duration PrecisionUnit(Precision precision) {
  switch (precision) {
    case Precision::kNanoseconds: return core::kNanosecond;
    case Precision::kMicroseconds: return core::kMicrosecond;
    case Precision::kMilliseconds: return core::kMillisecond;
    case Precision::kSeconds: return core::kSecond;
    case Precision::kMinutes: return core::kMinute;
    case Precision::kHours: return core::kHour;
  }
  return core::kNanosecond;
}

void LineBatch::Clear() {
  points_.clear();
  tags_.clear();
  fields_.clear();
  unescaped_.clear();
}

void LineBatch::AppendSeriesKeyPrefix(const LinePoint& p, std::string* out) const {
  out->append(p.raw_measurement);
  for (const LineTag& tag : tags(p)) {
    out->push_back(',');
    out->append(tag.raw_key);
    out->push_back('=');
    out->append(tag.raw_value);
  }
}

std::string LineBatch::SeriesKey(const LinePoint& p, const LineField& f) const {
  std::string key;
  AppendSeriesKeyPrefix(p, &key);
  key.push_back('/');
  key.append(f.key);
  return key;
}

namespace {

// Byte classes for the name scanners. A name ends at an unescaped byte of its stop class or
// at the end of the line; '\\', '\n' and '\r' always need a closer look.
constexpr uint8_t kStopMeasurement = 1;  // ',' ' '
constexpr uint8_t kStopKey = 2;          // ',' ' ' '='
constexpr uint8_t kSpecial = 4;          // '\\' '\n' '\r'

constexpr std::array<uint8_t, 256> MakeByteClasses() {
  std::array<uint8_t, 256> t{};
  t[static_cast<uint8_t>(',')] = kStopMeasurement | kStopKey;
  t[static_cast<uint8_t>(' ')] = kStopMeasurement | kStopKey;
  t[static_cast<uint8_t>('=')] = kStopKey;
  t[static_cast<uint8_t>('\\')] = kSpecial;
  t[static_cast<uint8_t>('\n')] = kSpecial;
  t[static_cast<uint8_t>('\r')] = kSpecial;
  return t;
}
constexpr std::array<uint8_t, 256> kByteClasses = MakeByteClasses();

constexpr std::string_view kMeasurementEscapes = ", ";
constexpr std::string_view kKeyEscapes = ",= ";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Fields per point above which duplicate detection sorts instead of comparing pairs.
constexpr uint32_t kPairwiseDuplicateLimit = 32;

}  // namespace

// One parse of one body. Named (not in the anonymous namespace) because LineBatch befriends it.
class LineProtocolParser {
 public:
  LineProtocolParser(std::string_view body, const LineProtocolOptions& options, LineBatch* out)
      : p_(body.data()),
        end_(body.data() + body.size()),
        line_start_(body.data()),
        unit_(PrecisionUnit(options.precision)),
        out_(out) {
    Timestamp t = options.default_time;
    // InfluxDB truncates the server time to the requested precision.
    Timestamp rem = t % unit_;
    if (rem < 0) rem += unit_;
    default_time_ = t - rem;
  }

  Status Run() {
    while (p_ < end_) {
      line_start_ = p_;
      SkipBlanks();
      if (AtLineEnd(p_)) {
        SkipLineEnd();
        continue;
      }
      if (*p_ == '#') {
        while (p_ < end_ && *p_ != '\n') ++p_;
        SkipLineEnd();
        continue;
      }
      SF_RETURN_IF_ERROR(ParsePoint());
      SkipLineEnd();
    }
    return Status::OK();
  }

 private:
  bool AtLineEnd(const char* q) const {
    return q >= end_ || *q == '\n' || (*q == '\r' && (q + 1 == end_ || q[1] == '\n'));
  }
  void SkipBlanks() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\0')) ++p_;
  }
  void SkipLineEnd() {
    if (p_ < end_ && *p_ == '\r') ++p_;
    if (p_ < end_ && *p_ == '\n') ++p_;
    ++line_;
  }

  Status ErrorAt(int line, int column, std::string message) const {
    core::StatusContext ctx;
    ctx.line = line;
    ctx.column = column;
    return Status::InvalidArgument(fmt::format("line {}: {}", line, message), std::move(ctx));
  }
  Status Error(const char* at, std::string message) const {
    return ErrorAt(line_, static_cast<int>(at - line_start_) + 1, std::move(message));
  }

  // Scans a name up to an unescaped byte of `stop_class` or the end of the line.
  std::string_view ScanName(uint8_t stop_class, bool* escaped) {
    const char* start = p_;
    while (p_ < end_) {
      uint8_t cls = kByteClasses[static_cast<uint8_t>(*p_)];
      if ((cls & (stop_class | kSpecial)) == 0) {
        ++p_;
        continue;
      }
      if (*p_ == '\\') {
        if (p_ + 1 < end_ && p_[1] != '\n') {
          *escaped = true;
          p_ += 2;
        } else {
          ++p_;
        }
        continue;
      }
      if (*p_ == '\r' && !AtLineEnd(p_)) {
        ++p_;
        continue;
      }
      break;  // line end or a stop byte
    }
    return {start, static_cast<size_t>(p_ - start)};
  }

  // Removes the backslash before bytes of `escapes`; other backslashes stay.
  std::string_view Unescape(std::string_view raw, std::string_view escapes) {
    std::string& s = out_->unescaped_.emplace_back();
    s.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size() && escapes.find(raw[i + 1]) != std::string_view::npos) ++i;
      s.push_back(raw[i]);
    }
    return s;
  }

  Status ParsePoint() {
    LinePoint pt;
    pt.line = line_;
    pt.first_tag = static_cast<uint32_t>(out_->tags_.size());
    pt.first_field = static_cast<uint32_t>(out_->fields_.size());
    const char* point_start = p_;

    if (*p_ == ',') return Error(p_, "missing measurement");
    bool escaped = false;
    pt.raw_measurement = ScanName(kStopMeasurement, &escaped);
    pt.measurement = escaped ? Unescape(pt.raw_measurement, kMeasurementEscapes) : pt.raw_measurement;
    if (AtLineEnd(p_)) return Error(p_, "missing fields");
    if (*p_ == ',') {
      ++p_;
      SF_RETURN_IF_ERROR(ParseTags());
    }
    pt.tag_count = static_cast<uint32_t>(out_->tags_.size()) - pt.first_tag;
    SF_RETURN_IF_ERROR(SortTags(pt, point_start));

    SkipBlanks();
    if (AtLineEnd(p_)) return Error(p_, "missing fields");
    SF_RETURN_IF_ERROR(ParseFields());
    pt.field_count = static_cast<uint32_t>(out_->fields_.size()) - pt.first_field;
    SF_RETURN_IF_ERROR(CheckDuplicateFields(pt, point_start));

    SF_RETURN_IF_ERROR(ParseTimestamp(&pt.ts));
    out_->points_.push_back(pt);
    return Status::OK();
  }

  // After "<measurement>,": tag pairs up to the space before the fields.
  Status ParseTags() {
    for (;;) {
      if (AtLineEnd(p_) || *p_ == ' ' || *p_ == ',' || *p_ == '=') return Error(p_, "missing tag key");
      bool key_escaped = false;
      std::string_view raw_key = ScanName(kStopKey, &key_escaped);
      std::string_view key = key_escaped ? Unescape(raw_key, kKeyEscapes) : raw_key;
      if (AtLineEnd(p_) || *p_ != '=') {
        return Error(p_, fmt::format("missing tag value for tag key \"{}\"", key));
      }
      ++p_;
      if (AtLineEnd(p_) || *p_ == ' ' || *p_ == ',') {
        return Error(p_, fmt::format("missing tag value for tag key \"{}\"", key));
      }
      bool value_escaped = false;
      std::string_view raw_value = ScanName(kStopKey, &value_escaped);
      if (p_ < end_ && *p_ == '=') {
        return Error(p_, fmt::format("invalid tag value for tag key \"{}\": unescaped '='", key));
      }
      std::string_view value = value_escaped ? Unescape(raw_value, kKeyEscapes) : raw_value;
      out_->tags_.push_back(LineTag{key, value, raw_key, raw_value});
      if (AtLineEnd(p_)) return Error(p_, "missing fields");
      if (*p_ == ' ') return Status::OK();
      ++p_;  // ','
    }
  }

  Status SortTags(const LinePoint& pt, const char* point_start) {
    auto first = out_->tags_.begin() + pt.first_tag;
    auto last = first + pt.tag_count;
    auto by_key = [](const LineTag& a, const LineTag& b) { return a.raw_key < b.raw_key; };
    if (!std::is_sorted(first, last, by_key)) std::sort(first, last, by_key);
    auto dup = std::adjacent_find(first, last, [](const LineTag& a, const LineTag& b) {
      return a.raw_key == b.raw_key;
    });
    if (dup != last) return Error(point_start, fmt::format("duplicate tag key \"{}\"", dup->key));
    return Status::OK();
  }

  Status ParseFields() {
    for (;;) {
      if (*p_ == '=' || *p_ == ',' || *p_ == ' ') return Error(p_, "missing field key");
      bool escaped = false;
      std::string_view raw_key = ScanName(kStopKey, &escaped);
      std::string_view key = escaped ? Unescape(raw_key, kKeyEscapes) : raw_key;
      if (AtLineEnd(p_) || *p_ != '=') {
        return Error(p_, fmt::format("missing '=' and value after field key \"{}\"", key));
      }
      ++p_;
      SF_RETURN_IF_ERROR(ParseFieldValue(key));
      if (AtLineEnd(p_) || *p_ == ' ') return Status::OK();
      if (*p_ != ',') {
        return Error(p_, fmt::format("unexpected character '{}' after the value of field \"{}\"", *p_, key));
      }
      ++p_;
      if (AtLineEnd(p_) || *p_ == ' ') return Error(p_, "missing field key after ','");
    }
  }

  Status ParseFieldValue(std::string_view key) {
    if (AtLineEnd(p_) || *p_ == ',' || *p_ == ' ') {
      return Error(p_, fmt::format("missing value for field key \"{}\"", key));
    }
    if (*p_ == '"') return ParseString(key);
    const char* start = p_;
    while (p_ < end_ && *p_ != ',' && *p_ != ' ' && *p_ != '\n' && !(*p_ == '\r' && AtLineEnd(p_))) ++p_;
    std::string_view token(start, static_cast<size_t>(p_ - start));
    char c = token[0];
    if (IsDigit(c) || c == '.' || c == '-') return ParseNumber(key, token, start);
    if (c == 't' || c == 'T' || c == 'f' || c == 'F') {
      if (token == "t" || token == "T" || token == "true" || token == "True" || token == "TRUE") {
        out_->fields_.push_back(LineField{key, core::Value(true)});
        return Status::OK();
      }
      if (token == "f" || token == "F" || token == "false" || token == "False" || token == "FALSE") {
        out_->fields_.push_back(LineField{key, core::Value(false)});
        return Status::OK();
      }
      return Error(start, fmt::format("invalid boolean \"{}\" for field key \"{}\"", token, key));
    }
    return Error(start, fmt::format("invalid field value for key \"{}\": expected a number, bool or quoted string",
                                    key));
  }

  Status ParseNumber(std::string_view key, std::string_view token, const char* at) {
    const char* first = token.data();
    const char* last = first + token.size();
    char suffix = token.back();
    if (suffix == 'i') {
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(first, last - 1, v);
      if (ec == std::errc::result_out_of_range && ptr == last - 1) {
        return Error(at, fmt::format("integer \"{}\" for field key \"{}\" is out of range", token, key));
      }
      if (ec != std::errc() || ptr != last - 1) {
        return Error(at, fmt::format("invalid integer \"{}\" for field key \"{}\"", token, key));
      }
      out_->fields_.push_back(LineField{key, core::Value(v)});
      return Status::OK();
    }
    if (suffix == 'u') {
      uint64_t v = 0;
      auto [ptr, ec] = std::from_chars(first, last - 1, v);
      if (ec == std::errc::result_out_of_range && ptr == last - 1) {
        return Error(at, fmt::format("unsigned integer \"{}\" for field key \"{}\" is out of range", token, key));
      }
      if (ec != std::errc() || ptr != last - 1) {
        return Error(at, fmt::format("invalid unsigned integer \"{}\" for field key \"{}\"", token, key));
      }
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Error(at, fmt::format("unsigned integer \"{}\" for field key \"{}\" exceeds the int64 range", token,
                                     key));
      }
      out_->fields_.push_back(LineField{key, core::Value(static_cast<int64_t>(v))});
      return Status::OK();
    }
    // Floats: digits, at most one '.', an optional exponent. from_chars accepts "inf" and
    // "nan", which InfluxDB rejects, so the first byte after the sign must be a digit or '.'.
    const char* body = first + (first[0] == '-' ? 1 : 0);
    if (body == last || !(IsDigit(*body) || *body == '.')) {
      return Error(at, fmt::format("invalid number \"{}\" for field key \"{}\"", token, key));
    }
    double v = 0;
    auto [ptr, ec] = std::from_chars(first, last, v);
    if (ptr != last || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
      return Error(at, fmt::format("invalid number \"{}\" for field key \"{}\"", token, key));
    }
    if (ec == std::errc::result_out_of_range) {
      // Overflow is an error; underflow rounds towards zero, as Go's ParseFloat does.
      std::string copy(token);
      v = std::strtod(copy.c_str(), nullptr);
      if (std::isinf(v)) {
        return Error(at, fmt::format("float \"{}\" for field key \"{}\" is out of range", token, key));
      }
    }
    out_->fields_.push_back(LineField{key, core::Value(v)});
    return Status::OK();
  }

  // p_ is at the opening quote. Strings may span lines; \" and \\ are the only escapes.
  Status ParseString(std::string_view key) {
    const int open_line = line_;
    const int open_column = static_cast<int>(p_ - line_start_) + 1;
    ++p_;
    const char* start = p_;
    bool escaped = false;
    while (p_ < end_ && *p_ != '"') {
      if (*p_ == '\\' && p_ + 1 < end_ && (p_[1] == '"' || p_[1] == '\\')) {
        escaped = true;
        p_ += 2;
        continue;
      }
      if (*p_ == '\n') {
        ++line_;
        line_start_ = p_ + 1;
      }
      ++p_;
    }
    if (p_ >= end_) {
      return ErrorAt(open_line, open_column, fmt::format("unterminated string value for field key \"{}\"", key));
    }
    std::string value;
    if (!escaped) {
      value.assign(start, p_);
    } else {
      value.reserve(static_cast<size_t>(p_ - start));
      for (const char* q = start; q < p_; ++q) {
        if (*q == '\\' && q + 1 < p_ && (q[1] == '"' || q[1] == '\\')) ++q;
        value.push_back(*q);
      }
    }
    ++p_;  // closing quote
    out_->fields_.push_back(LineField{key, core::Value(std::move(value))});
    return Status::OK();
  }

  Status CheckDuplicateFields(const LinePoint& pt, const char* point_start) {
    const LineField* f = out_->fields_.data() + pt.first_field;
    const uint32_t n = pt.field_count;
    if (n <= kPairwiseDuplicateLimit) {
      for (uint32_t i = 1; i < n; ++i) {
        for (uint32_t j = 0; j < i; ++j) {
          if (f[i].key == f[j].key) return Error(point_start, fmt::format("duplicate field key \"{}\"", f[i].key));
        }
      }
      return Status::OK();
    }
    key_scratch_.clear();
    for (uint32_t i = 0; i < n; ++i) key_scratch_.push_back(f[i].key);
    std::sort(key_scratch_.begin(), key_scratch_.end());
    auto dup = std::adjacent_find(key_scratch_.begin(), key_scratch_.end());
    if (dup != key_scratch_.end()) return Error(point_start, fmt::format("duplicate field key \"{}\"", *dup));
    return Status::OK();
  }

  Status ParseTimestamp(Timestamp* ts) {
    SkipBlanks();
    if (AtLineEnd(p_)) {
      *ts = default_time_;
      return Status::OK();
    }
    const char* start = p_;
    while (p_ < end_ && *p_ != ' ' && *p_ != '\t' && !AtLineEnd(p_)) ++p_;
    std::string_view token(start, static_cast<size_t>(p_ - start));
    int64_t raw = 0;
    auto [ptr, ec] = std::from_chars(start, p_, raw);
    if (ptr != p_ || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
      return Error(start, fmt::format("invalid timestamp \"{}\": expected an integer", token));
    }
    if (ec == std::errc::result_out_of_range || __builtin_mul_overflow(raw, unit_, ts)) {
      return Error(start, fmt::format("timestamp \"{}\" is out of range", token));
    }
    SkipBlanks();
    if (!AtLineEnd(p_)) return Error(p_, "unexpected characters after the timestamp");
    return Status::OK();
  }

  const char* p_;
  const char* const end_;
  const char* line_start_;
  int line_ = 1;
  const Duration unit_;
  Timestamp default_time_ = 0;
  LineBatch* const out_;
  std::vector<std::string_view> key_scratch_;
};

Status ParseLineProtocol(std::string_view body, const LineProtocolOptions& options, LineBatch* out) {
  out->Clear();
  LineProtocolParser parser(body, options, out);
  Status s = parser.Run();
  if (!s.ok()) out->Clear();
  return s;
}

}  // namespace shopfloor::connect
