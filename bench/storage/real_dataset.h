// RealDataset: recorded industrial series from /work/shared/data, fed as line protocol.
//
//   NAB realKnownCause  measurement "nab",    tag file=<csv name>,           field value
//   SKAB                measurement "skab",   tag run=<dir>_<csv name>,      one field per sensor
//   C-MAPSS             measurement "cmapss", tag engine=<file>_u<unit>,     setting1..3, s1..s21
//
// NAB and SKAB keep their recorded timestamps (read as UTC); C-MAPSS cycles become seconds
// after kFactoryStart. Smoke size takes one file of each source (five C-MAPSS engines); full
// takes every file. All values are doubles, parsed exactly from the file text.
//
// The parsers are exposed for tests and the fuzz target: bad input returns kInvalidArgument
// naming the file and 1-based line.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/storage/dataset.h"
#include "core/status.h"

namespace shopfloor::bench {

struct RecordTable {
  std::vector<SeriesGroup> groups;
  std::vector<Record> records;
};

// "YYYY-MM-DD HH:MM:SS" (UTC) to a Timestamp; kInvalidArgument if malformed.
core::Result<core::Timestamp> ParseDateTime(std::string_view text);

// NAB: header "timestamp,value", then "<datetime>,<number>" lines. Adds one group.
core::Status ParseNabCsv(std::string_view content, const std::string& name, RecordTable* out);
// SKAB: ';'-separated with a header; the first column is the datetime, "anomaly" and
// "changepoint" label columns are skipped. Adds one group.
core::Status ParseSkabCsv(std::string_view content, const std::string& name, RecordTable* out);
// C-MAPSS: 26 whitespace-separated columns (unit, cycle, 3 settings, 21 sensors). Adds one
// group per engine; only units 1..max_units when max_units > 0. ts = base + cycle seconds.
core::Status ParseCmapss(std::string_view content, const std::string& name, int max_units,
                         core::Timestamp base, RecordTable* out);

class RealDataset final : public Dataset {
 public:
  enum class Size { kSmoke, kFull };

  // Reads the files under data_root (the directory holding nab/, skab/, cmapss/).
  static core::Result<std::unique_ptr<RealDataset>> Load(const std::string& data_root, Size size);

  std::string label() const override;
  const std::vector<SeriesGroup>& groups() const override { return table_.groups; }
  uint64_t points() const override { return points_; }
  core::Timestamp first_ts() const override { return first_ts_; }
  core::Timestamp last_ts() const override { return last_ts_; }
  void Rewind() override { cursor_ = 0; }
  bool Next(Record* out) override;
  std::vector<core::Sample> Expected(SeriesRef series, core::Timestamp from,
                                     core::Timestamp to) const override;

 private:
  explicit RealDataset(RecordTable table, Size size);

  RecordTable table_;
  Size size_;
  std::vector<std::vector<size_t>> records_of_group_;
  uint64_t points_ = 0;
  core::Timestamp first_ts_ = 0;
  core::Timestamp last_ts_ = 0;
  size_t cursor_ = 0;
};

}  // namespace shopfloor::bench
