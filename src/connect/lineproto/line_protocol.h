// InfluxDB 1.x line protocol: the text format Telegraf and most IIoT gateways speak.
//
//   <measurement>[,<tag_key>=<tag_value>...] <field_key>=<field_value>[,...] [<timestamp>]
//
// The parser follows InfluxDB 1.x (models/points.go) and its documentation:
//   - measurement: a backslash escapes ',' and ' ' (other backslashes are literal);
//   - tag keys, tag values and field keys: a backslash escapes ',', '=' and ' ';
//   - string field values are double-quoted; inside them \" is a quote and \\ a backslash,
//     and they may span newlines;
//   - field values: float (1, -1.5, 1e3, .5), integer (12i), unsigned (12u, must fit in int64
//     here because core::Value has no unsigned type), bool (t T true True TRUE f F false
//     False FALSE) or string ("...");
//   - the timestamp is optional and scaled by the precision; a point without one takes the
//     caller's server time truncated to the precision, as InfluxDB does;
//   - lines starting with '#' (after optional whitespace) are comments, blank lines are
//     skipped and "\r\n" ends a line like "\n".
// Deliberate difference: a field key repeated within one line is an error (InfluxDB keeps
// the last value silently).
//
// A batch is all or nothing: the first bad line stops the parse, the batch is left empty and
// the Status (kInvalidArgument) says "line N: <problem>" with line and column in its context.
//
// Performance: the parsed batch refers to the input bytes (string_views) and reuses its
// vectors across parses, so steady-state parsing allocates only for escaped names and for
// string values longer than the small-string buffer.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace shopfloor::connect {

enum class Precision : uint8_t { kNanoseconds, kMicroseconds, kMilliseconds, kSeconds, kMinutes, kHours };

// Parses InfluxDB's precision names: "ns" or "n", "us" or "u", "ms", "s", "m", "h".
core::Result<Precision> ParsePrecision(std::string_view text);
// Nanoseconds per unit of the precision.
core::Duration PrecisionUnit(Precision precision);

struct LineTag {
  std::string_view key;        // unescaped
  std::string_view value;      // unescaped
  std::string_view raw_key;    // as written, escapes kept
  std::string_view raw_value;  // as written, escapes kept
};

struct LineField {
  std::string_view key;  // unescaped
  core::Value value;
};

struct LinePoint {
  std::string_view measurement;      // unescaped
  std::string_view raw_measurement;  // as written
  uint32_t first_tag = 0;
  uint32_t tag_count = 0;
  uint32_t first_field = 0;
  uint32_t field_count = 0;
  core::Timestamp ts = 0;  // nanoseconds
  int line = 0;            // 1-based line of the point in the body
};

// The result of one parse. Views point into the parsed body (which must outlive the batch)
// or into storage owned by the batch. Reuse one batch per thread to keep allocations away.
class LineBatch {
 public:
  std::span<const LinePoint> points() const { return points_; }
  // Tags sorted by raw key (InfluxDB's series key order).
  std::span<const LineTag> tags(const LinePoint& p) const { return {tags_.data() + p.first_tag, p.tag_count}; }
  std::span<const LineField> fields(const LinePoint& p) const {
    return {fields_.data() + p.first_field, p.field_count};
  }
  size_t total_fields() const { return fields_.size(); }
  bool empty() const { return points_.empty(); }
  void Clear();

  // Appends InfluxDB's series key of the point to *out: the measurement and the sorted tags
  // as written (escapes kept), e.g. "cpu,host=a,region=eu\ west". Append '/' and a field
  // key to get the Shopfloor series key (see SeriesKey()).
  void AppendSeriesKeyPrefix(const LinePoint& p, std::string* out) const;
  // "<measurement>[,<k>=<v>...]/<field>" with the field key unescaped.
  std::string SeriesKey(const LinePoint& p, const LineField& f) const;

 private:
  friend class LineProtocolParser;
  std::vector<LinePoint> points_;
  std::vector<LineTag> tags_;
  std::vector<LineField> fields_;
  std::deque<std::string> unescaped_;  // stable storage for names that contained escapes
};

struct LineProtocolOptions {
  Precision precision = Precision::kNanoseconds;
  // Timestamp (ns) for points that carry none; the caller reads it from core::Clock.
  core::Timestamp default_time = 0;
};

// Parses `body` into *out (cleared first). On error *out is empty and the Status says which
// line and column. Thread-compatible: use one LineBatch per thread.
core::Status ParseLineProtocol(std::string_view body, const LineProtocolOptions& options, LineBatch* out);

}  // namespace shopfloor::connect
