// TsdbClient: what the storage benchmark needs from a system under test, over HTTP.
//
// Both systems are fed the same line protocol by the same loader; each implementation maps
// the benchmark's queries onto its own query API (InfluxQL over /query, Shopfloor's
// /api/v1/query). Every query method records the wall time of its HTTP round trips (sending
// the request to having read the whole response, without client-side parsing) in
// last_latency_seconds().
//
// Not thread-safe: one client per thread (each holds one keep-alive connection).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/storage/dataset.h"
#include "bench/storage/json_reader.h"
#include "core/status.h"

namespace shopfloor::bench {

class TsdbClient {
 public:
  virtual ~TsdbClient() = default;

  // OK when the server answers its health check.
  virtual core::Status Ping() = 0;
  // Posts one batch of line protocol; OK only when the server acknowledged it.
  virtual core::Status Write(std::string_view lines) = 0;
  // Samples of one series with from <= ts < to, in timestamp order.
  virtual core::Result<std::vector<core::Sample>> ReadRaw(const SeriesGroup& group, int field,
                                                          core::Timestamp from, core::Timestamp to) = 0;
  // 1-minute means over [from, to) of every numeric (double, int64) series of the groups.
  // Returns, per group and field (group-major; empty inner vectors for bool/string fields),
  // the (window start, mean) rows.
  struct Window {
    core::Timestamp start = 0;
    double mean = 0;
  };
  virtual core::Result<std::vector<std::vector<std::vector<Window>>>> Avg1m(
      const std::vector<SeriesGroup>& groups, core::Timestamp from, core::Timestamp to) = 0;
  // The newest value of every series of the groups (group-major, field order), nullopt where
  // the store has none. kUnimplemented when the system has no API for it.
  virtual core::Result<std::vector<std::vector<std::optional<core::Value>>>> Latest(
      const std::vector<SeriesGroup>& groups) = 0;

  double last_latency_seconds() const { return last_latency_seconds_; }

 protected:
  double last_latency_seconds_ = 0;
};

// InfluxDB 1.x: writes to /write?db=<db>&precision=ns, queries InfluxQL on /query.
std::unique_ptr<TsdbClient> NewInfluxClient(const std::string& host, uint16_t port, const std::string& db);
// Shopfloor: writes to /write, queries /api/v1/query.
std::unique_ptr<TsdbClient> NewShopfloorClient(const std::string& host, uint16_t port);

// Shopfloor's series key for a line-protocol series: "<measurement>[,<k>=<v>...]/<field>",
// names escaped as in line protocol, tags sorted by key.
std::string ShopfloorSeriesKey(const SeriesGroup& group, int field);

// One result table of an InfluxDB /query response.
struct InfluxSeries {
  std::string name;
  std::vector<std::pair<std::string, std::string>> tags;  // as returned (sorted by key)
  std::vector<std::string> columns;
  std::vector<std::vector<JsonValue>> rows;
};
// Parses an InfluxDB 1.x /query JSON response with one statement; a statement error or a
// malformed document is kInvalidArgument carrying InfluxDB's message.
core::Result<std::vector<InfluxSeries>> ParseInfluxQueryResponse(std::string_view body);

// Converts a JSON result cell to a Value of the expected type, exactly (numbers from their
// text); kInvalidArgument if the cell does not hold that type.
core::Result<core::Value> JsonToValue(const JsonValue& cell, core::ValueType type);

}  // namespace shopfloor::bench
