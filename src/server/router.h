// Router: the table of REST routes. Each route has a method, a path pattern with {named}
// segments, the least role that may call it, and the documentation the OpenAPI document is
// generated from, so the document cannot drift from what is served (a test also calls every
// documented route).
//
// Matching is on the raw (still percent-encoded) path split at '/', then each segment is
// decoded: a {segment} may hold an encoded '/' ("%2F"), e.g. an asset path.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth.h"
#include "server/http_types.h"
#include "server/query_params.h"

namespace shopfloor::server {

struct RouteContext {
  const HttpRequest& request;
  const QueryParams& params;
  const auth::Principal& principal;   // the anonymous principal for public routes
  std::vector<std::string> args;      // decoded {segment} values, in pattern order

  const std::string& arg(size_t i) const { return args.at(i); }
};

using RouteHandler = std::function<HttpResponse(RouteContext&)>;

// One documented query or path parameter.
struct ParamDoc {
  std::string name;
  std::string in = "query";  // "query" or "path"
  std::string type = "string";
  bool required = false;
  std::string description;
};

struct Route {
  std::string method;   // GET, POST, PUT, PATCH, DELETE
  std::string pattern;  // "/api/v1/assets/{asset}/twin"
  bool authenticated = true;
  auth::Role min_role = auth::Role::kViewer;
  // OpenAPI
  std::string tag;      // group, e.g. "assets"
  std::string summary;
  std::vector<ParamDoc> params;  // query parameters (path parameters are derived)
  std::string request_schema;    // JSON Schema object text, "" when no body
  std::string response_schema;   // JSON Schema of the 2xx body, "" for none
  int success_status = 200;
  std::string response_content_type = "application/json";
  RouteHandler handler;
};

class Router {
 public:
  void Add(Route route);

  struct Match {
    const Route* route = nullptr;
    std::vector<std::string> args;
  };
  // The route for (method, raw path). When the path matches with another method only,
  // returns nullopt and sets *allowed to the accepted methods ("GET, PATCH"); when nothing
  // matches, nullopt with *allowed empty. A bad percent-encoding is a 400 via *error.
  std::optional<Match> Find(std::string_view method, std::string_view raw_path, std::string* allowed,
                            core::Status* error) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  struct Compiled {
    std::vector<std::string> segments;  // "{x}" for a parameter
  };
  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;
};

}  // namespace shopfloor::server
