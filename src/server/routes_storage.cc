// The routes of the historian: InfluxDB-compatible writes, series queries, health.
#include <fmt/format.h>

#include "server/api.h"
#include "server/json_body.h"

namespace shopfloor::server {

namespace {

const char* kSeriesListSchema =
    R"j({"type":"array","items":{"type":"object","properties":{"key":{"type":"string"},"id":{"type":"integer"},"type":{"type":"string"}}}})j";
const char* kQuerySchema =
    R"j({"type":"object","description":"One series: {series,type,points|rows,...}; several (asset=): {series:[...]}"})j";
const char* kLatestSchema =
    R"j({"type":"object","properties":{"series":{"type":"array","items":{"type":"object","properties":{"key":{"type":"string"},"type":{"type":"string"},"ts":{"type":"integer"},"value":{},"quality":{"type":"integer"}}}}}})j";

std::vector<ParamDoc> SelectionParams(bool latest) {
  std::vector<ParamDoc> p = {
      {"series", "query", "string", false, "series key (current asset path + tag); repeatable"},
      {"asset", "query", "string", false, "every tag of this asset and its subtree"},
      {"tag", "query", "string", false, "with asset: only tags of this name; repeatable"},
      {"precision", "query", "string", false, "unit of times in and out: ns, us, ms (default) or s"},
      {"format", "query", "string", false, "json (default) or csv (also Accept: text/csv)"},
  };
  if (latest) p.push_back({"match", "query", "string", false, "glob over series keys ('*', '**', '?')"});
  if (!latest) {
    p.push_back({"from", "query", "string", false, "start (inclusive): RFC 3339 or an integer in precision units"});
    p.push_back({"to", "query", "string", false, "end (exclusive); default now"});
    p.push_back({"step", "query", "string", false, "aggregate window, e.g. 1m"});
    p.push_back({"agg", "query", "string", false, "min,max,sum,count,avg,first,last,stddev,twa"});
    p.push_back({"max_points", "query", "integer", false, "point budget: picks the step when none is given"});
  }
  return p;
}

}  // namespace

void Api::AddStorageRoutes() {
  auto write = [this](RouteContext& ctx) { return HandleWrite(ctx); };
  for (const char* path : {"/write", "/api/v2/write"}) {
    router_.Add(Route{.method = "POST",
                      .pattern = path,
                      .min_role = auth::Role::kEngineer,
                      .tag = "ingest",
                      .summary = "Write InfluxDB line protocol (Telegraf-compatible); 204 once durable",
                      .params = {{"precision", "query", "string", false, "ns, us, ms, s, m or h (default ns)"},
                                 {"db", "query", "string", false, "accepted and ignored"}},
                      .request_schema = R"j({"type":"string","description":"line protocol"})j",
                      .success_status = 204,
                      .response_content_type = "",
                      .handler = write});
  }
  router_.Add(Route{.method = "POST",
                    .pattern = "/query",
                    .min_role = auth::Role::kViewer,
                    .tag = "ingest",
                    .summary = "InfluxDB 1.x compatibility: answers CREATE DATABASE with ok",
                    .params = {{"q", "query", "string", false, "InfluxQL (only CREATE DATABASE)"}},
                    .response_schema = R"j({"type":"object"})j",
                    .handler = [this](RouteContext& ctx) { return HandleInfluxQuery(ctx.request, ctx.params); }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/ping",
                    .min_role = auth::Role::kViewer,
                    .tag = "ingest",
                    .summary = "InfluxDB clients' liveness probe",
                    .success_status = 204,
                    .response_content_type = "",
                    .handler = [](RouteContext&) {
                      HttpResponse r;
                      r.status = 204;
                      return r;
                    }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/healthz",
                    .authenticated = false,
                    .tag = "health",
                    .summary = "Liveness: answers without a token",
                    .response_schema = R"j({"type":"object","properties":{"status":{"type":"string"}}})j",
                    .handler = [](RouteContext&) {
                      HttpResponse r;
                      r.body = R"j({"status":"ok"})j";
                      return r;
                    }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/",
                    .min_role = auth::Role::kViewer,
                    .tag = "health",
                    .summary = "HTML status page",
                    .response_content_type = "text/html",
                    .handler = [this](RouteContext& ctx) { return HandleIndex(ctx.principal); }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/series",
                    .min_role = auth::Role::kViewer,
                    .tag = "series",
                    .summary = "List series (those of the caller's sites)",
                    .params = {{"match", "query", "string", false, "glob over series keys"}},
                    .response_schema = kSeriesListSchema,
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      for (const auto& [name, value] : ctx.params.items()) {
                        if (name != "match" && name != "access_token" && name != "u" && name != "p") {
                          return JsonError(400, fmt::format("unknown parameter \"{}\"", name));
                        }
                      }
                      return HandleSeries(ctx);
                    }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/query",
                    .min_role = auth::Role::kViewer,
                    .tag = "series",
                    .summary = "Raw samples or windowed aggregates of one series or an asset subtree; CSV export",
                    .params = SelectionParams(false),
                    .response_schema = kQuerySchema,
                    .handler = [this](RouteContext& ctx) { return HandleQuery(ctx); }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/latest",
                    .min_role = auth::Role::kViewer,
                    .tag = "series",
                    .summary = "The newest sample of each selected series; CSV export",
                    .params = SelectionParams(true),
                    .response_schema = kLatestSchema,
                    .handler = [this](RouteContext& ctx) { return HandleLatest(ctx); }});
}

}  // namespace shopfloor::server
