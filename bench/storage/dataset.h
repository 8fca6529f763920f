// Datasets for the storage benchmark: a stream of records that every system is fed the same.
//
// A record is one line of line protocol: one timestamp and one value per field of a series
// group (a measurement plus a tag set). Each (group, field) pair is one series. Datasets are
// deterministic, so a checker can ask for the values it expects to read back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/types.h"

namespace shopfloor::bench {

struct SeriesGroup {
  std::string measurement;
  std::vector<std::pair<std::string, std::string>> tags;  // sorted by tag key
  std::vector<std::string> fields;
  std::vector<core::ValueType> types;  // one per field
};

// A series: field `field` of group `group`.
struct SeriesRef {
  int group = 0;
  int field = 0;
};

struct Record {
  int group = 0;
  core::Timestamp ts = 0;
  std::vector<core::Value> values;  // one per field of the group, in the group's order
};

class Dataset {
 public:
  virtual ~Dataset() = default;

  // A short label for result tables, e.g. "factory 20 series x 10 min".
  virtual std::string label() const = 0;
  virtual const std::vector<SeriesGroup>& groups() const = 0;
  // Number of values (points) the whole stream carries.
  virtual uint64_t points() const = 0;
  // [first, last] timestamps of the data.
  virtual core::Timestamp first_ts() const = 0;
  virtual core::Timestamp last_ts() const = 0;

  // Restarts the stream.
  virtual void Rewind() = 0;
  // Fills *out with the next record; false at the end.
  virtual bool Next(Record* out) = 0;

  // The samples a store must return for `series` over [from, to), in timestamp order, with
  // duplicates of a timestamp resolved to the last write.
  virtual std::vector<core::Sample> Expected(SeriesRef series, core::Timestamp from,
                                             core::Timestamp to) const = 0;

  // Number of series.
  size_t series_count() const {
    size_t n = 0;
    for (const auto& g : groups()) n += g.fields.size();
    return n;
  }
};

}  // namespace shopfloor::bench
