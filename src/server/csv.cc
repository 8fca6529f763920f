#include "server/csv.h"

#include <fmt/format.h>

namespace shopfloor::server {

void AppendCsvField(std::string_view text, std::string* out) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(text);
    return;
  }
  out->push_back('"');
  for (char c : text) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

core::Result<bool> WantsCsv(const HttpRequest& request, const QueryParams& params) {
  if (const std::string* f = params.Get("format")) {
    if (*f == "csv") return true;
    if (*f == "json") return false;
    return core::Status::InvalidArgument(fmt::format("parameter \"format\": \"{}\" is not json or csv", *f));
  }
  return request.accept.find("text/csv") != std::string_view::npos &&
         request.accept.find("application/json") == std::string_view::npos;
}

}  // namespace shopfloor::server
