// The audit trail, /metrics, the OpenAPI document and the health report, and the per-route
// request metrics every answer is counted in.
#include <unordered_map>

#include <fmt/format.h>

#include "auth/audit.h"
#include "core/metrics.h"
#include "ingest/writer.h"
#include "server/api.h"
#include "server/json_body.h"
#include "server/metrics_handler.h"
#include "server/openapi.h"
#include "storage/storage.h"

#ifndef SHOPFLOOR_VERSION
#define SHOPFLOOR_VERSION "0.1.0"
#endif

namespace shopfloor::server {

namespace {

Json AuditJson(const auth::AuditEntry& e) {
  auto parse = [](const std::string& text) -> Json {
    if (text.empty()) return nullptr;
    Json j = Json::parse(text, nullptr, false);
    return j.is_discarded() ? Json(text) : j;
  };
  return {{"seq", e.seq},          {"ts", FormatRfc3339(e.ts)}, {"actor", e.actor},
          {"action", e.action},    {"target", e.target},        {"old", parse(e.old_value)},
          {"new", parse(e.new_value)}, {"result", e.result},    {"remote", e.remote},
          {"hash", e.hash}};
}

}  // namespace

void Api::ObserveRequest(const Route& route, int status, int64_t start_steady) {
  if (http_metrics_ == nullptr) return;
  http_metrics_->Observe(route.pattern, route.method, status,
                         static_cast<double>(clock_->Steady() - start_steady) / 1e9);
}

void Api::AddAdminRoutes() {
  if (services_.metrics != nullptr) {
    auto m = HttpMetrics::Create(services_.metrics);
    if (m.ok()) http_metrics_ = std::move(m).value();
    if (auto family = QueueDepthFamily(services_.metrics); family.ok()) {
      (void)(*family)->SetCallback({"http"}, [this] {
        return static_cast<double>(in_flight_.load(std::memory_order_relaxed));
      });
    }
  }
  router_.Add(Route{
      .method = "GET",
      .pattern = "/api/v1/audit",
      .min_role = auth::Role::kAdmin,
      .tag = "audit",
      .summary = "The audit trail, oldest first, paged by seq",
      .params = {{"from", "query", "string", false, "RFC 3339 or ms since the epoch"},
                 {"to", "query", "string", false, "RFC 3339 or ms since the epoch"},
                 {"actor", "query", "string", false, "exact user/actor"},
                 {"action", "query", "string", false, "prefix, e.g. user. or twin."},
                 {"target", "query", "string", false, "prefix of the target"},
                 {"after", "query", "integer", false, "only entries with seq > after"},
                 {"limit", "query", "integer", false, "at most this many (default 1000, max 10000)"}},
      .response_schema = R"j({"type":"object","properties":{"entries":{"type":"array","items":{"type":"object"}},"next_after":{"type":"integer"}}})j",
      .handler = [this](RouteContext& ctx) -> HttpResponse {
        if (!ctx.principal.AllSites()) return JsonError(403, "the audit trail is plant-wide: it needs an admin for all sites");
        auth::AuditQuery q;
        for (const auto& [name, value] : ctx.params.items()) {
          if (name == "from" || name == "to") {
            auto t = ParseTimeParam(name, value, core::kMillisecond);
            if (!t.ok()) return StatusResponse(t.status());
            (name == "from" ? q.from : q.to) = *t;
          } else if (name == "actor") {
            q.actor = value;
          } else if (name == "action") {
            q.action = value;
          } else if (name == "target") {
            q.target = value;
          } else if (name == "after" || name == "limit") {
            auto n = ParseUintParam(name, value);
            if (!n.ok()) return StatusResponse(n.status());
            if (name == "after") q.after_seq = static_cast<int64_t>(*n);
            else q.limit = std::clamp<uint64_t>(*n, 1, 10000);
          } else if (name != "access_token") {
            return JsonError(400, fmt::format("unknown parameter \"{}\"", name));
          }
        }
        auto entries = services_.audit->Query(q);
        if (!entries.ok()) return StatusResponse(entries.status());
        Json list = Json::array();
        for (const auth::AuditEntry& e : *entries) list.push_back(AuditJson(e));
        Json body = {{"entries", list}};
        body["next_after"] = entries->empty() ? Json(q.after_seq) : Json(entries->back().seq);
        return JsonResponse(body);
      }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/audit/verify",
                    .min_role = auth::Role::kAdmin,
                    .tag = "audit",
                    .summary = "Walk the hash chain of the audit trail",
                    .response_schema = R"j({"type":"object","properties":{"ok":{"type":"boolean"},"entries":{"type":"integer"},"first_bad":{"type":"integer"},"problem":{"type":"string"}}})j",
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      if (!ctx.principal.AllSites()) return JsonError(403, "needs an admin for all sites");
                      auto v = services_.audit->Verify();
                      if (!v.ok()) return StatusResponse(v.status());
                      return JsonResponse({{"ok", v->ok}, {"entries", v->entries}, {"first_bad", v->first_bad},
                                           {"problem", v->problem}});
                    }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/openapi.json",
                    .tag = "health",
                    .summary = "This API's OpenAPI 3 document",
                    .response_schema = R"j({"type":"object"})j",
                    .handler = [this](RouteContext&) -> HttpResponse {
                      HttpResponse r;
                      r.body = BuildOpenApi(router_, SHOPFLOOR_VERSION);
                      return r;
                    }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/metrics",
                    .tag = "health",
                    .summary = "Prometheus metrics (text format 0.0.4)",
                    .response_schema = R"j({"type":"string"})j",
                    .response_content_type = "text/plain",
                    .handler = [this](RouteContext&) -> HttpResponse {
                      if (services_.metrics == nullptr) return JsonError(503, "metrics are not enabled");
                      return MetricsResponse(*services_.metrics);
                    }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/health",
                    .tag = "health",
                    .summary = "What the server holds and how ingest is going",
                    .response_schema = R"j({"type":"object"})j",
                    .handler = [this](RouteContext&) -> HttpResponse {
                      const storage::StorageStats st = storage_->stats();
                      Json body = {{"status", st.corruptions == 0 ? "ok" : "degraded"},
                                   {"version", SHOPFLOOR_VERSION},
                                   {"time", FormatRfc3339(clock_->Now())},
                                   {"storage",
                                    {{"series", st.series},
                                     {"samples_written", st.samples_written},
                                     {"head_bytes", st.head_bytes},
                                     {"blocks", st.blocks},
                                     {"block_bytes", st.block_bytes},
                                     {"wal_bytes", st.wal_bytes},
                                     {"corruptions", st.corruptions}}}};
                      if (services_.writer != nullptr) {
                        body["ingest"] = {{"batches", services_.writer->batches_written()},
                                          {"samples", services_.writer->samples_written()},
                                          {"failed_batches", services_.writer->batches_failed()}};
                      }
                      return JsonResponse(body);
                    }});
}

}  // namespace shopfloor::server
