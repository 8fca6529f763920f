#include "server/api.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

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

Api::Api(storage::Storage* storage, core::Clock* clock, const HttpServerOptions& options)
    : storage_(storage), clock_(clock), options_(options), cache_(options.series_cache_capacity) {}

namespace {

HttpResponse MethodNotAllowed(std::string_view method, std::string_view path, std::string_view allow) {
  HttpResponse r = JsonError(405, fmt::format("method {} is not allowed on {}; use {}", method, path, allow));
  r.allow = std::string(allow);
  return r;
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

HttpResponse Api::Handle(const HttpRequest& request) {
  auto params = QueryParams::Parse(request.target);
  if (!params.ok()) return JsonError(400, params.status().message());
  const std::string& path = params->path();
  const std::string_view method = request.method;
  const bool get = method == "GET" || method == "HEAD";

  if (path == "/write" || path == "/api/v2/write") {
    if (method != "POST") return MethodNotAllowed(method, path, "POST");
    return HandleWrite(request, *params);
  }
  if (path == "/api/v1/query") {
    if (!get) return MethodNotAllowed(method, path, "GET");
    return HandleQuery(*params);
  }
  if (path == "/api/v1/latest") {
    if (!get) return MethodNotAllowed(method, path, "GET");
    return HandleLatest(*params);
  }
  if (path == "/api/v1/series") {
    if (!get) return MethodNotAllowed(method, path, "GET");
    return HandleSeries(*params);
  }
  if (path == "/") {
    if (!get) return MethodNotAllowed(method, path, "GET");
    return HandleIndex();
  }
  if (path == "/healthz") {
    if (!get) return MethodNotAllowed(method, path, "GET");
    HttpResponse r;
    r.body = R"({"status":"ok"})";
    return r;
  }
  if (path == "/ping") {
    if (!get) return MethodNotAllowed(method, path, "GET, HEAD");
    HttpResponse r;
    r.status = 204;
    return r;
  }
  if (path == "/query") {
    if (method != "POST" && method != "GET") return MethodNotAllowed(method, path, "GET, POST");
    return HandleInfluxQuery(request, *params);
  }
  return JsonError(404, fmt::format("no such endpoint: {}", path));
}

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
