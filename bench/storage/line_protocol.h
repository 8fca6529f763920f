// LineProtocolWriter: formats dataset records as InfluxDB line protocol.
//
//   machine,line=L00,machine=M0000 temp_motor=21.3,part_count=1042i,running=true 1704326400000000000
//
// Doubles are written in their shortest round-trip form (std::to_chars), so a store that
// parses them correctly gets back the identical bits; ints get the "i" suffix.
#pragma once

#include <string>
#include <vector>

#include "bench/storage/dataset.h"

namespace shopfloor::bench {

class LineProtocolWriter {
 public:
  // groups must outlive the writer.
  explicit LineProtocolWriter(const std::vector<SeriesGroup>& groups);

  // Appends one line (ending in '\n') for record to *out.
  void Append(const Record& record, std::string* out) const;

 private:
  std::vector<std::string> prefixes_;                 // "measurement,tag=value " per group
  std::vector<std::vector<std::string>> field_keys_;  // "field=" per group and field
};

// Shortest text that reads back as exactly d ("21.3", "-0", "1e+21").
std::string FormatDouble(double d);
// Escapes ',', '=' and ' ' (and '\\') for tag keys, tag values and field keys; for
// measurements `escape_equals` is false.
std::string EscapeLineProtocolName(std::string_view name, bool escape_equals = true);

}  // namespace shopfloor::bench
