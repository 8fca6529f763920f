// TsdbClient for Shopfloor's HTTP API (src/server): line protocol on /write, one series per
// request on GET /api/v1/query, newest values from GET /api/v1/latest. Series keys follow docs/ingest-line-protocol.md:
// "<measurement>[,<tag>=<value>...]/<field>", tags sorted by key.
#include <chrono>
#include <map>

#include <fmt/format.h>

#include <cstdlib>

#include "bench/storage/http_client.h"
#include "bench/storage/line_protocol.h"
#include "bench/storage/tsdb_client.h"

namespace shopfloor::bench {
namespace {

using core::Result;
using core::Status;
using core::Timestamp;
using core::Value;
using core::ValueType;

std::string Truncate(std::string_view text, size_t max = 300) {
  return std::string(text.size() <= max ? text : text.substr(0, max));
}

class ShopfloorClient final : public TsdbClient {
 public:
  // The API token in SHOPFLOOR_BENCH_TOKEN (every route but /healthz needs one).
  ShopfloorClient(const std::string& host, uint16_t port) : http_(host, port) {
    if (const char* token = std::getenv("SHOPFLOOR_BENCH_TOKEN"); token != nullptr && *token != '\0') {
      http_.set_authorization(fmt::format("Bearer {}", token));
    }
  }

  Status Ping() override {
    SF_ASSIGN_OR_RETURN(HttpResponse response, http_.Get("/ping"));
    if (response.status != 204) return Status::Unavailable(fmt::format("Shopfloor /ping answered {}", response.status));
    return Status::OK();
  }

  Status Write(std::string_view lines) override {
    SF_ASSIGN_OR_RETURN(HttpResponse response, http_.Post("/write?precision=ns", lines, "text/plain"));
    if (response.status != 204) {
      return Status::Internal(fmt::format("Shopfloor /write at {} answered {}: {}", http_.peer(), response.status,
                                          Truncate(response.body)));
    }
    return Status::OK();
  }

  Result<std::vector<core::Sample>> ReadRaw(const SeriesGroup& group, int field, Timestamp from,
                                            Timestamp to) override {
    SF_ASSIGN_OR_RETURN(JsonValue root,
                        Query(fmt::format("series={}&from={}&to={}&precision=ns", UrlEncode(ShopfloorSeriesKey(group, field)),
                                          from, to)));
    const JsonValue* points = root.Find("points");
    if (!points || !points->is_array()) return Status::InvalidArgument("Shopfloor raw query: no \"points\" array");
    if (const JsonValue* t = root.Find("truncated"); t && t->kind == JsonValue::Kind::kBool && t->boolean) {
      return Status::OutOfRange("Shopfloor raw query: answer truncated by the server's point limit");
    }
    std::vector<core::Sample> samples;
    samples.reserve(points->items.size());
    for (const JsonValue& p : points->items) {
      if (!p.is_array() || p.items.size() < 2) return Status::InvalidArgument("Shopfloor raw query: bad point");
      SF_ASSIGN_OR_RETURN(int64_t ts, JsonToInt64(p.items[0]));
      SF_ASSIGN_OR_RETURN(Value value, JsonToValue(p.items[1], group.types[field]));
      core::Quality quality = core::Quality::Good();
      if (p.items.size() > 2) {
        SF_ASSIGN_OR_RETURN(int64_t code, JsonToInt64(p.items[2]));
        quality = core::Quality::FromOpcUaStatus(static_cast<uint32_t>(code));
      }
      samples.push_back(core::Sample{ts, std::move(value), quality});
    }
    return samples;
  }

  Result<std::vector<std::vector<std::vector<Window>>>> Avg1m(const std::vector<SeriesGroup>& groups, Timestamp from,
                                                              Timestamp to) override {
    // The API answers one series per request; the latency is the sum of the round trips.
    std::vector<std::vector<std::vector<Window>>> out(groups.size());
    double latency = 0;
    for (size_t g = 0; g < groups.size(); ++g) {
      out[g].resize(groups[g].fields.size());
      for (size_t f = 0; f < groups[g].fields.size(); ++f) {
        ValueType type = groups[g].types[f];
        if (type != ValueType::kDouble && type != ValueType::kInt64) continue;
        SF_ASSIGN_OR_RETURN(
            JsonValue root,
            Query(fmt::format("series={}&from={}&to={}&precision=ns&step=1m&agg=avg",
                              UrlEncode(ShopfloorSeriesKey(groups[g], static_cast<int>(f))), from, to)));
        latency += last_latency_seconds_;
        const JsonValue* rows = root.Find("rows");
        if (!rows || !rows->is_array()) return Status::InvalidArgument("Shopfloor aggregate query: no \"rows\" array");
        for (const JsonValue& row : rows->items) {
          if (!row.is_array() || row.items.size() != 2) return Status::InvalidArgument("Shopfloor aggregate: bad row");
          SF_ASSIGN_OR_RETURN(int64_t ts, JsonToInt64(row.items[0]));
          if (row.items[1].is_null()) continue;
          SF_ASSIGN_OR_RETURN(double mean, JsonToDouble(row.items[1]));
          out[g][f].push_back(Window{ts, mean});
        }
      }
    }
    last_latency_seconds_ = latency;
    return out;
  }

  // One request for every series of the store (each dataset gets its own server):
  // GET /api/v1/latest?match=**, answers mapped back by series key.
  Result<std::vector<std::vector<std::optional<Value>>>> Latest(const std::vector<SeriesGroup>& groups) override {
    std::map<std::string, std::pair<size_t, size_t>> index;
    std::vector<std::vector<std::optional<Value>>> out(groups.size());
    for (size_t g = 0; g < groups.size(); ++g) {
      out[g].resize(groups[g].fields.size());
      for (size_t f = 0; f < groups[g].fields.size(); ++f) {
        index[ShopfloorSeriesKey(groups[g], static_cast<int>(f))] = {g, f};
      }
    }
    SF_ASSIGN_OR_RETURN(JsonValue root, Query("match=**&precision=ns", "/api/v1/latest"));
    const JsonValue* series = root.Find("series");
    if (!series || !series->is_array()) return Status::InvalidArgument("Shopfloor latest: no \"series\" array");
    for (const JsonValue& s : series->items) {
      const JsonValue* key = s.Find("key");
      if (!key || !key->is_string()) return Status::InvalidArgument("Shopfloor latest: entry without \"key\"");
      auto it = index.find(key->text);
      const JsonValue* value = s.Find("value");
      if (it == index.end() || !value) continue;
      auto [g, f] = it->second;
      SF_ASSIGN_OR_RETURN(Value v, JsonToValue(*value, groups[g].types[f]));
      out[g][f] = std::move(v);
    }
    return out;
  }

 private:
  Result<JsonValue> Query(const std::string& params, std::string_view path = "/api/v1/query") {
    auto start = std::chrono::steady_clock::now();
    SF_ASSIGN_OR_RETURN(HttpResponse response, http_.Get(std::string(path) + "?" + params));
    last_latency_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (response.status == 404 && path == "/api/v1/latest") {
      return Status::Unimplemented("this Shopfloor build has no GET /api/v1/latest");
    }
    if (response.status != 200) {
      return Status::Internal(fmt::format("Shopfloor {}?{} answered {}: {}", path, Truncate(params),
                                          response.status, Truncate(response.body)));
    }
    auto root = ParseJson(response.body);
    if (!root.ok()) return root.status().WithPrefix(fmt::format("Shopfloor {} answer", path));
    if (!root->is_object()) return Status::InvalidArgument(fmt::format("Shopfloor {} answer is not an object", path));
    return root;
  }

  HttpClient http_;
};

}  // namespace

std::string ShopfloorSeriesKey(const SeriesGroup& group, int field) {
  std::string key = EscapeLineProtocolName(group.measurement, false);
  for (const auto& [k, v] : group.tags) key += ',' + EscapeLineProtocolName(k) + '=' + EscapeLineProtocolName(v);
  return key + '/' + group.fields[field];
}

std::unique_ptr<TsdbClient> NewShopfloorClient(const std::string& host, uint16_t port) {
  return std::make_unique<ShopfloorClient>(host, port);
}

}  // namespace shopfloor::bench
