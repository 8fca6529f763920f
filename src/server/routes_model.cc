// The asset model over REST: assets (the ISA-95 tree), their tags, asset types, and the
// YAML export. Every change is audited with the old and new value.
#include <fmt/format.h>

#include "auth/audit.h"
#include "core/log.h"
#include "model/asset_store.h"
#include "server/api.h"
#include "server/model_json.h"

namespace shopfloor::server {

namespace {

const char* kAssetSchema =
    R"j({"type":"object","properties":{"id":{"type":"integer"},"parent_id":{"type":"integer"},"level":{"type":"string"},"name":{"type":"string"},"path":{"type":"string"},"type":{"type":"string"},"description":{"type":"string"},"attributes":{"type":"object"},"tags":{"type":"array","items":{"$ref":"#/components/schemas/Tag"}}}})j";
const char* kTagDefSchema =
    R"j({"type":"object","required":["name"],"properties":{"name":{"type":"string"},"type":{"type":"string","enum":["double","int64","bool","string"]},"unit":{"type":"string"},"range":{"type":"object","properties":{"min":{"type":"number"},"max":{"type":"number"}}},"description":{"type":"string"},"deadband":{"type":"number"},"writable":{"type":"boolean"},"binding":{"type":"object","properties":{"source":{"type":"string"},"address":{"type":"string"}}},"critical":{"type":"boolean"}}})j";
const char* kTypeSchema =
    R"j({"type":"object","required":["name"],"properties":{"name":{"type":"string"},"description":{"type":"string"},"tags":{"type":"array","items":{"type":"object"}}}})j";

bool IsNumber(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  return r;
}

}  // namespace

std::string Api::SiteOf(std::string_view path_or_key) const {
  if (services_.assets == nullptr) return {};
  auto site = services_.assets->SiteOf(path_or_key);
  if (site.ok()) return *site;
  size_t slash = path_or_key.rfind('/');
  if (slash == std::string_view::npos) return {};
  site = services_.assets->SiteOf(path_or_key.substr(0, slash));
  return site.ok() ? *site : std::string();
}

std::string Api::StoredKeyFor(std::string_view key) const {
  if (services_.assets == nullptr) return std::string(key);
  auto stored = services_.assets->CurrentKeyToSeriesKey(key);
  return stored.ok() ? *stored : std::string(key);
}

core::Result<std::vector<Api::AssetSeries>> Api::AssetSeriesKeys(const auth::Principal& principal,
                                                                 std::string_view path,
                                                                 const std::vector<std::string>& tags) const {
  if (services_.assets == nullptr) return core::Status::Unavailable("the asset model is not enabled");
  SF_ASSIGN_OR_RETURN(std::vector<model::Asset> subtree, services_.assets->Subtree(path));
  std::vector<AssetSeries> out;
  for (const model::Asset& asset : subtree) {
    if (!principal.CanAccessSite(SiteOf(asset.path))) {
      if (asset.path == path) {
        return core::Status::PermissionDenied(
            fmt::format("asset \"{}\" is outside the sites of {}", asset.path, principal.user));
      }
      continue;  // e.g. the enterprise subtree seen by a site-scoped user
    }
    for (const model::Tag& tag : asset.tags) {
      if (!tags.empty() && std::find(tags.begin(), tags.end(), tag.name) == tags.end()) continue;
      out.push_back(AssetSeries{asset.path + "/" + tag.name, tag.series_key, tag.type});
    }
  }
  return out;
}

void Api::Audit(const RouteContext& ctx, std::string_view action, std::string_view target, std::string old_value,
                std::string new_value, const core::Status& result) {
  if (services_.audit == nullptr) return;
  auth::AuditEntry e;
  e.actor = ctx.principal.user;
  e.action = std::string(action);
  e.target = std::string(target);
  e.old_value = std::move(old_value);
  e.new_value = std::move(new_value);
  e.result = result.ok() ? "ok" : result.message();
  e.remote = std::string(ctx.request.remote);
  auto appended = services_.audit->Append(std::move(e));
  if (!appended.ok()) SF_LOG(error, "audit.append_failed", "action={} error=\"{}\"", action, appended.status().ToString());
}

core::Result<model::Asset> Api::ResolveAsset(const RouteContext& ctx, std::string_view ref) const {
  if (services_.assets == nullptr) return core::Status::Unavailable("the asset model is not enabled");
  core::Result<model::Asset> asset = IsNumber(ref) ? services_.assets->GetAsset(std::stoll(std::string(ref)))
                                                   : services_.assets->FindAsset(ref);
  if (!asset.ok()) {
    if (asset.status().IsNotFound()) return core::Status::NotFound(fmt::format("asset \"{}\" not found", ref));
    return asset.status();
  }
  if (!ctx.principal.CanAccessSite(SiteOf(asset->path)) && asset->level != model::AssetLevel::kEnterprise) {
    return core::Status::PermissionDenied(
        fmt::format("asset \"{}\" is outside the sites of {}", asset->path, ctx.principal.user));
  }
  return asset;
}

core::Status Api::CheckCanChange(const RouteContext& ctx, std::string_view asset_path) const {
  const std::string site = SiteOf(asset_path);
  if (ctx.principal.CanAccessSite(site)) return core::Status::OK();
  return core::Status::PermissionDenied(
      site.empty() ? fmt::format("\"{}\" is plant-wide: changing it needs a user for all sites", asset_path)
                   : fmt::format("\"{}\" belongs to site {}, outside the sites of {}", asset_path, site,
                                 ctx.principal.user));
}

core::Status Api::CheckBinding(const model::TagDef& def, std::string_view where) const {
  if (!def.binding) return core::Status::OK();
  const std::string& source = def.binding->source;
  if (services_.config != nullptr && services_.config->FindSource(source) != nullptr) return core::Status::OK();
  std::string known;
  if (services_.config != nullptr) {
    for (const model::SourceConfig& s : services_.config->sources) known += (known.empty() ? "" : ", ") + s.name;
  }
  return core::Status::InvalidArgument(
      fmt::format("{}.binding.source: no source named \"{}\" ({})", where, source,
                  known.empty() ? "no sources are configured" : "configured: " + known));
}

core::Status Api::CheckBindings(const std::vector<model::TagDef>& defs, std::string_view where) const {
  for (size_t i = 0; i < defs.size(); ++i) {
    SF_RETURN_IF_ERROR(CheckBinding(defs[i], fmt::format("{}[{}]", where, i)));
  }
  return core::Status::OK();
}

void Api::AddModelRoutes() {
  router_.Add(Route{
      .method = "GET",
      .pattern = "/api/v1/assets",
      .tag = "assets",
      .summary = "The asset tree as a flat pre-order list (the caller's sites)",
      .params = {{"under", "query", "string", false, "only this asset's subtree (a path)"},
                 {"level", "query", "string", false, "only assets of this level"},
                 {"tags", "query", "boolean", false, "include each asset's tags (default true)"}},
      .response_schema = std::string(R"j({"type":"array","items":)j") + kAssetSchema + "}",
      .handler = [this](RouteContext& ctx) -> HttpResponse {
        for (const auto& [name, value] : ctx.params.items()) {
          if (name != "under" && name != "level" && name != "tags" && name != "access_token") {
            return JsonError(400, fmt::format("unknown parameter \"{}\"", name));
          }
        }
        std::vector<model::Asset> assets;
        if (const std::string* under = ctx.params.Get("under")) {
          auto sub = services_.assets->Subtree(*under);
          if (!sub.ok()) return StatusResponse(sub.status());
          assets = std::move(sub).value();
        } else {
          assets = services_.assets->AllAssets();
        }
        std::optional<model::AssetLevel> level;
        if (const std::string* l = ctx.params.Get("level")) {
          auto parsed = ParseLevel(*l, "parameter \"level\"");
          if (!parsed.ok()) return StatusResponse(parsed.status());
          level = *parsed;
        }
        const std::string* tags = ctx.params.Get("tags");
        const bool with_tags = tags == nullptr || *tags != "false";
        Json list = Json::array();
        for (const model::Asset& a : assets) {
          if (level && a.level != *level) continue;
          if (a.level != model::AssetLevel::kEnterprise && !ctx.principal.CanAccessSite(SiteOf(a.path))) continue;
          list.push_back(AssetJson(a, with_tags));
        }
        return JsonResponse(list);
      }});
  router_.Add(Route{
      .method = "POST",
      .pattern = "/api/v1/assets",
      .min_role = auth::Role::kEngineer,
      .tag = "assets",
      .summary = "Create an asset (from a type: it inherits the type's tags)",
      .request_schema =
          R"j({"type":"object","required":["level","name"],"properties":{"parent":{"type":"string","description":"parent path; absent for the enterprise"},"level":{"type":"string"},"name":{"type":"string"},"type":{"type":"string"},"description":{"type":"string"},"attributes":{"type":"object"},"tags":{"type":"array","items":{"type":"object"}}}})j",
      .response_schema = kAssetSchema,
      .success_status = 201,
      .handler = [this](RouteContext& ctx) -> HttpResponse {
        auto body = ParseJsonObject(ctx.request.body,
                                    {"parent", "level", "name", "type", "description", "attributes", "tags"});
        if (!body.ok()) return StatusResponse(body.status());
        model::NewAsset a;
        auto parent = OptionalString(*body, "body", "parent");
        if (!parent.ok()) return StatusResponse(parent.status());
        a.parent_path = parent->value_or("");
        auto level_text = RequiredString(*body, "body", "level");
        if (!level_text.ok()) return StatusResponse(level_text.status());
        auto level = ParseLevel(*level_text, "body.level");
        if (!level.ok()) return StatusResponse(level.status());
        a.level = *level;
        auto name = RequiredString(*body, "body", "name");
        if (!name.ok()) return StatusResponse(name.status());
        a.name = *name;
        auto type = OptionalString(*body, "body", "type");
        if (!type.ok()) return StatusResponse(type.status());
        a.type = type->value_or("");
        auto description = OptionalString(*body, "body", "description");
        if (!description.ok()) return StatusResponse(description.status());
        a.description = description->value_or("");
        auto attributes = AttributesFromJson(*body, "body");
        if (!attributes.ok()) return StatusResponse(attributes.status());
        a.attributes = std::move(attributes).value();
        auto tags = TagDefsFromJson(*body, "body", "tags");
        if (!tags.ok()) return StatusResponse(tags.status());
        a.tags = std::move(tags).value();
        if (core::Status s = CheckBindings(a.tags, "body.tags"); !s.ok()) return StatusResponse(s);
        const std::string target = a.parent_path.empty() ? a.name : a.parent_path + "/" + a.name;
        // A new site is plant-wide; anything else belongs to its parent's site.
        core::Status allowed = a.level <= model::AssetLevel::kSite ? CheckCanChange(ctx, "")
                                                                     : CheckCanChange(ctx, a.parent_path);
        if (!allowed.ok()) return StatusResponse(allowed);
        auto created = services_.assets->CreateAsset(ctx.principal.user, a);
        Audit(ctx, "asset.create", target, "", created.ok() ? AssetJson(*created).dump() : std::string(ctx.request.body),
              created.status());
        if (!created.ok()) return StatusResponse(created.status());
        return JsonResponse(AssetJson(*created), 201);
      }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/assets/{asset}",
                    .tag = "assets",
                    .summary = "One asset with its effective tags ({asset}: id or URL-encoded path)",
                    .response_schema = kAssetSchema,
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      auto asset = ResolveAsset(ctx, ctx.arg(0));
                      if (!asset.ok()) return StatusResponse(asset.status());
                      return JsonResponse(AssetJson(*asset));
                    }});
  router_.Add(Route{
      .method = "PATCH",
      .pattern = "/api/v1/assets/{asset}",
      .min_role = auth::Role::kEngineer,
      .tag = "assets",
      .summary = "Rename, move, retype or describe an asset (history stays attached)",
      .request_schema =
          R"j({"type":"object","properties":{"name":{"type":"string"},"parent":{"type":"string","description":"new parent path (move)"},"type":{"type":"string"},"description":{"type":"string"},"attributes":{"type":"object"}}})j",
      .response_schema = kAssetSchema,
      .handler = [this](RouteContext& ctx) -> HttpResponse {
        auto asset = ResolveAsset(ctx, ctx.arg(0));
        if (!asset.ok()) return StatusResponse(asset.status());
        if (core::Status s = CheckCanChange(ctx, asset->path); !s.ok()) return StatusResponse(s);
        auto body = ParseJsonObject(ctx.request.body, {"name", "parent", "type", "description", "attributes"});
        if (!body.ok()) return StatusResponse(body.status());
        model::AssetPatch patch;
        auto name = OptionalString(*body, "body", "name");
        if (!name.ok()) return StatusResponse(name.status());
        patch.name = *name;
        auto type = OptionalString(*body, "body", "type");
        if (!type.ok()) return StatusResponse(type.status());
        patch.type = *type;
        auto description = OptionalString(*body, "body", "description");
        if (!description.ok()) return StatusResponse(description.status());
        patch.description = *description;
        if (body->contains("attributes")) {
          auto attributes = AttributesFromJson(*body, "body");
          if (!attributes.ok()) return StatusResponse(attributes.status());
          patch.attributes = std::move(attributes).value();
        }
        auto parent = OptionalString(*body, "body", "parent");
        if (!parent.ok()) return StatusResponse(parent.status());
        if (*parent) {
          auto p = services_.assets->FindAsset(**parent);
          if (!p.ok()) return JsonError(p.status().IsNotFound() ? 404 : 400, "body.parent: " + p.status().message());
          if (core::Status s = CheckCanChange(ctx, p->path); !s.ok()) return StatusResponse(s);
          patch.parent_id = p->id;
        }
        auto updated = services_.assets->UpdateAsset(ctx.principal.user, asset->id, patch);
        Audit(ctx, "asset.update", asset->path, AssetJson(*asset, false).dump(),
              updated.ok() ? AssetJson(*updated, false).dump() : std::string(ctx.request.body), updated.status());
        if (!updated.ok()) return StatusResponse(updated.status());
        return JsonResponse(AssetJson(*updated));
      }});
  router_.Add(Route{.method = "DELETE",
                    .pattern = "/api/v1/assets/{asset}",
                    .min_role = auth::Role::kEngineer,
                    .tag = "assets",
                    .summary = "Delete an asset (recursive=true for a subtree); stored data is kept",
                    .params = {{"recursive", "query", "boolean", false, "also delete its children"}},
                    .success_status = 204,
                    .response_content_type = "",
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      auto asset = ResolveAsset(ctx, ctx.arg(0));
                      if (!asset.ok()) return StatusResponse(asset.status());
                      if (core::Status s = CheckCanChange(ctx, asset->path); !s.ok()) return StatusResponse(s);
                      const std::string* rec = ctx.params.Get("recursive");
                      if (rec && *rec != "true" && *rec != "false") {
                        return JsonError(400, "parameter \"recursive\": must be true or false");
                      }
                      core::Status s = services_.assets->DeleteAsset(ctx.principal.user, asset->id, rec && *rec == "true");
                      Audit(ctx, "asset.delete", asset->path, AssetJson(*asset, false).dump(), "", s);
                      if (!s.ok()) return StatusResponse(s);
                      return NoContent();
                    }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/assets/{asset}/tags",
                    .tag = "assets",
                    .summary = "An asset's effective tags",
                    .response_schema = R"j({"type":"array","items":{"$ref":"#/components/schemas/Tag"}})j",
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      auto asset = ResolveAsset(ctx, ctx.arg(0));
                      if (!asset.ok()) return StatusResponse(asset.status());
                      Json list = Json::array();
                      for (const model::Tag& t : asset->tags) list.push_back(TagJson(t));
                      return JsonResponse(list);
                    }});
  router_.Add(Route{.method = "PUT",
                    .pattern = "/api/v1/assets/{asset}/tags/{tag}",
                    .min_role = auth::Role::kEngineer,
                    .tag = "assets",
                    .summary = "Create or replace one tag (for an inherited tag: its overrides)",
                    .request_schema = kTagDefSchema,
                    .response_schema = R"j({"$ref":"#/components/schemas/Tag"})j",
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      auto asset = ResolveAsset(ctx, ctx.arg(0));
                      if (!asset.ok()) return StatusResponse(asset.status());
                      if (core::Status s = CheckCanChange(ctx, asset->path); !s.ok()) return StatusResponse(s);
                      Json body = Json::parse(ctx.request.body.begin(), ctx.request.body.end(), nullptr, false);
                      if (body.is_discarded() || !body.is_object()) return JsonError(400, "body: must be a JSON object");
                      if (!body.contains("name")) body["name"] = ctx.arg(1);
                      auto def = TagDefFromJson(body, "body");
                      if (!def.ok()) return StatusResponse(def.status());
                      if (def->name != ctx.arg(1)) return JsonError(400, "body.name: differs from the tag in the path");
                      if (core::Status s = CheckBinding(*def, "body"); !s.ok()) return StatusResponse(s);
                      std::string before;
                      for (const model::Tag& t : asset->tags) {
                        if (t.name == def->name) before = TagJson(t).dump();
                      }
                      auto tag = services_.assets->UpsertTag(ctx.principal.user, asset->id, *def);
                      Audit(ctx, "tag.upsert", asset->path + "/" + ctx.arg(1), before,
                            tag.ok() ? TagJson(*tag).dump() : std::string(ctx.request.body), tag.status());
                      if (!tag.ok()) return StatusResponse(tag.status());
                      return JsonResponse(TagJson(*tag));
                    }});
  router_.Add(Route{.method = "DELETE",
                    .pattern = "/api/v1/assets/{asset}/tags/{tag}",
                    .min_role = auth::Role::kEngineer,
                    .tag = "assets",
                    .summary = "Delete an asset's own tag (stored data is kept)",
                    .success_status = 204,
                    .response_content_type = "",
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      auto asset = ResolveAsset(ctx, ctx.arg(0));
                      if (!asset.ok()) return StatusResponse(asset.status());
                      if (core::Status s = CheckCanChange(ctx, asset->path); !s.ok()) return StatusResponse(s);
                      std::string before;
                      for (const model::Tag& t : asset->tags) {
                        if (t.name == ctx.arg(1)) before = TagJson(t).dump();
                      }
                      core::Status s = services_.assets->DeleteTag(ctx.principal.user, asset->id, ctx.arg(1));
                      Audit(ctx, "tag.delete", asset->path + "/" + ctx.arg(1), before, "", s);
                      if (!s.ok()) return StatusResponse(s);
                      return NoContent();
                    }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/types",
                    .tag = "types",
                    .summary = "Asset types (machine templates)",
                    .response_schema = std::string(R"j({"type":"array","items":)j") + kTypeSchema + "}",
                    .handler = [this](RouteContext&) -> HttpResponse {
                      Json list = Json::array();
                      for (const model::AssetType& t : services_.assets->ListTypes()) list.push_back(TypeJson(t));
                      return JsonResponse(list);
                    }});
  auto type_from_body = [this](const RouteContext& ctx, std::optional<std::string> name) -> core::Result<model::AssetType> {
    SF_ASSIGN_OR_RETURN(Json body, ParseJsonObject(ctx.request.body, {"name", "description", "tags"}));
    model::AssetType t;
    if (name) {
      SF_ASSIGN_OR_RETURN(auto n, OptionalString(body, "body", "name"));
      if (n && *n != *name) return core::Status::InvalidArgument("body.name: differs from the type in the path");
      t.name = *name;
    } else {
      SF_ASSIGN_OR_RETURN(t.name, RequiredString(body, "body", "name"));
    }
    SF_ASSIGN_OR_RETURN(auto description, OptionalString(body, "body", "description"));
    t.description = description.value_or("");
    SF_ASSIGN_OR_RETURN(t.tags, TagDefsFromJson(body, "body", "tags"));
    SF_RETURN_IF_ERROR(CheckBindings(t.tags, "body.tags"));
    return t;
  };
  router_.Add(Route{.method = "POST",
                    .pattern = "/api/v1/types",
                    .min_role = auth::Role::kEngineer,
                    .tag = "types",
                    .summary = "Create an asset type",
                    .request_schema = kTypeSchema,
                    .response_schema = kTypeSchema,
                    .success_status = 201,
                    .handler = [this, type_from_body](RouteContext& ctx) -> HttpResponse {
                      if (core::Status s = CheckCanChange(ctx, ""); !s.ok()) return StatusResponse(s);
                      auto t = type_from_body(ctx, std::nullopt);
                      if (!t.ok()) return StatusResponse(t.status());
                      auto created = services_.assets->CreateType(ctx.principal.user, *t);
                      Audit(ctx, "type.create", t->name, "", TypeJson(*t).dump(), created.status());
                      if (!created.ok()) return StatusResponse(created.status());
                      return JsonResponse(TypeJson(*created), 201);
                    }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/types/{name}",
                    .tag = "types",
                    .summary = "One asset type",
                    .response_schema = kTypeSchema,
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      auto t = services_.assets->GetType(ctx.arg(0));
                      if (!t.ok()) return StatusResponse(t.status());
                      return JsonResponse(TypeJson(*t));
                    }});
  router_.Add(Route{.method = "PUT",
                    .pattern = "/api/v1/types/{name}",
                    .min_role = auth::Role::kEngineer,
                    .tag = "types",
                    .summary = "Replace an asset type; every instance follows",
                    .request_schema = kTypeSchema,
                    .response_schema = kTypeSchema,
                    .handler = [this, type_from_body](RouteContext& ctx) -> HttpResponse {
                      if (core::Status s = CheckCanChange(ctx, ""); !s.ok()) return StatusResponse(s);
                      auto old = services_.assets->GetType(ctx.arg(0));
                      if (!old.ok()) return StatusResponse(old.status());
                      auto t = type_from_body(ctx, ctx.arg(0));
                      if (!t.ok()) return StatusResponse(t.status());
                      auto updated = services_.assets->UpdateType(ctx.principal.user, *t);
                      Audit(ctx, "type.update", t->name, TypeJson(*old).dump(), TypeJson(*t).dump(), updated.status());
                      if (!updated.ok()) return StatusResponse(updated.status());
                      return JsonResponse(TypeJson(*updated));
                    }});
  router_.Add(Route{.method = "DELETE",
                    .pattern = "/api/v1/types/{name}",
                    .min_role = auth::Role::kEngineer,
                    .tag = "types",
                    .summary = "Delete an unused asset type",
                    .success_status = 204,
                    .response_content_type = "",
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      if (core::Status s = CheckCanChange(ctx, ""); !s.ok()) return StatusResponse(s);
                      auto old = services_.assets->GetType(ctx.arg(0));
                      if (!old.ok()) return StatusResponse(old.status());
                      core::Status s = services_.assets->DeleteType(ctx.principal.user, ctx.arg(0));
                      Audit(ctx, "type.delete", ctx.arg(0), TypeJson(*old).dump(), "", s);
                      if (!s.ok()) return StatusResponse(s);
                      return NoContent();
                    }});
  router_.Add(Route{
      .method = "GET",
      .pattern = "/api/v1/model/changes",
      .tag = "types",
      .summary = "The model's versioned change history (who changed what, before and after)",
      .params = {{"after", "query", "integer", false, "only versions greater than this"},
                 {"target", "query", "string", false, "prefix of the asset path or type name"},
                 {"limit", "query", "integer", false, "at most (default 1000, max 10000)"}},
      .response_schema = R"j({"type":"object","properties":{"version":{"type":"integer"},"changes":{"type":"array","items":{"type":"object"}}}})j",
      .handler = [this](RouteContext& ctx) -> HttpResponse {
        uint64_t after = 0;
        size_t limit = 1000;
        std::string target;
        for (const auto& [name, value] : ctx.params.items()) {
          if (name == "after" || name == "limit") {
            auto n = ParseUintParam(name, value);
            if (!n.ok()) return StatusResponse(n.status());
            if (name == "after") after = *n;
            else limit = std::clamp<uint64_t>(*n, 1, 10000);
          } else if (name == "target") {
            target = value;
          } else if (name != "access_token") {
            return JsonError(400, fmt::format("unknown parameter \"{}\"", name));
          }
        }
        auto changes = services_.assets->Changes(after, limit, target);
        if (!changes.ok()) return StatusResponse(changes.status());
        Json list = Json::array();
        for (const model::ModelChange& c : *changes) {
          if (!ctx.principal.AllSites() && !ctx.principal.CanAccessSite(SiteOf(c.target))) continue;
          auto parse = [](const std::string& text) {
            Json j = Json::parse(text, nullptr, false);
            return j.is_discarded() ? Json(text) : j;
          };
          list.push_back({{"version", c.version}, {"ts", FormatRfc3339(c.ts)}, {"actor", c.actor}, {"kind", c.kind},
                          {"target", c.target}, {"before", parse(c.before)}, {"after", parse(c.after)}});
        }
        return JsonResponse({{"version", services_.assets->version()}, {"changes", list}});
      }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/model/export",
                    .min_role = auth::Role::kEngineer,
                    .tag = "types",
                    .summary = "The whole model as plant config YAML (to keep API edits in the file)",
                    .response_schema = R"j({"type":"string"})j",
                    .response_content_type = "application/yaml",
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      // The export holds every site's assets: plant-wide, like the types.
                      if (!ctx.principal.AllSites()) {
                        return JsonError(403, "the model export holds every site: it needs a user for all sites");
                      }
                      model::PlantConfig empty;
                      auto yaml = services_.assets->ExportYaml(services_.config ? *services_.config : empty);
                      if (!yaml.ok()) return StatusResponse(yaml.status());
                      HttpResponse r;
                      r.content_type = "application/yaml; charset=utf-8";
                      r.content_disposition = "attachment; filename=\"plant.yaml\"";
                      r.body = std::move(yaml).value();
                      return r;
                    }});
}

}  // namespace shopfloor::server
