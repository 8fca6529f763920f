// GET /api/v1/series, GET /api/v1/query and GET /api/v1/latest.
#include <cmath>

#include <fmt/format.h>

#include "server/api.h"
#include "server/csv.h"
#include "server/json_body.h"
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

void AppendAgg(AggColumn column, const storage::AggregateRow& row, std::string* out) {
  switch (column) {
    case AggColumn::kMin: AppendDouble(row.min, out); break;
    case AggColumn::kMax: AppendDouble(row.max, out); break;
    case AggColumn::kSum: AppendDouble(row.sum, out); break;
    case AggColumn::kCount: fmt::format_to(std::back_inserter(*out), "{}", row.count); break;
    case AggColumn::kAvg: AppendDouble(row.avg, out); break;
    case AggColumn::kFirst: AppendDouble(row.first, out); break;
    case AggColumn::kLast: AppendDouble(row.last, out); break;
    case AggColumn::kStddev: AppendDouble(row.stddev, out); break;
    case AggColumn::kTwa: AppendDouble(row.twa, out); break;
  }
}

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


namespace {

// Reads times as the "precision" parameter says, writes them the same way (JSON) or as
// RFC 3339 (CSV).
struct Output {
  bool csv = false;
  core::Duration unit = core::kMillisecond;
};

core::Result<Output> OutputFor(const RouteContext& ctx) {
  Output out;
  SF_ASSIGN_OR_RETURN(out.unit, PrecisionUnit(ctx.params));
  SF_ASSIGN_OR_RETURN(out.csv, WantsCsv(ctx.request, ctx.params));
  return out;
}

void AppendCsvValue(const core::Value& v, std::string* out) {
  switch (v.type()) {
    case core::ValueType::kDouble: {
      double d = v.as_double();
      if (std::isfinite(d)) fmt::format_to(std::back_inserter(*out), "{}", d);
      break;
    }
    case core::ValueType::kInt64: fmt::format_to(std::back_inserter(*out), "{}", v.as_int()); break;
    case core::ValueType::kBool: out->append(v.as_bool() ? "true" : "false"); break;
    case core::ValueType::kString: AppendCsvField(v.as_string(), out); break;
  }
}

}  // namespace

core::Result<std::vector<Api::Selected>> Api::SelectSeries(const RouteContext& ctx, bool allow_match) {
  std::vector<Selected> out;
  std::vector<std::string> tags = ctx.params.GetAll("tag");
  bool any = false;
  for (const auto& [name, value] : ctx.params.items()) {
    if (name == "series") {
      any = true;
      if (!CanAccessKey(ctx.principal, value)) {
        return core::Status::PermissionDenied(
            fmt::format("series \"{}\" is outside the sites of {}", value, ctx.principal.user));
      }
      const std::string stored = StoredKeyFor(value);
      auto found = storage_->FindSeries(stored);
      if (!found.ok()) {
        if (found.status().IsNotFound()) return core::Status::NotFound(fmt::format("series \"{}\" not found", value));
        return found.status();
      }
      out.push_back(Selected{value, std::move(found).value(), true});
    } else if (name == "match" && allow_match) {
      any = true;
      for (storage::SeriesInfo& info : storage_->MatchSeries(value.empty() ? "**" : value)) {
        if (!CanAccessKey(ctx.principal, info.key)) continue;
        std::string key = info.key;
        out.push_back(Selected{std::move(key), std::move(info), true});
      }
    } else if (name == "asset") {
      any = true;
      SF_ASSIGN_OR_RETURN(std::vector<AssetSeries> keys, AssetSeriesKeys(ctx.principal, value, tags));
      for (AssetSeries& k : keys) {
        Selected sel;
        sel.key = std::move(k.current_key);
        auto found = storage_->FindSeries(k.stored_key);
        if (found.ok()) {
          sel.info = std::move(found).value();
          sel.exists = true;
        } else {
          sel.info.key = k.stored_key;
          sel.info.type = k.type;
        }
        out.push_back(std::move(sel));
      }
    }
  }
  if (!any) {
    return core::Status::InvalidArgument(allow_match ? "missing parameter \"series\", \"asset\" or \"match\""
                                                     : "missing parameter \"series\" or \"asset\"");
  }
  return out;
}

HttpResponse Api::HandleSeries(const RouteContext& ctx) {
  const std::string* match = ctx.params.Get("match");
  std::string glob = match && !match->empty() ? *match : "**";
  std::vector<storage::SeriesInfo> series = storage_->MatchSeries(glob);
  HttpResponse r;
  r.body.push_back('[');
  size_t n = 0;
  for (const storage::SeriesInfo& info : series) {
    if (!CanAccessKey(ctx.principal, info.key)) continue;
    if (n++) r.body.push_back(',');
    r.body += "{\"key\":";
    AppendJsonString(info.key, &r.body);
    fmt::format_to(std::back_inserter(r.body), ",\"id\":{},\"type\":\"{}\"}}", core::ToU64(info.id),
                   core::ValueTypeName(info.type));
  }
  r.body.push_back(']');
  return r;
}

HttpResponse Api::HandleQuery(const RouteContext& ctx) {
  const QueryParams& params = ctx.params;
  for (const auto& [name, value] : params.items()) {
    static constexpr std::string_view kKnown[] = {"series", "asset", "tag", "from", "to", "step", "agg",
                                                  "max_points", "precision", "format", "access_token"};
    if (std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown)) {
      return JsonError(400, fmt::format("unknown parameter \"{}\"", name));
    }
  }
  auto output = OutputFor(ctx);
  if (!output.ok()) return BadParam(output.status());
  const core::Duration unit = output->unit;
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
  const bool raw = !step_text && !agg_text;
  if (aggs.empty()) aggs.push_back({"avg", AggColumn::kAvg});

  auto selected = SelectSeries(ctx, /*allow_match=*/false);
  if (!selected.ok()) return StatusResponse(selected.status());
  const bool single = params.Get("asset") == nullptr && selected->size() == 1;

  HttpResponse r;
  std::string& out = r.body;
  if (output->csv) {
    r.content_type = "text/csv; charset=utf-8";
    r.content_disposition = "attachment; filename=\"query.csv\"";
    if (raw) {
      out = "series,time,value,quality\r\n";
    } else {
      out = "series,time";
      for (const AggName& agg : aggs) fmt::format_to(std::back_inserter(out), ",{}", agg.name);
      out += "\r\n";
    }
  } else if (!single) {
    out = "{\"series\":[";
  }
  uint64_t total = 0;
  bool truncated = false;
  size_t emitted = 0;
  for (const Selected& sel : *selected) {
    if (!sel.exists) continue;
    const storage::SeriesInfo& info = sel.info;
    std::string body;  // JSON: this series' object
    if (!output->csv) {
      body += "{\"series\":";
      AppendJsonString(sel.key, &body);
      fmt::format_to(std::back_inserter(body), ",\"type\":\"{}\"", core::ValueTypeName(info.type));
    }
    if (raw) {
      auto it = storage_->ReadRaw(info.id, from, to);
      if (!it.ok()) return JsonError(503, it.status().message());
      if (!output->csv) body += ",\"points\":[";
      core::Sample sample;
      uint64_t n = 0;
      while ((*it)->Next(&sample)) {
        if (total == limit) {
          truncated = true;
          break;
        }
        ++total;
        if (output->csv) {
          AppendCsvField(sel.key, &out);
          out += "," + FormatRfc3339(sample.ts) + ",";
          AppendCsvValue(sample.value, &out);
          fmt::format_to(std::back_inserter(out), ",{}\r\n", sample.quality.good() ? "good" : fmt::format("0x{:08X}", sample.quality.opcua_status()));
          continue;
        }
        if (n++) body.push_back(',');
        fmt::format_to(std::back_inserter(body), "[{},", ToUnits(sample.ts, unit));
        AppendValue(sample.value, &body);
        if (!sample.quality.good()) fmt::format_to(std::back_inserter(body), ",{}", sample.quality.opcua_status());
        body.push_back(']');
      }
      if (core::Status s = (*it)->status(); !s.ok()) return JsonError(503, s.message());
      if (!output->csv) {
        body += "]";
        if (truncated) body += ",\"truncated\":true";
      }
    } else {
      if (info.type == core::ValueType::kString) {
        if (single) return JsonError(400, fmt::format("series \"{}\" holds strings: aggregates need numbers", sel.key));
        continue;
      }
      storage::AggregateQuery query;
      query.from = from;
      query.to = to;
      query.step = step;
      query.max_points = step == 0 ? max_points : 0;
      auto it = storage_->Aggregate(info.id, query);
      if (!it.ok()) {
        int status = it.status().IsInvalidArgument() ? 400 : 503;
        return JsonError(status, it.status().message());
      }
      std::string rows;
      storage::AggregateRow row;
      uint64_t n = 0;
      while ((*it)->Next(&row)) {
        if (total == limit) {
          truncated = true;
          break;
        }
        ++total;
        if (output->csv) {
          AppendCsvField(sel.key, &out);
          out += "," + FormatRfc3339(row.start);
          for (const AggName& agg : aggs) {
            out.push_back(',');
            AppendAgg(agg.column, row, &out);
          }
          out += "\r\n";
          continue;
        }
        if (n++) rows.push_back(',');
        fmt::format_to(std::back_inserter(rows), "[{}", ToUnits(row.start, unit));
        for (const AggName& agg : aggs) {
          rows.push_back(',');
          AppendAgg(agg.column, row, &rows);
        }
        rows.push_back(']');
      }
      if (core::Status s = (*it)->status(); !s.ok()) return JsonError(503, s.message());
      if (!output->csv) {
        if (step > 0) {
          body += ",\"step\":";
          AppendDouble(static_cast<double>(step) / static_cast<double>(unit), &body);
        } else {
          body += ",\"step\":null";
        }
        fmt::format_to(std::back_inserter(body), ",\"resolution\":\"{}\",\"columns\":[\"ts\"",
                       ResolutionName((*it)->resolution()));
        for (const AggName& agg : aggs) fmt::format_to(std::back_inserter(body), ",\"{}\"", agg.name);
        body += "],\"rows\":[";
        body += rows;
        body += "]";
        if (truncated) body += ",\"truncated\":true";
      }
    }
    if (!output->csv) {
      body += "}";
      if (single) return HttpResponse{.body = std::move(body)};
      if (emitted++) out.push_back(',');
      out += body;
    }
    if (truncated) break;
  }
  if (!output->csv) {
    out += "]";
    if (truncated) out += ",\"truncated\":true";
    out += "}";
  }
  return r;
}

HttpResponse Api::HandleLatest(const RouteContext& ctx) {
  for (const auto& [name, value] : ctx.params.items()) {
    static constexpr std::string_view kKnown[] = {"series", "asset", "tag", "match", "precision", "format", "access_token"};
    if (std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown)) {
      return JsonError(400, fmt::format("unknown parameter \"{}\" (expected series, asset, tag, match, precision or format)", name));
    }
  }
  auto output = OutputFor(ctx);
  if (!output.ok()) return BadParam(output.status());
  const core::Duration unit = output->unit;
  auto selected = SelectSeries(ctx, /*allow_match=*/true);
  if (!selected.ok()) return StatusResponse(selected.status());
  std::vector<core::SeriesId> ids;
  std::vector<size_t> index;  // selected position -> ids position, or npos
  for (const Selected& sel : *selected) {
    index.push_back(sel.exists ? ids.size() : std::string::npos);
    if (sel.exists) ids.push_back(sel.info.id);
  }
  std::vector<std::optional<core::Sample>> latest = storage_->Latest(ids);
  HttpResponse r;
  if (output->csv) {
    r.content_type = "text/csv; charset=utf-8";
    r.content_disposition = "attachment; filename=\"latest.csv\"";
    r.body = "series,type,time,value,quality\r\n";
    for (size_t i = 0; i < selected->size(); ++i) {
      const Selected& sel = (*selected)[i];
      AppendCsvField(sel.key, &r.body);
      fmt::format_to(std::back_inserter(r.body), ",{},", core::ValueTypeName(sel.info.type));
      const std::optional<core::Sample>* s = index[i] == std::string::npos ? nullptr : &latest[index[i]];
      if (s && *s) {
        r.body += FormatRfc3339((*s)->ts) + ",";
        AppendCsvValue((*s)->value, &r.body);
        r.body += (*s)->quality.good() ? ",good" : fmt::format(",0x{:08X}", (*s)->quality.opcua_status());
      } else {
        r.body += ",,";
      }
      r.body += "\r\n";
    }
    return r;
  }
  r.body = "{\"series\":[";
  for (size_t i = 0; i < selected->size(); ++i) {
    const Selected& sel = (*selected)[i];
    if (i) r.body.push_back(',');
    r.body += "{\"key\":";
    AppendJsonString(sel.key, &r.body);
    fmt::format_to(std::back_inserter(r.body), ",\"type\":\"{}\"", core::ValueTypeName(sel.info.type));
    const std::optional<core::Sample>* s = index[i] == std::string::npos ? nullptr : &latest[index[i]];
    if (s && *s) {
      fmt::format_to(std::back_inserter(r.body), ",\"ts\":{},\"value\":", ToUnits((*s)->ts, unit));
      AppendValue((*s)->value, &r.body);
      if (!(*s)->quality.good()) {
        fmt::format_to(std::back_inserter(r.body), ",\"quality\":{}", (*s)->quality.opcua_status());
      }
    }
    r.body.push_back('}');
  }
  r.body += "]}";
  return r;
}

}  // namespace shopfloor::server
