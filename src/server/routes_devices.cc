// MQTT device identities (auth/devices.h): list, add, change, rotate the secret, remove.
// Engineers and above, on the sites they may access (the site is the asset path's second
// level); the secret is in the answer of add and rotate only. Every change is audited by
// the DeviceStore with the caller as actor.
#include <fmt/format.h>

#include "auth/devices.h"
#include "model/asset_store.h"
#include "server/api.h"
#include "server/json_body.h"

namespace shopfloor::server {

namespace {

const char* kDeviceSchema =
    R"j({"type":"object","properties":{"name":{"type":"string"},"asset":{"type":"string"},"enabled":{"type":"boolean"},"may_provision":{"type":"boolean"},"command_topic":{"type":"string"},"created":{"type":"string"},"rotated":{"type":"string"},"secret":{"type":"string","description":"only in the answers of add and rotate: shown once"}}})j";

Json DeviceJson(const auth::DeviceInfo& d) {
  return {{"name", d.name},
          {"asset", d.asset_path},
          {"enabled", d.enabled},
          {"may_provision", d.may_provision},
          {"command_topic", d.asset_path + "/$cmd/+"},
          {"created", FormatRfc3339(d.created)},
          {"rotated", FormatRfc3339(d.rotated)}};
}

std::string_view SiteOf(std::string_view asset_path) {
  const size_t first = asset_path.find('/');
  if (first == std::string_view::npos) return {};
  std::string_view rest = asset_path.substr(first + 1);
  return rest.substr(0, rest.find('/'));
}

std::optional<HttpResponse> CheckSite(const auth::Principal& p, std::string_view asset_path) {
  if (p.CanAccessSite(SiteOf(asset_path))) return std::nullopt;
  return JsonError(403, fmt::format("{} may not manage devices of \"{}\": not one of their sites", p.user, asset_path));
}

}  // namespace

void Api::AddDeviceRoutes() {
  auto available = [this]() -> std::optional<HttpResponse> {
    if (services_.devices == nullptr) return JsonError(503, "device identities are not configured");
    return std::nullopt;
  };
  // The device, when it exists and the caller may manage it.
  auto owned = [this](RouteContext& ctx) -> core::Result<auth::DeviceInfo> {
    SF_ASSIGN_OR_RETURN(auth::DeviceInfo d, services_.devices->Get(ctx.arg(0)));
    if (!ctx.principal.CanAccessSite(SiteOf(d.asset_path))) {
      return core::Status::PermissionDenied(
          fmt::format("{} may not manage device \"{}\": its asset is not on one of their sites", ctx.principal.user,
                      d.name));
    }
    return d;
  };
  auto asset_exists = [this](std::string_view path) -> core::Status {
    SF_RETURN_IF_ERROR(auth::DeviceStore::ValidateAssetPath(path));
    if (services_.assets != nullptr && !services_.assets->FindAsset(path).ok()) {
      return core::Status::InvalidArgument(fmt::format("body.asset: the model has no asset \"{}\"", path));
    }
    return core::Status::OK();
  };

  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/devices",
                    .min_role = auth::Role::kEngineer,
                    .tag = "devices",
                    .summary = "MQTT devices on the caller's sites (never their secrets)",
                    .response_schema = fmt::format(R"j({{"type":"object","properties":{{"devices":{{"type":"array","items":{}}}}}}})j", kDeviceSchema),
                    .handler = [this, available](RouteContext& ctx) -> HttpResponse {
                      if (auto r = available()) return *r;
                      Json list = Json::array();
                      for (const auth::DeviceInfo& d : services_.devices->List()) {
                        if (ctx.principal.CanAccessSite(SiteOf(d.asset_path))) list.push_back(DeviceJson(d));
                      }
                      return JsonResponse({{"devices", list}});
                    }});
  router_.Add(Route{
      .method = "POST",
      .pattern = "/api/v1/devices",
      .min_role = auth::Role::kEngineer,
      .tag = "devices",
      .summary = "Add a device bound to an asset; the answer holds its secret, shown once",
      .request_schema =
          R"j({"type":"object","required":["name","asset"],"properties":{"name":{"type":"string"},"asset":{"type":"string"},"may_provision":{"type":"boolean"}}})j",
      .response_schema = kDeviceSchema,
      .success_status = 201,
      .handler = [this, available, asset_exists](RouteContext& ctx) -> HttpResponse {
        if (auto r = available()) return *r;
        auto body = ParseJsonObject(ctx.request.body, {"name", "asset", "may_provision"});
        if (!body.ok()) return StatusResponse(body.status());
        // Every field's type first, so an error names the field that is wrong.
        auto name = OptionalString(*body, "body", "name");
        if (!name.ok()) return StatusResponse(name.status());
        auto asset = OptionalString(*body, "body", "asset");
        if (!asset.ok()) return StatusResponse(asset.status());
        auto provision = OptionalBool(*body, "body", "may_provision");
        if (!provision.ok()) return StatusResponse(provision.status());
        if (!*name) return StatusResponse(RequiredString(*body, "body", "name").status());
        if (!*asset) return StatusResponse(RequiredString(*body, "body", "asset").status());
        if (auto r = CheckSite(ctx.principal, **asset)) return *r;
        if (core::Status s = asset_exists(**asset); !s.ok()) return StatusResponse(s);
        auto added = services_.devices->Add(ctx.principal.user, **name, **asset, provision->value_or(false));
        if (!added.ok()) return StatusResponse(added.status());
        Json j = DeviceJson(added->info);
        j["secret"] = added->secret;
        return JsonResponse(j, 201);
      }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/devices/{name}",
                    .min_role = auth::Role::kEngineer,
                    .tag = "devices",
                    .summary = "One device",
                    .response_schema = kDeviceSchema,
                    .handler = [available, owned](RouteContext& ctx) -> HttpResponse {
                      if (auto r = available()) return *r;
                      auto d = owned(ctx);
                      if (!d.ok()) return StatusResponse(d.status());
                      return JsonResponse(DeviceJson(*d));
                    }});
  router_.Add(Route{
      .method = "PATCH",
      .pattern = "/api/v1/devices/{name}",
      .min_role = auth::Role::kEngineer,
      .tag = "devices",
      .summary = "Enable or disable a device, allow provisioning, or bind it to another asset",
      .request_schema =
          R"j({"type":"object","properties":{"enabled":{"type":"boolean"},"may_provision":{"type":"boolean"},"asset":{"type":"string"}}})j",
      .response_schema = kDeviceSchema,
      .handler = [this, available, owned, asset_exists](RouteContext& ctx) -> HttpResponse {
        if (auto r = available()) return *r;
        auto body = ParseJsonObject(ctx.request.body, {"enabled", "may_provision", "asset"});
        if (!body.ok()) return StatusResponse(body.status());
        auto d = owned(ctx);
        if (!d.ok()) return StatusResponse(d.status());
        auth::DeviceUpdate update;
        auto enabled = OptionalBool(*body, "body", "enabled");
        if (!enabled.ok()) return StatusResponse(enabled.status());
        update.enabled = *enabled;
        auto provision = OptionalBool(*body, "body", "may_provision");
        if (!provision.ok()) return StatusResponse(provision.status());
        update.may_provision = *provision;
        auto asset = OptionalString(*body, "body", "asset");
        if (!asset.ok()) return StatusResponse(asset.status());
        if (*asset) {
          if (auto r = CheckSite(ctx.principal, **asset)) return *r;
          if (core::Status s = asset_exists(**asset); !s.ok()) return StatusResponse(s);
          update.asset_path = **asset;
        }
        auto changed = services_.devices->Update(ctx.principal.user, d->name, update);
        if (!changed.ok()) return StatusResponse(changed.status());
        return JsonResponse(DeviceJson(*changed));
      }});
  router_.Add(Route{.method = "POST",
                    .pattern = "/api/v1/devices/{name}/rotate",
                    .min_role = auth::Role::kEngineer,
                    .tag = "devices",
                    .summary = "Replace a device's secret; the old one stops working for new logins",
                    .response_schema = kDeviceSchema,
                    .handler = [this, available, owned](RouteContext& ctx) -> HttpResponse {
                      if (auto r = available()) return *r;
                      auto d = owned(ctx);
                      if (!d.ok()) return StatusResponse(d.status());
                      auto rotated = services_.devices->Rotate(ctx.principal.user, d->name);
                      if (!rotated.ok()) return StatusResponse(rotated.status());
                      Json j = DeviceJson(rotated->info);
                      j["secret"] = rotated->secret;
                      return JsonResponse(j);
                    }});
  router_.Add(Route{.method = "DELETE",
                    .pattern = "/api/v1/devices/{name}",
                    .min_role = auth::Role::kEngineer,
                    .tag = "devices",
                    .summary = "Remove a device (its logins are refused from then on)",
                    .success_status = 204,
                    .response_content_type = "",
                    .handler = [this, available, owned](RouteContext& ctx) -> HttpResponse {
                      if (auto r = available()) return *r;
                      auto d = owned(ctx);
                      if (!d.ok()) return StatusResponse(d.status());
                      core::Status s = services_.devices->Remove(ctx.principal.user, d->name);
                      if (!s.ok()) return StatusResponse(s);
                      HttpResponse r;
                      r.status = 204;
                      return r;
                    }});
}

}  // namespace shopfloor::server
