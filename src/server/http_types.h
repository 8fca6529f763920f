// Transport-neutral request and response: the handlers see these, never Beast types, so
// they compile fast and are tested without sockets.
#pragma once

#include <string>
#include <string_view>

namespace shopfloor::server {

struct HttpRequest {
  std::string_view method;            // "GET", "POST", ...
  std::string_view target;            // "/write?db=telegraf&precision=s"
  std::string_view content_encoding;  // "" or e.g. "gzip"
  std::string_view body;
  std::string_view content_type;      // "" or e.g. "application/json"
  std::string_view authorization;     // the Authorization header, verbatim ("" when absent)
  std::string_view accept;            // the Accept header ("" when absent)
  std::string_view cookie;            // the Cookie header ("" when absent)
  std::string_view remote;            // peer "ip:port" (for audit and lockout logs)
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string allow;  // for 405: the methods the path accepts
  std::string www_authenticate;  // for 401: the challenge, e.g. "Bearer realm=\"shopfloor\""
  std::string content_disposition;  // e.g. "attachment; filename=\"query.csv\"" (CSV export)
  std::string cache_control;        // e.g. "no-store"
};

// {"error":{"code":<status>,"message":"<message>"}}
HttpResponse JsonError(int status, std::string_view message);
// Appends `text` to *out as a JSON string literal (quotes included).
void AppendJsonString(std::string_view text, std::string* out);

}  // namespace shopfloor::server
