#include "server/api.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "auth/auth.h"
#include "server/credentials.h"
#include "server/metrics_handler.h"
#include "server/json_body.h"
#include "storage/storage.h"

namespace shopfloor::server {

void AppendJsonString(std::string_view text, std::string* out) {
  out->push_back('"');
  for (char c : text) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out->append(fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c))));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

HttpResponse JsonError(int status, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = fmt::format("{{\"error\":{{\"code\":{},\"message\":", status);
  AppendJsonString(message, &r.body);
  r.body += "}}";
  return r;
}

Api::Api(Services services, const HttpServerOptions& options)
    : services_(services),
      storage_(services.storage),
      clock_(services.clock),
      options_(options),
      cache_(options.series_cache_capacity) {
  anonymous_.user = "anonymous";
  anonymous_.role = services_.users == nullptr && options_.allow_anonymous ? auth::Role::kAdmin : auth::Role::kViewer;
  anonymous_.via = "anonymous";
  AddRoutes();
  if (services_.assets != nullptr) {
    // A rename or move changes which stored series a current key means.
    model_listener_ = services_.assets->AddListener([this](const model::ModelEvent&) { InvalidateSeriesCache(); });
  }
}

Api::Api(storage::Storage* storage, core::Clock* clock, const HttpServerOptions& options)
    : Api(Services{.storage = storage, .clock = clock}, [&] {
        HttpServerOptions o = options;
        o.allow_anonymous = true;
        return o;
      }()) {}

Api::~Api() {
  if (services_.metrics != nullptr) {
    if (auto family = QueueDepthFamily(services_.metrics); family.ok()) (void)(*family)->RemoveChild({"http"});
  }
  if (services_.assets != nullptr && model_listener_ != 0) services_.assets->RemoveListener(model_listener_);
}

void Api::InvalidateSeriesCache() {
  cache_.Clear();
  instance_id_.store(NewInstanceId(), std::memory_order_release);  // drops the per-thread memos
}

core::Result<auth::Principal> Api::AuthenticateRequest(const HttpRequest& request) {
  if (services_.users == nullptr) {
    if (options_.allow_anonymous) return anonymous_;
    return core::Status::Unauthenticated("authentication is not configured");
  }
  Credentials creds = ExtractCredentials(request);
  switch (creds.kind) {
    case Credentials::kToken: return services_.users->Authenticate(creds.secret);
    case Credentials::kPassword:
      return services_.users->AuthenticatePassword(creds.user, creds.secret, request.remote);
    case Credentials::kMalformed: return core::Status::Unauthenticated(creds.problem);
    case Credentials::kNone: break;
  }
  return core::Status::Unauthenticated(
      "authentication required: send \"Authorization: Bearer <token>\" (log in at POST /api/v1/auth/login "
      "or create an API token)");
}

bool Api::CanAccessKey(const auth::Principal& principal, std::string_view key) const {
  if (principal.AllSites()) return true;
  return principal.CanAccessSite(SiteOf(key));
}

HttpResponse Api::Handle(const HttpRequest& request) {
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  struct Leave {
    std::atomic<int64_t>* n;
    ~Leave() { n->fetch_sub(1, std::memory_order_relaxed); }
  } leave{&in_flight_};
  const int64_t start = clock_->Steady();
  auto params = QueryParams::Parse(request.target);
  if (!params.ok()) return JsonError(400, params.status().message());
  std::string allowed;
  core::Status path_error;
  auto match = router_.Find(request.method, params->raw_path(), &allowed, &path_error);
  if (!path_error.ok()) return JsonError(400, path_error.message());
  if (!match) {
    if (!allowed.empty()) {
      HttpResponse r = JsonError(
          405, fmt::format("method {} is not allowed on {}; use {}", request.method, params->path(), allowed));
      r.allow = allowed;
      return r;
    }
    return JsonError(404, fmt::format("no such endpoint: {}", params->path()));
  }
  const Route& route = *match->route;
  if (!ServiceAvailable(route)) {
    return JsonError(503, fmt::format("{} is not enabled on this server", route.tag));
  }
  auth::Principal principal = anonymous_;
  if (route.authenticated) {
    auto who = AuthenticateRequest(request);
    if (!who.ok()) {
      HttpResponse r = StatusResponse(who.status());
      if (r.status == 401) r.www_authenticate = "Bearer realm=\"shopfloor\", Basic realm=\"shopfloor\"";
      ObserveRequest(route, r.status, start);
      return r;
    }
    principal = std::move(who).value();
    if (!principal.AtLeast(route.min_role)) {
      HttpResponse r = JsonError(403, fmt::format("{} {} needs the {} role; {} is {}", route.method, route.pattern,
                                                  auth::RoleName(route.min_role), principal.user,
                                                  auth::RoleName(principal.role)));
      ObserveRequest(route, r.status, start);
      return r;
    }
  }
  RouteContext ctx{request, *params, principal, std::move(match->args)};
  HttpResponse r = route.handler(ctx);
  ObserveRequest(route, r.status, start);
  return r;
}

bool Api::ServiceAvailable(const Route& route) const {
  const std::string& tag = route.tag;
  if (tag == "auth" || tag == "users") return services_.users != nullptr;
  if (tag == "audit") return services_.audit != nullptr;
  if (tag == "assets" || tag == "types") return services_.assets != nullptr;
  if (tag == "twins") return services_.twins != nullptr && services_.assets != nullptr;
  if (tag == "events") return services_.events != nullptr;
  if (tag == "sources") return static_cast<bool>(services_.sources);
  return true;
}

void Api::AddRoutes() {
  AddStorageRoutes();
  AddAuthRoutes();
  AddUserRoutes();
  AddModelRoutes();
  AddTwinRoutes();
  AddAdminRoutes();
  AddSourceRoutes();
  AddDeviceRoutes();
}

namespace {

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

HttpResponse Api::HandleInfluxQuery(const HttpRequest& request, const QueryParams& params) {
  std::string q;
  if (const std::string* v = params.Get("q")) q = *v;
  if (q.empty() && !request.body.empty()) {
    // Form-encoded body: q=CREATE+DATABASE+...
    auto form = QueryParams::Parse(fmt::format("/?{}", request.body));
    if (form.ok() && form->Get("q")) q = *form->Get("q");
  }
  std::string_view text = q;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  if (StartsWithNoCase(text, "CREATE DATABASE")) {
    HttpResponse r;
    r.body = R"({"results":[{"statement_id":0}]})";
    return r;
  }
  return JsonError(400, "InfluxQL queries are not supported; use GET /api/v1/query");
}

}  // namespace shopfloor::server
