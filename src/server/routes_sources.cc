// Data source connectors over REST: /api/v1/sources (state, last error, counters).
#include "server/api.h"
#include "server/json_body.h"

namespace shopfloor::server {

namespace {

const char* kSourcesSchema =
    R"j({"type":"object","properties":{"sources":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"},"protocol":{"type":"string"},"endpoint":{"type":"string"},"state":{"type":"string","enum":["connected","connecting","restarting","idle","error"]},"tags":{"type":"integer"},"last_error":{"type":"string"},"last_error_at":{"type":["string","null"]},"connects":{"type":"integer"},"connection_losses":{"type":"integer"},"failed_attempts":{"type":"integer"},"samples":{"type":"integer"},"restamped":{"type":"integer"},"restarts":{"type":"integer"},"setpoints":{"type":"object","properties":{"ok":{"type":"integer"},"failed":{"type":"integer"},"unknown":{"type":"integer"}}}}}}}})j";

Json SourceJson(const SourceStatus& s) {
  return {{"name", s.name},
          {"protocol", s.protocol},
          {"endpoint", s.endpoint},
          {"state", s.state},
          {"tags", s.tags},
          {"last_error", s.last_error},
          {"last_error_at", s.last_error_at == 0 ? Json(nullptr) : Json(FormatRfc3339(s.last_error_at))},
          {"connects", s.connects},
          {"connection_losses", s.connection_losses},
          {"failed_attempts", s.failed_attempts},
          {"samples", s.samples},
          {"restamped", s.restamped},
          {"restarts", s.restarts},
          {"setpoints", {{"ok", s.setpoints_ok}, {"failed", s.setpoints_failed}, {"unknown", s.setpoints_unknown}}}};
}

}  // namespace

void Api::AddSourceRoutes() {
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/sources",
                    .min_role = auth::Role::kEngineer,
                    .tag = "sources",
                    .summary = "Data source connectors: state, last error and counters (since the server started)",
                    .response_schema = kSourcesSchema,
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      if (!ctx.principal.AllSites()) {
                        return JsonError(403, "data sources are plant-wide: they need a caller for all sites");
                      }
                      Json list = Json::array();
                      for (const SourceStatus& s : services_.sources()) list.push_back(SourceJson(s));
                      return JsonResponse({{"sources", list}});
                    }});
}

}  // namespace shopfloor::server
