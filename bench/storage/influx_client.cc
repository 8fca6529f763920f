// TsdbClient for InfluxDB 1.x (InfluxQL over HTTP).
#include <algorithm>
#include <chrono>
#include <map>

#include <fmt/format.h>

#include "bench/storage/http_client.h"
#include "bench/storage/tsdb_client.h"

namespace shopfloor::bench {
namespace {

using core::Result;
using core::Status;
using core::Timestamp;
using core::Value;
using core::ValueType;

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + '"';
}

std::string QuoteString(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + '\'';
}

std::string TagCondition(const SeriesGroup& group) {
  std::string where;
  for (const auto& [key, value] : group.tags) {
    if (!where.empty()) where += " AND ";
    where += QuoteIdent(key) + "=" + QuoteString(value);
  }
  return where;
}

// "measurement\0k\0v\0..." identifies a group in a result table.
std::string GroupKey(std::string_view measurement, const std::vector<std::pair<std::string, std::string>>& tags) {
  std::string key(measurement);
  for (const auto& [k, v] : tags) {
    // InfluxDB returns every GROUP BY * tag key of the measurement; empty values mean absent.
    if (v.empty()) continue;
    key += '\0' + k + '\0' + v;
  }
  return key;
}

std::string Truncate(std::string_view text, size_t max = 300) {
  return std::string(text.size() <= max ? text : text.substr(0, max));
}

bool IsNumeric(ValueType type) { return type == ValueType::kDouble || type == ValueType::kInt64; }

class InfluxClient final : public TsdbClient {
 public:
  InfluxClient(const std::string& host, uint16_t port, std::string db) : http_(host, port), db_(std::move(db)) {}

  Status Ping() override {
    SF_ASSIGN_OR_RETURN(HttpResponse response, http_.Get("/ping"));
    if (response.status != 204) return Status::Unavailable(fmt::format("InfluxDB /ping answered {}", response.status));
    return Status::OK();
  }

  Status Write(std::string_view lines) override {
    SF_ASSIGN_OR_RETURN(HttpResponse response,
                        http_.Post("/write?db=" + UrlEncode(db_) + "&precision=ns", lines, "text/plain"));
    if (response.status != 204) {
      return Status::Internal(fmt::format("InfluxDB /write at {} answered {}: {}", http_.peer(), response.status,
                                          Truncate(response.body)));
    }
    return Status::OK();
  }

  Result<std::vector<core::Sample>> ReadRaw(const SeriesGroup& group, int field, Timestamp from,
                                            Timestamp to) override {
    std::string q = fmt::format("SELECT {} FROM {} WHERE {} AND time >= {} AND time < {}",
                                QuoteIdent(group.fields[field]), QuoteIdent(group.measurement), TagCondition(group),
                                from, to);
    SF_ASSIGN_OR_RETURN(std::vector<InfluxSeries> tables, Query(q));
    std::vector<core::Sample> samples;
    for (const auto& table : tables) {
      for (const auto& row : table.rows) {
        if (row.size() != 2) return Status::InvalidArgument("InfluxDB raw query: expected 2 columns");
        SF_ASSIGN_OR_RETURN(int64_t ts, JsonToInt64(row[0]));
        if (row[1].is_null()) continue;
        SF_ASSIGN_OR_RETURN(Value value, JsonToValue(row[1], group.types[field]));
        samples.push_back(core::Sample{ts, std::move(value), core::Quality::Good()});
      }
    }
    return samples;
  }

  Result<std::vector<std::vector<std::vector<Window>>>> Avg1m(const std::vector<SeriesGroup>& groups, Timestamp from,
                                                              Timestamp to) override {
    // One statement per measurement, all of its numeric fields, every tag set.
    std::map<std::string, std::vector<std::string>> fields_by_measurement;
    for (const auto& g : groups) {
      auto& fields = fields_by_measurement[g.measurement];
      for (size_t f = 0; f < g.fields.size(); ++f) {
        if (!IsNumeric(g.types[f])) continue;
        std::string mean = fmt::format("mean({})", QuoteIdent(g.fields[f]));
        if (std::find(fields.begin(), fields.end(), mean) == fields.end()) fields.push_back(mean);
      }
    }
    std::map<std::string, int> group_index;
    std::vector<std::vector<std::vector<Window>>> out(groups.size());
    for (size_t i = 0; i < groups.size(); ++i) {
      group_index[GroupKey(groups[i].measurement, groups[i].tags)] = static_cast<int>(i);
      out[i].resize(groups[i].fields.size());
    }
    double latency = 0;
    for (const auto& [measurement, means] : fields_by_measurement) {
      if (means.empty()) continue;
      std::string select;
      for (const auto& m : means) {
        if (!select.empty()) select += ',';
        select += m;
      }
      std::string q = fmt::format("SELECT {} FROM {} WHERE time >= {} AND time < {} GROUP BY time(1m), *", select,
                                  QuoteIdent(measurement), from, to);
      SF_ASSIGN_OR_RETURN(std::vector<InfluxSeries> tables, Query(q));
      latency += last_latency_seconds_;
      for (const auto& table : tables) {
        auto it = group_index.find(GroupKey(table.name, table.tags));
        if (it == group_index.end()) continue;
        const SeriesGroup& g = groups[it->second];
        for (size_t c = 1; c < table.columns.size(); ++c) {
          // Columns are named mean, mean_1, ... in SELECT order; map back through `means`.
          const std::string& expr = means[c - 1];
          auto f = std::find_if(g.fields.begin(), g.fields.end(),
                                [&](const std::string& name) { return expr == fmt::format("mean({})", QuoteIdent(name)); });
          if (f == g.fields.end()) continue;
          auto& windows = out[it->second][f - g.fields.begin()];
          for (const auto& row : table.rows) {
            if (row.size() != table.columns.size()) return Status::InvalidArgument("InfluxDB avg: ragged row");
            if (row[c].is_null()) continue;
            SF_ASSIGN_OR_RETURN(int64_t ts, JsonToInt64(row[0]));
            SF_ASSIGN_OR_RETURN(double mean, JsonToDouble(row[c]));
            windows.push_back(Window{ts, mean});
          }
        }
      }
    }
    last_latency_seconds_ = latency;
    return out;
  }

  Result<std::vector<std::vector<std::optional<Value>>>> Latest(const std::vector<SeriesGroup>& groups) override {
    std::vector<std::string> measurements;
    std::map<std::string, int> group_index;
    std::vector<std::vector<std::optional<Value>>> out(groups.size());
    for (size_t i = 0; i < groups.size(); ++i) {
      const auto& m = groups[i].measurement;
      if (std::find(measurements.begin(), measurements.end(), m) == measurements.end()) measurements.push_back(m);
      group_index[GroupKey(m, groups[i].tags)] = static_cast<int>(i);
      out[i].resize(groups[i].fields.size());
    }
    std::string from;
    for (const auto& m : measurements) {
      if (!from.empty()) from += ',';
      from += QuoteIdent(m);
    }
    SF_ASSIGN_OR_RETURN(std::vector<InfluxSeries> tables, Query(fmt::format("SELECT last(*) FROM {} GROUP BY *", from)));
    for (const auto& table : tables) {
      auto it = group_index.find(GroupKey(table.name, table.tags));
      if (it == group_index.end()) continue;
      const SeriesGroup& g = groups[it->second];
      if (table.rows.size() != 1) return Status::InvalidArgument("InfluxDB last(*): expected one row per series");
      for (size_t c = 1; c < table.columns.size(); ++c) {
        const std::string& column = table.columns[c];
        if (column.rfind("last_", 0) != 0) continue;
        auto f = std::find(g.fields.begin(), g.fields.end(), column.substr(5));
        if (f == g.fields.end() || table.rows[0][c].is_null()) continue;
        size_t field = f - g.fields.begin();
        SF_ASSIGN_OR_RETURN(Value value, JsonToValue(table.rows[0][c], g.types[field]));
        out[it->second][field] = std::move(value);
      }
    }
    return out;
  }

 private:
  Result<std::vector<InfluxSeries>> Query(const std::string& influxql) {
    std::string body = "db=" + UrlEncode(db_) + "&epoch=ns&q=" + UrlEncode(influxql);
    auto start = std::chrono::steady_clock::now();
    SF_ASSIGN_OR_RETURN(HttpResponse response, http_.Post("/query", body, "application/x-www-form-urlencoded"));
    last_latency_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (response.status != 200) {
      return Status::Internal(fmt::format("InfluxDB /query answered {} to '{}': {}", response.status,
                                          Truncate(influxql), Truncate(response.body)));
    }
    auto tables = ParseInfluxQueryResponse(response.body);
    if (!tables.ok()) return tables.status().WithPrefix(fmt::format("InfluxDB query '{}'", Truncate(influxql)));
    return tables;
  }

  HttpClient http_;
  std::string db_;
};

}  // namespace

Result<std::vector<InfluxSeries>> ParseInfluxQueryResponse(std::string_view body) {
  SF_ASSIGN_OR_RETURN(JsonValue root, ParseJson(body));
  if (!root.is_object()) return Status::InvalidArgument("InfluxDB response is not a JSON object");
  if (const JsonValue* error = root.Find("error"); error && error->is_string()) {
    return Status::InvalidArgument("InfluxDB error: " + error->text);
  }
  const JsonValue* results = root.Find("results");
  if (!results || !results->is_array() || results->items.size() != 1) {
    return Status::InvalidArgument("InfluxDB response: expected one entry in \"results\"");
  }
  const JsonValue& result = results->items[0];
  if (!result.is_object()) return Status::InvalidArgument("InfluxDB response: result is not an object");
  if (const JsonValue* error = result.Find("error"); error && error->is_string()) {
    return Status::InvalidArgument("InfluxDB statement error: " + error->text);
  }
  std::vector<InfluxSeries> out;
  const JsonValue* series = result.Find("series");
  if (!series) return out;  // no matching data
  if (!series->is_array()) return Status::InvalidArgument("InfluxDB response: \"series\" is not an array");
  for (const JsonValue& s : series->items) {
    if (!s.is_object()) return Status::InvalidArgument("InfluxDB response: series entry is not an object");
    InfluxSeries table;
    if (const JsonValue* name = s.Find("name"); name && name->is_string()) table.name = name->text;
    if (const JsonValue* tags = s.Find("tags")) {
      if (!tags->is_object()) return Status::InvalidArgument("InfluxDB response: \"tags\" is not an object");
      for (const auto& [k, v] : tags->members) {
        if (!v.is_string()) return Status::InvalidArgument("InfluxDB response: tag value is not a string");
        table.tags.emplace_back(k, v.text);
      }
    }
    const JsonValue* columns = s.Find("columns");
    if (!columns || !columns->is_array() || columns->items.empty()) {
      return Status::InvalidArgument("InfluxDB response: series without \"columns\"");
    }
    for (const JsonValue& c : columns->items) {
      if (!c.is_string()) return Status::InvalidArgument("InfluxDB response: column name is not a string");
      table.columns.push_back(c.text);
    }
    if (const JsonValue* values = s.Find("values")) {
      if (!values->is_array()) return Status::InvalidArgument("InfluxDB response: \"values\" is not an array");
      for (const JsonValue& row : values->items) {
        if (!row.is_array() || row.items.size() != table.columns.size()) {
          return Status::InvalidArgument("InfluxDB response: row width differs from the columns");
        }
        table.rows.push_back(row.items);
      }
    }
    out.push_back(std::move(table));
  }
  return out;
}

Result<Value> JsonToValue(const JsonValue& cell, ValueType type) {
  switch (type) {
    case ValueType::kDouble: {
      SF_ASSIGN_OR_RETURN(double d, JsonToDouble(cell));
      return Value(d);
    }
    case ValueType::kInt64: {
      SF_ASSIGN_OR_RETURN(int64_t i, JsonToInt64(cell));
      return Value(i);
    }
    case ValueType::kBool:
      if (cell.kind != JsonValue::Kind::kBool) return Status::InvalidArgument("expected a JSON bool");
      return Value(cell.boolean);
    case ValueType::kString:
      if (!cell.is_string()) return Status::InvalidArgument("expected a JSON string");
      return Value(cell.text);
  }
  return Status::InvalidArgument("unknown value type");
}

std::unique_ptr<TsdbClient> NewInfluxClient(const std::string& host, uint16_t port, const std::string& db) {
  return std::make_unique<InfluxClient>(host, port, db);
}

}  // namespace shopfloor::bench
