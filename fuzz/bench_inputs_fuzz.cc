// Fuzz target for the storage benchmark's parsers of outside bytes: the JSON reader and
// InfluxDB /query answers (network), and the NAB, SKAB and C-MAPSS file parsers (data files).
// The first byte picks the parser; the rest is its input. Each must return a Status, never
// crash, and a successful parse must be internally consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bench/storage/json_reader.h"
#include "bench/storage/real_dataset.h"
#include "bench/storage/tsdb_client.h"

using namespace shopfloor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  bench::RecordTable table;
  core::Status status;
  switch (data[0] % 6) {
    case 0: {
      auto json = bench::ParseJson(input);
      if (json.ok() && json->is_number()) {
        (void)bench::JsonToDouble(*json);
        (void)bench::JsonToInt64(*json);
      }
      return 0;
    }
    case 1: {
      auto tables = bench::ParseInfluxQueryResponse(input);
      if (!tables.ok()) return 0;
      for (const auto& t : *tables) {
        for (const auto& row : t.rows) {
          if (row.size() != t.columns.size()) std::abort();
          for (const auto& cell : row) (void)bench::JsonToValue(cell, core::ValueType::kDouble);
        }
      }
      return 0;
    }
    case 2: status = bench::ParseNabCsv(input, "fuzz", &table); break;
    case 3: status = bench::ParseSkabCsv(input, "fuzz", &table); break;
    case 4: status = bench::ParseCmapss(input, "fuzz", 3, 0, &table); break;
    case 5: (void)bench::ParseDateTime(input); return 0;
  }
  if (!status.ok()) {
    if (!table.groups.empty() || !table.records.empty()) std::abort();  // all or nothing
    return 0;
  }
  for (const auto& record : table.records) {
    if (record.group < 0 || static_cast<size_t>(record.group) >= table.groups.size()) std::abort();
    if (record.values.size() != table.groups[record.group].fields.size()) std::abort();
  }
  return 0;
}
