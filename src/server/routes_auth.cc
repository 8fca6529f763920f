// Login, sessions, users and API tokens (the door), and the audit trail (admins only).
#include <fmt/format.h>

#include "auth/audit.h"
#include "auth/auth.h"
#include "server/api.h"
#include "server/credentials.h"
#include "server/json_body.h"

namespace shopfloor::server {

namespace {

const char* kUserSchema =
    R"j({"type":"object","properties":{"name":{"type":"string"},"role":{"type":"string","enum":["viewer","operator","engineer","admin"]},"sites":{"type":"array","items":{"type":"string"}},"disabled":{"type":"boolean"},"created":{"type":"string"},"locked_until":{"type":"string"}}})j";
const char* kTokenSchema =
    R"j({"type":"object","properties":{"id":{"type":"integer"},"user":{"type":"string"},"name":{"type":"string"},"created":{"type":"string"},"expires":{"type":"string"},"last_used":{"type":"string"},"token":{"type":"string","description":"only in the answer that creates it"}}})j";

Json UserJson(const auth::UserInfo& u) {
  Json j = {{"name", u.name}, {"role", auth::RoleName(u.role)}, {"sites", u.sites}, {"disabled", u.disabled},
            {"created", FormatRfc3339(u.created)}};
  j["locked_until"] = u.locked_until > 0 ? Json(FormatRfc3339(u.locked_until)) : Json(nullptr);
  return j;
}

Json TokenJson(const auth::TokenInfo& t) {
  Json j = {{"id", t.id}, {"user", t.user}, {"name", t.name}, {"created", FormatRfc3339(t.created)}};
  j["expires"] = t.expires > 0 ? Json(FormatRfc3339(t.expires)) : Json(nullptr);
  j["last_used"] = t.last_used > 0 ? Json(FormatRfc3339(t.last_used)) : Json(nullptr);
  return j;
}

Json PrincipalJson(const auth::Principal& p) {
  return {{"name", p.user}, {"role", auth::RoleName(p.role)}, {"sites", p.sites}, {"via", p.via}};
}

HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  return r;
}

// Users and plant-wide settings are managed by unscoped admins only.
bool IsPlantAdmin(const auth::Principal& p) { return p.AtLeast(auth::Role::kAdmin) && p.AllSites(); }

HttpResponse NeedPlantAdmin(const auth::Principal& p) {
  return JsonError(403, fmt::format("managing users needs an admin for all sites; {} is {}{}", p.user,
                                    auth::RoleName(p.role), p.AllSites() ? "" : " scoped to some sites"));
}

core::Result<std::vector<std::string>> SitesField(const Json& body) {
  SF_ASSIGN_OR_RETURN(auto sites, OptionalStringList(body, "body", "sites"));
  return sites.value_or(std::vector<std::string>{});
}

}  // namespace

void Api::AddAuthRoutes() {
  router_.Add(Route{
      .method = "POST",
      .pattern = "/api/v1/auth/login",
      .authenticated = false,
      .tag = "auth",
      .summary = "Log in with name and password; answers a session token",
      .request_schema =
          R"j({"type":"object","required":["name","password"],"properties":{"name":{"type":"string"},"password":{"type":"string"}}})j",
      .response_schema =
          R"j({"type":"object","properties":{"token":{"type":"string"},"expires":{"type":"string"},"user":{"type":"object"}}})j",
      .handler = [this](RouteContext& ctx) -> HttpResponse {
        if (services_.users == nullptr) return JsonError(503, "authentication is not configured");
        auto body = ParseJsonObject(ctx.request.body, {"name", "password"});
        if (!body.ok()) return StatusResponse(body.status());
        auto name = RequiredString(*body, "body", "name");
        if (!name.ok()) return StatusResponse(name.status());
        auto password = RequiredString(*body, "body", "password");
        if (!password.ok()) return StatusResponse(password.status());
        auto session = services_.users->Login(*name, *password, ctx.request.remote);
        if (!session.ok()) return StatusResponse(session.status());
        HttpResponse r = JsonResponse({{"token", session->token},
                                       {"expires", FormatRfc3339(session->expires)},
                                       {"user", PrincipalJson(session->principal)}});
        r.cache_control = "no-store";
        return r;
      }});
  router_.Add(Route{.method = "POST",
                    .pattern = "/api/v1/auth/logout",
                    .tag = "auth",
                    .summary = "End the session whose token authenticated this request",
                    .success_status = 204,
                    .response_content_type = "",
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      Credentials c = ExtractCredentials(ctx.request);
                      if (c.kind != Credentials::kToken || !c.secret.starts_with("sfs_")) {
                        return JsonError(400, "logout needs the session token (sfs_...) as the credential");
                      }
                      core::Status s = services_.users->Logout(c.secret);
                      if (!s.ok()) return StatusResponse(s);
                      return NoContent();
                    }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/auth/me",
                    .tag = "auth",
                    .summary = "Who the caller is: name, role, sites",
                    .response_schema = R"j({"type":"object"})j",
                    .handler = [](RouteContext& ctx) { return JsonResponse(PrincipalJson(ctx.principal)); }});
}

void Api::AddUserRoutes() {
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/users",
                    .min_role = auth::Role::kAdmin,
                    .tag = "users",
                    .summary = "List users",
                    .response_schema = std::string(R"j({"type":"array","items":)j") + kUserSchema + "}",
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      if (!IsPlantAdmin(ctx.principal)) return NeedPlantAdmin(ctx.principal);
                      Json list = Json::array();
                      for (const auth::UserInfo& u : services_.users->ListUsers()) list.push_back(UserJson(u));
                      return JsonResponse(list);
                    }});
  router_.Add(Route{
      .method = "POST",
      .pattern = "/api/v1/users",
      .min_role = auth::Role::kAdmin,
      .tag = "users",
      .summary = "Create a user",
      .request_schema =
          R"j({"type":"object","required":["name","password","role"],"properties":{"name":{"type":"string"},"password":{"type":"string"},"role":{"type":"string"},"sites":{"type":"array","items":{"type":"string"}}}})j",
      .response_schema = kUserSchema,
      .success_status = 201,
      .handler = [this](RouteContext& ctx) -> HttpResponse {
        if (!IsPlantAdmin(ctx.principal)) return NeedPlantAdmin(ctx.principal);
        auto body = ParseJsonObject(ctx.request.body, {"name", "password", "role", "sites"});
        if (!body.ok()) return StatusResponse(body.status());
        auto name = RequiredString(*body, "body", "name");
        if (!name.ok()) return StatusResponse(name.status());
        auto password = RequiredString(*body, "body", "password");
        if (!password.ok()) return StatusResponse(password.status());
        auto role_text = RequiredString(*body, "body", "role");
        if (!role_text.ok()) return StatusResponse(role_text.status());
        auto role = auth::ParseRole(*role_text);
        if (!role.ok()) return JsonError(400, "body.role: " + role.status().message());
        auto sites = SitesField(*body);
        if (!sites.ok()) return StatusResponse(sites.status());
        auto user = services_.users->CreateUser(ctx.principal.user, *name, *password, *role, *sites);
        if (!user.ok()) return StatusResponse(user.status());
        return JsonResponse(UserJson(*user), 201);
      }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/users/{name}",
                    .tag = "users",
                    .summary = "One user (admins: anyone; others: themselves)",
                    .response_schema = kUserSchema,
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      if (!IsPlantAdmin(ctx.principal) && ctx.arg(0) != ctx.principal.user) {
                        return NeedPlantAdmin(ctx.principal);
                      }
                      auto user = services_.users->GetUser(ctx.arg(0));
                      if (!user.ok()) return StatusResponse(user.status());
                      return JsonResponse(UserJson(*user));
                    }});
  router_.Add(Route{
      .method = "PATCH",
      .pattern = "/api/v1/users/{name}",
      .tag = "users",
      .summary = "Change a user (admins: anything; others: their own password)",
      .request_schema =
          R"j({"type":"object","properties":{"role":{"type":"string"},"sites":{"type":"array","items":{"type":"string"}},"password":{"type":"string"},"disabled":{"type":"boolean"},"unlock":{"type":"boolean"}}})j",
      .response_schema = kUserSchema,
      .handler = [this](RouteContext& ctx) -> HttpResponse {
        auto body = ParseJsonObject(ctx.request.body, {"role", "sites", "password", "disabled", "unlock"});
        if (!body.ok()) return StatusResponse(body.status());
        const bool self = ctx.arg(0) == ctx.principal.user;
        if (!IsPlantAdmin(ctx.principal)) {
          if (!self) return NeedPlantAdmin(ctx.principal);
          if (body->size() != 1 || !body->contains("password")) {
            return JsonError(403, "you may change only your own password; role, sites and state need an admin");
          }
        }
        auth::UserStore::UserUpdate update;
        if (auto v = OptionalString(*body, "body", "role"); !v.ok()) {
          return StatusResponse(v.status());
        } else if (*v) {
          auto role = auth::ParseRole(**v);
          if (!role.ok()) return JsonError(400, "body.role: " + role.status().message());
          update.role = *role;
        }
        auto sites = OptionalStringList(*body, "body", "sites");
        if (!sites.ok()) return StatusResponse(sites.status());
        update.sites = *sites;
        auto password = OptionalString(*body, "body", "password");
        if (!password.ok()) return StatusResponse(password.status());
        update.password = *password;
        auto disabled = OptionalBool(*body, "body", "disabled");
        if (!disabled.ok()) return StatusResponse(disabled.status());
        update.disabled = *disabled;
        auto unlock = OptionalBool(*body, "body", "unlock");
        if (!unlock.ok()) return StatusResponse(unlock.status());
        update.unlock = unlock->value_or(false);
        auto user = services_.users->UpdateUser(ctx.principal.user, ctx.arg(0), update);
        if (!user.ok()) return StatusResponse(user.status());
        return JsonResponse(UserJson(*user));
      }});
  router_.Add(Route{.method = "DELETE",
                    .pattern = "/api/v1/users/{name}",
                    .min_role = auth::Role::kAdmin,
                    .tag = "users",
                    .summary = "Delete a user with their sessions and tokens",
                    .success_status = 204,
                    .response_content_type = "",
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      if (!IsPlantAdmin(ctx.principal)) return NeedPlantAdmin(ctx.principal);
                      core::Status s = services_.users->DeleteUser(ctx.principal.user, ctx.arg(0));
                      if (!s.ok()) return StatusResponse(s);
                      return NoContent();
                    }});
  router_.Add(Route{.method = "GET",
                    .pattern = "/api/v1/users/{name}/tokens",
                    .tag = "users",
                    .summary = "A user's API tokens (never the secrets)",
                    .response_schema = std::string(R"j({"type":"array","items":)j") + kTokenSchema + "}",
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      if (!IsPlantAdmin(ctx.principal) && ctx.arg(0) != ctx.principal.user) {
                        return NeedPlantAdmin(ctx.principal);
                      }
                      auto user = services_.users->GetUser(ctx.arg(0));
                      if (!user.ok()) return StatusResponse(user.status());
                      Json list = Json::array();
                      for (const auth::TokenInfo& t : services_.users->ListTokens(ctx.arg(0))) {
                        list.push_back(TokenJson(t));
                      }
                      return JsonResponse(list);
                    }});
  router_.Add(Route{
      .method = "POST",
      .pattern = "/api/v1/users/{name}/tokens",
      .tag = "users",
      .summary = "Create an API token; the secret is in this answer only",
      .request_schema =
          R"j({"type":"object","required":["name"],"properties":{"name":{"type":"string"},"ttl":{"type":"string","description":"e.g. 90d; absent = never expires"}}})j",
      .response_schema = kTokenSchema,
      .success_status = 201,
      .handler = [this](RouteContext& ctx) -> HttpResponse {
        if (!IsPlantAdmin(ctx.principal) && ctx.arg(0) != ctx.principal.user) return NeedPlantAdmin(ctx.principal);
        auto body = ParseJsonObject(ctx.request.body, {"name", "ttl"});
        if (!body.ok()) return StatusResponse(body.status());
        auto name = RequiredString(*body, "body", "name");
        if (!name.ok()) return StatusResponse(name.status());
        auto ttl_text = OptionalString(*body, "body", "ttl");
        if (!ttl_text.ok()) return StatusResponse(ttl_text.status());
        core::Duration ttl = 0;
        if (*ttl_text) {
          auto d = ParseStepParam("body.ttl", **ttl_text, core::kSecond);
          if (!d.ok()) return StatusResponse(d.status());
          ttl = *d;
        }
        auto token = services_.users->CreateToken(ctx.principal.user, ctx.arg(0), *name, ttl);
        if (!token.ok()) return StatusResponse(token.status());
        Json j = TokenJson(token->info);
        j["token"] = token->secret;
        HttpResponse r = JsonResponse(j, 201);
        r.cache_control = "no-store";
        return r;
      }});
  router_.Add(Route{.method = "DELETE",
                    .pattern = "/api/v1/tokens/{id}",
                    .tag = "users",
                    .summary = "Revoke an API token (admins: any; others: their own)",
                    .success_status = 204,
                    .response_content_type = "",
                    .handler = [this](RouteContext& ctx) -> HttpResponse {
                      auto id = ParseUintParam("id", ctx.arg(0));
                      if (!id.ok()) return StatusResponse(id.status());
                      if (!IsPlantAdmin(ctx.principal)) {
                        bool own = false;
                        for (const auth::TokenInfo& t : services_.users->ListTokens(ctx.principal.user)) {
                          own = own || t.id == static_cast<int64_t>(*id);
                        }
                        if (!own) return JsonError(403, "you may revoke only your own tokens");
                      }
                      core::Status s = services_.users->RevokeToken(ctx.principal.user, static_cast<int64_t>(*id));
                      if (!s.ok()) return StatusResponse(s);
                      return NoContent();
                    }});
}

}  // namespace shopfloor::server
