// Digital twins (reported, desired, delta, version) and the event log over REST.
#include <fmt/format.h>

#include "ingest/event_log.h"
#include "model/twin.h"
#include "server/api.h"
#include "server/model_json.h"

namespace shopfloor::server {

namespace {

const char* kTwinSchema =
    R"j({"type":"object","properties":{"asset_id":{"type":"integer"},"path":{"type":"string"},"version":{"type":"integer"},"reported":{"type":"object","additionalProperties":{"type":"object","properties":{"value":{},"ts":{"type":"string"},"quality":{"type":"string"}}}},"desired":{"type":"object","additionalProperties":{"type":"object","properties":{"value":{},"by":{"type":"string"},"at":{"type":"string"}}}},"delta":{"type":"object"},"attributes":{"type":"object"}}})j";

std::string QualityText(core::Quality q) {
  if (q.good()) return "good";
  return fmt::format("0x{:08X}", q.opcua_status());
}

Json TwinJson(const model::TwinSnapshot& t) {
  Json reported = Json::object();
  for (const auto& [tag, r] : t.reported) {
    reported[tag] = {{"value", ValueToJson(r.value)}, {"ts", FormatRfc3339(r.ts)}, {"quality", QualityText(r.quality)}};
  }
  Json desired = Json::object();
  for (const auto& [tag, d] : t.desired) {
    desired[tag] = {{"value", ValueToJson(d.value)}, {"by", d.by}, {"at", FormatRfc3339(d.at)}};
  }
  Json delta = Json::object();
  for (const std::string& tag : t.delta) {
    auto it = t.desired.find(tag);
    if (it != t.desired.end()) delta[tag] = ValueToJson(it->second.value);
  }
  return {{"asset_id", t.asset_id}, {"path", t.path},   {"version", t.version},    {"reported", reported},
          {"desired", desired},     {"delta", delta},   {"attributes", t.attributes}};
}

Json DesiredJson(const model::TwinSnapshot& t) {
  Json j = Json::object();
  for (const auto& [tag, d] : t.desired) j[tag] = ValueToJson(d.value);
  return j;
}

Json EventJson(const ingest::StoredEvent& e) {
  Json data = Json::parse(e.event.data_json, nullptr, false);
  if (data.is_discarded()) data = e.event.data_json;
  return {{"id", e.id},
          {"ts", FormatRfc3339(e.event.ts)},
          {"kind", e.event.kind},
          {"asset", e.event.asset_path},
          {"actor", e.event.actor},
          {"message", e.event.message},
          {"data", data}};
}

}  // namespace

void Api::AddTwinRoutes() {
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/assets/{asset}/twin",
                    .tag = "twins",
                    .summary = "The asset's digital twin: reported, desired, delta, version",
                    .response_schema = kTwinSchema,
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      auto asset = ResolveAsset(ctx, ctx.arg(0));
                      if (!asset.ok()) return StatusResponse(asset.status());
                      auto twin = services_.twins->Get(asset->id);
                      if (!twin.ok()) return StatusResponse(twin.status());
                      return JsonResponse(TwinJson(*twin));
                    }});
  router_.Add(Route{
      .method = "PATCH",
      .pattern = "/api/v1/assets/{asset}/twin/desired",
      .min_role = auth::Role::kOperator,
      .tag = "twins",
      .summary = "Request setpoints: {\"tag\": value, ...}; null clears a tag's desired value",
      .request_schema = R"j({"type":"object","additionalProperties":{}})j",
      .response_schema = kTwinSchema,
      .handler = [this](RouteContext& ctx) -> HttpResponse {
        auto asset = ResolveAsset(ctx, ctx.arg(0));
        if (!asset.ok()) return StatusResponse(asset.status());
        if (core::Status s = CheckCanChange(ctx, asset->path); !s.ok()) return StatusResponse(s);
        Json body = Json::parse(ctx.request.body.begin(), ctx.request.body.end(), nullptr, false);
        if (body.is_discarded()) return JsonError(400, "body: not valid JSON");
        if (!body.is_object() || body.empty()) {
          return JsonError(400, "body: must be a JSON object of tag names to values, e.g. {\"setpoint\": 6.5}");
        }
        std::map<std::string, core::Value> set;
        std::vector<std::string> clear;
        for (auto it = body.begin(); it != body.end(); ++it) {
          const model::Tag* tag = nullptr;
          for (const model::Tag& t : asset->tags) {
            if (t.name == it.key()) tag = &t;
          }
          if (tag == nullptr) {
            return JsonError(400, fmt::format("body.{}: asset {} has no such tag", it.key(), asset->path));
          }
          if (it->is_null()) {
            clear.push_back(it.key());
            continue;
          }
          auto value = JsonToValue(*it, tag->type, fmt::format("body.{}", it.key()));
          if (!value.ok()) return StatusResponse(value.status());
          set.emplace(it.key(), std::move(value).value());
        }
        auto before = services_.twins->Get(asset->id);
        const std::string old_json = before.ok() ? DesiredJson(*before).dump() : "";
        // Only null values: clear. Otherwise set, then clear the nulls (if any).
        core::Result<model::TwinSnapshot> after =
            set.empty() ? services_.twins->ClearDesired(ctx.principal.user, asset->id, clear)
                        : services_.twins->SetDesired(ctx.principal.user, asset->id, set);
        if (after.ok() && !set.empty() && !clear.empty()) {
          after = services_.twins->ClearDesired(ctx.principal.user, asset->id, clear);
        }
        Audit(ctx, "twin.desired", asset->path, old_json, after.ok() ? DesiredJson(*after).dump() : body.dump(),
              after.status());
        if (!after.ok()) return StatusResponse(after.status());
        return JsonResponse(TwinJson(*after));
      }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/events",
                    .tag = "events",
                    .summary = "Events (twin and model changes, later alarms), oldest first",
                    .params = {{"asset", "query", "string", false, "an asset path: its whole subtree"},
                               {"kind", "query", "string", false, "kind prefix, e.g. twin."},
                               {"from", "query", "string", false, "RFC 3339 or ms"},
                               {"to", "query", "string", false, "RFC 3339 or ms"},
                               {"after", "query", "integer", false, "paging: events with id > after"},
                               {"limit", "query", "integer", false, "at most (default 1000, max 10000)"}},
                    .response_schema = R"j({"type":"object","properties":{"events":{"type":"array","items":{"type":"object"}}}})j",
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      ingest::EventQuery q;
                      for (const auto& [name, value] : ctx.params.items()) {
                        if (name == "from" || name == "to") {
                          auto t = ParseTimeParam(name, value, core::kMillisecond);
                          if (!t.ok()) return StatusResponse(t.status());
                          (name == "from" ? q.from : q.to) = *t;
                        } else if (name == "asset") {
                          q.asset = value;
                        } else if (name == "kind") {
                          q.kind = value;
                        } else if (name == "after" || name == "limit") {
                          auto n = ParseUintParam(name, value);
                          if (!n.ok()) return StatusResponse(n.status());
                          if (name == "after") q.after_id = static_cast<int64_t>(*n);
                          else q.limit = std::clamp<uint64_t>(*n, 1, 10000);
                        } else if (name != "access_token") {
                          return JsonError(400, fmt::format("unknown parameter \"{}\"", name));
                        }
                      }
                      if (!q.asset.empty() && services_.assets != nullptr) {
                        auto asset = ResolveAsset(ctx, q.asset);
                        if (!asset.ok()) return StatusResponse(asset.status());
                      }
                      auto events = services_.events->Query(q);
                      if (!events.ok()) return StatusResponse(events.status());
                      Json list = Json::array();
                      for (const ingest::StoredEvent& e : *events) {
                        if (!ctx.principal.AllSites() && !ctx.principal.CanAccessSite(SiteOf(e.event.asset_path))) continue;
                        list.push_back(EventJson(e));
                      }
                      return JsonResponse({{"events", list}});
                    }});
}

}  // namespace shopfloor::server
