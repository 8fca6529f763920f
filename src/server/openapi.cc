#include "server/openapi.h"

#include <map>

#include "server/json_body.h"

namespace shopfloor::server {

namespace {

Json SchemaOrString(const std::string& text) {
  if (text.empty()) return Json::object();
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json{{"type", "string"}} : j;
}

std::vector<std::string> PathParams(const std::string& pattern) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = pattern.find('{', pos)) != std::string::npos) {
    size_t end = pattern.find('}', pos);
    out.push_back(pattern.substr(pos + 1, end - pos - 1));
    pos = end;
  }
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string BuildOpenApi(const Router& router, std::string_view version) {
  Json doc;
  doc["openapi"] = "3.0.3";
  doc["info"] = {{"title", "Shopfloor API"},
                 {"version", std::string(version)},
                 {"description",
                  "Industrial IoT platform: asset model, digital twins, time series, users and audit. Every route "
                  "but /healthz and /api/v1/auth/login needs a bearer token (session or API token) or basic auth."}};
  doc["components"]["securitySchemes"] = {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}},
                                          {"basic", {{"type", "http"}, {"scheme", "basic"}}}};
  doc["components"]["schemas"]["Error"] = {
      {"type", "object"},
      {"properties",
       {{"error", {{"type", "object"}, {"properties", {{"code", {{"type", "integer"}}}, {"message", {{"type", "string"}}}}}}}}}};
  // A tag as the API answers it (model_json.cc TagJson); routes refer to it by $ref.
  doc["components"]["schemas"]["Tag"] = Json::parse(
      R"j({"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"},)j"
      R"j("type":{"type":"string","enum":["double","int64","bool","string"]},"unit":{"type":"string"},)j"
      R"j("range":{"type":"object","nullable":true,"properties":{"min":{"type":"number"},"max":{"type":"number"}}},)j"
      R"j("description":{"type":"string"},"deadband":{"type":"number"},"writable":{"type":"boolean"},)j"
      R"j("binding":{"type":"object","nullable":true,"properties":{"source":{"type":"string"},"address":{"type":"string"}}},)j"
      R"j("critical":{"type":"boolean"},"series_key":{"type":"string"},"from_type":{"type":"boolean"}}})j");
  Json paths = Json::object();
  for (const Route& route : router.routes()) {
    Json op;
    op["summary"] = route.summary;
    op["tags"] = Json::array({route.tag});
    op["operationId"] = Lower(route.method) + route.pattern;
    op["x-min-role"] = std::string(auth::RoleName(route.min_role));
    if (!route.authenticated) op["security"] = Json::array();
    Json params = Json::array();
    for (const std::string& p : PathParams(route.pattern)) {
      params.push_back({{"name", p}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
    }
    for (const ParamDoc& p : route.params) {
      params.push_back({{"name", p.name},
                        {"in", p.in},
                        {"required", p.required},
                        {"description", p.description},
                        {"schema", {{"type", p.type}}}});
    }
    if (!params.empty()) op["parameters"] = params;
    if (!route.request_schema.empty()) {
      Json schema = SchemaOrString(route.request_schema);
      const bool text = schema.value("type", "") == "string";
      op["requestBody"] = {{"required", true},
                           {"content", {{text ? "text/plain" : "application/json", {{"schema", schema}}}}}};
    }
    Json responses;
    Json ok = {{"description", "success"}};
    if (!route.response_content_type.empty() && !route.response_schema.empty()) {
      ok["content"][route.response_content_type]["schema"] = SchemaOrString(route.response_schema);
    }
    responses[std::to_string(route.success_status)] = ok;
    Json error = {{"description", "error"}, {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
    for (const char* code : {"400", "404"}) responses[code] = error;
    if (route.authenticated) {
      responses["401"] = error;
      responses["403"] = error;
    }
    op["responses"] = responses;
    paths[route.pattern][Lower(route.method)] = op;
  }
  doc["paths"] = paths;
  doc["security"] = Json::array({{{"bearer", Json::array()}}, {{"basic", Json::array()}}});
  return doc.dump(1);
}

}  // namespace shopfloor::server
