// GET /api/v1/series, GET /api/v1/query and GET /api/v1/latest.
#include <cmath>

#include <fmt/format.h>

#include "server/api.h"
#include "storage/storage.h"

namespace shopfloor::server {

namespace {

enum class AggColumn : uint8_t { kMin, kMax, kSum, kCount, kAvg, kFirst, kLast, kStddev, kTwa };

struct AggName {
  std::string_view name;
  AggColumn column;
};
constexpr AggName kAggNames[] = {
    {"min", AggColumn::kMin},     {"max", AggColumn::kMax},   {"sum", AggColumn::kSum},
    {"count", AggColumn::kCount}, {"avg", AggColumn::kAvg},   {"first", AggColumn::kFirst},
    {"last", AggColumn::kLast},   {"stddev", AggColumn::kStddev}, {"twa", AggColumn::kTwa},
};

core::Status ParseAggList(std::string_view text, std::vector<AggName>* out) {
  while (true) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    bool found = false;
    for (const AggName& agg : kAggNames) {
      if (agg.name == item) {
        out->push_back(agg);
        found = true;
      }
    }
    if (!found) {
      return core::Status::InvalidArgument(fmt::format(
          "parameter \"agg\": unknown aggregate \"{}\" (expected min, max, sum, count, avg, first, last, "
          "stddev or twa)",
          item));
    }
    if (comma == std::string_view::npos) return core::Status::OK();
    text.remove_prefix(comma + 1);
  }
}

void AppendDouble(double v, std::string* out) {
  if (!std::isfinite(v)) {
    out->append("null");
  } else {
    fmt::format_to(std::back_inserter(*out), "{}", v);
  }
}

void AppendValue(const core::Value& v, std::string* out) {
  switch (v.type()) {
    case core::ValueType::kDouble: AppendDouble(v.as_double(), out); break;
    case core::ValueType::kInt64: fmt::format_to(std::back_inserter(*out), "{}", v.as_int()); break;
    case core::ValueType::kBool: out->append(v.as_bool() ? "true" : "false"); break;
    case core::ValueType::kString: AppendJsonString(v.as_string(), out); break;
  }
}

// Floor division so negative timestamps round down like positive ones.
int64_t ToUnits(core::Timestamp ts, core::Duration unit) {
  int64_t q = ts / unit;
  if ((ts % unit) < 0) --q;
  return q;
}

std::string_view ResolutionName(storage::Resolution r) {
  switch (r) {
    case storage::Resolution::kRaw: return "raw";
    case storage::Resolution::kOneMinute: return "1m";
    case storage::Resolution::kOneHour: return "1h";
  }
  return "raw";
}

HttpResponse BadParam(const core::Status& s) { return JsonError(400, s.message()); }

// The "precision" parameter (default ms): the unit of times in and out.
core::Result<core::Duration> PrecisionUnit(const QueryParams& params) {
  const std::string* p = params.Get("precision");
  if (p == nullptr || *p == "ms") return core::kMillisecond;
  if (*p == "ns") return core::kNanosecond;
  if (*p == "us") return core::kMicrosecond;
  if (*p == "s") return core::kSecond;
  return core::Status::InvalidArgument(fmt::format("parameter \"precision\": \"{}\" is not ns, us, ms or s", *p));
}

}  // namespace

HttpResponse Api::HandleSeries(const QueryParams& params) {
  const std::string* match = params.Get("match");
  std::string glob = match && !match->empty() ? *match : "**";
  std::vector<storage::SeriesInfo> series = storage_->MatchSeries(glob);
  HttpResponse r;
  r.body.push_back('[');
  for (size_t i = 0; i < series.size(); ++i) {
    if (i) r.body.push_back(',');
    r.body += "{\"key\":";
    AppendJsonString(series[i].key, &r.body);
    fmt::format_to(std::back_inserter(r.body), ",\"id\":{},\"type\":\"{}\"}}", core::ToU64(series[i].id),
                   core::ValueTypeName(series[i].type));
  }
  r.body.push_back(']');
  return r;
}

HttpResponse Api::HandleQuery(const QueryParams& params) {
  const std::string* series_key = params.Get("series");
  if (!series_key || series_key->empty()) return JsonError(400, "missing parameter \"series\"");

  auto precision = PrecisionUnit(params);
  if (!precision.ok()) return BadParam(precision.status());
  const core::Duration unit = *precision;
  // Defaults: the last hour up to now.
  core::Timestamp to = clock_->Now() + 1;
  core::Timestamp from = to - core::kHour;
  if (const std::string* v = params.Get("to")) {
    auto t = ParseTimeParam("to", *v, unit);
    if (!t.ok()) return BadParam(t.status());
    to = *t;
  }
  if (const std::string* v = params.Get("from")) {
    auto t = ParseTimeParam("from", *v, unit);
    if (!t.ok()) return BadParam(t.status());
    from = *t;
  } else if (params.Get("to")) {
    from = to - core::kHour;
  }
  if (from >= to) return JsonError(400, "parameter \"from\" must be before \"to\"");
  uint64_t max_points = 0;
  if (const std::string* v = params.Get("max_points")) {
    auto n = ParseUintParam("max_points", *v);
    if (!n.ok()) return BadParam(n.status());
    max_points = *n;
  }
  const uint64_t limit = max_points > 0 ? std::min(max_points, options_.max_query_points) : options_.max_query_points;

  const std::string* step_text = params.Get("step");
  const std::string* agg_text = params.Get("agg");
  std::vector<AggName> aggs;
  if (agg_text) {
    core::Status s = ParseAggList(*agg_text, &aggs);
    if (!s.ok()) return BadParam(s);
  }
  core::Duration step = 0;
  if (step_text) {
    auto st = ParseStepParam("step", *step_text, unit);
    if (!st.ok()) return BadParam(st.status());
    step = *st;
  } else if (agg_text && max_points == 0) {
    return JsonError(400, "parameter \"step\" is required with \"agg\" (or give \"max_points\")");
  }

  auto info = storage_->FindSeries(*series_key);
  if (!info.ok()) {
    if (info.status().IsNotFound()) return JsonError(404, fmt::format("series \"{}\" not found", *series_key));
    return JsonError(503, info.status().message());
  }

  HttpResponse r;
  std::string& out = r.body;
  out += "{\"series\":";
  AppendJsonString(info->key, &out);
  fmt::format_to(std::back_inserter(out), ",\"type\":\"{}\"", core::ValueTypeName(info->type));

  if (!step_text && !agg_text) {
    auto it = storage_->ReadRaw(info->id, from, to);
    if (!it.ok()) return JsonError(503, it.status().message());
    out += ",\"points\":[";
    core::Sample sample;
    uint64_t n = 0;
    bool truncated = false;
    while ((*it)->Next(&sample)) {
      if (n == limit) {
        truncated = true;
        break;
      }
      if (n++) out.push_back(',');
      fmt::format_to(std::back_inserter(out), "[{},", ToUnits(sample.ts, unit));
      AppendValue(sample.value, &out);
      if (!sample.quality.good()) fmt::format_to(std::back_inserter(out), ",{}", sample.quality.opcua_status());
      out.push_back(']');
    }
    if (core::Status s = (*it)->status(); !s.ok()) return JsonError(503, s.message());
    out += "]";
    if (truncated) out += ",\"truncated\":true";
    out += "}";
    return r;
  }

  if (aggs.empty()) aggs.push_back({"avg", AggColumn::kAvg});
  storage::AggregateQuery query;
  query.from = from;
  query.to = to;
  query.step = step;
  query.max_points = step == 0 ? max_points : 0;
  auto it = storage_->Aggregate(info->id, query);
  if (!it.ok()) {
    int status = it.status().IsInvalidArgument() ? 400 : 503;
    return JsonError(status, it.status().message());
  }
  std::string rows;
  storage::AggregateRow row;
  uint64_t n = 0;
  bool truncated = false;
  while ((*it)->Next(&row)) {
    if (n == limit) {
      truncated = true;
      break;
    }
    if (n++) rows.push_back(',');
    fmt::format_to(std::back_inserter(rows), "[{}", ToUnits(row.start, unit));
    for (const AggName& agg : aggs) {
      rows.push_back(',');
      switch (agg.column) {
        case AggColumn::kMin: AppendDouble(row.min, &rows); break;
        case AggColumn::kMax: AppendDouble(row.max, &rows); break;
        case AggColumn::kSum: AppendDouble(row.sum, &rows); break;
        case AggColumn::kCount: fmt::format_to(std::back_inserter(rows), "{}", row.count); break;
        case AggColumn::kAvg: AppendDouble(row.avg, &rows); break;
        case AggColumn::kFirst: AppendDouble(row.first, &rows); break;
        case AggColumn::kLast: AppendDouble(row.last, &rows); break;
        case AggColumn::kStddev: AppendDouble(row.stddev, &rows); break;
        case AggColumn::kTwa: AppendDouble(row.twa, &rows); break;
      }
    }
    rows.push_back(']');
  }
  if (core::Status s = (*it)->status(); !s.ok()) return JsonError(503, s.message());
  if (step > 0) {
    out += ",\"step\":";
    AppendDouble(static_cast<double>(step) / static_cast<double>(unit), &out);
  } else {
    out += ",\"step\":null";
  }
  fmt::format_to(std::back_inserter(out), ",\"resolution\":\"{}\",\"columns\":[\"ts\"",
                 ResolutionName((*it)->resolution()));
  for (const AggName& agg : aggs) fmt::format_to(std::back_inserter(out), ",\"{}\"", agg.name);
  out += "],\"rows\":[";
  out += rows;
  out += "]";
  if (truncated) out += ",\"truncated\":true";
  out += "}";
  return r;
}

HttpResponse Api::HandleLatest(const QueryParams& params) {
  auto precision = PrecisionUnit(params);
  if (!precision.ok()) return BadParam(precision.status());
  const core::Duration unit = *precision;
  // Series by key (repeatable "series=") and/or by glob ("match=").
  std::vector<storage::SeriesInfo> series;
  for (const auto& [name, value] : params.items()) {
    if (name == "series") {
      auto found = storage_->FindSeries(value);
      if (!found.ok()) return JsonError(404, found.status().message());
      series.push_back(*found);
    } else if (name == "match") {
      std::vector<storage::SeriesInfo> matched = storage_->MatchSeries(value.empty() ? "**" : value);
      series.insert(series.end(), matched.begin(), matched.end());
    } else if (name != "precision") {
      return JsonError(400, fmt::format("unknown parameter \"{}\" (expected series, match or precision)", name));
    }
  }
  if (series.empty() && !params.Get("match")) {
    return JsonError(400, "missing parameter \"series\" or \"match\"");
  }
  std::vector<core::SeriesId> ids;
  ids.reserve(series.size());
  for (const auto& s : series) ids.push_back(s.id);
  std::vector<std::optional<core::Sample>> latest = storage_->Latest(ids);
  HttpResponse r;
  r.body = "{\"series\":[";
  for (size_t i = 0; i < series.size(); ++i) {
    if (i) r.body.push_back(',');
    r.body += "{\"key\":";
    AppendJsonString(series[i].key, &r.body);
    fmt::format_to(std::back_inserter(r.body), ",\"type\":\"{}\"", core::ValueTypeName(series[i].type));
    if (latest[i]) {
      fmt::format_to(std::back_inserter(r.body), ",\"ts\":{},\"value\":", ToUnits(latest[i]->ts, unit));
      AppendValue(latest[i]->value, &r.body);
      if (!latest[i]->quality.good()) {
        fmt::format_to(std::back_inserter(r.body), ",\"quality\":{}", latest[i]->quality.opcua_status());
      }
    }
    r.body.push_back('}');
  }
  r.body += "]}";
  return r;
}

}  // namespace shopfloor::server
