// CSV export (RFC 4180): any query answers CSV when asked with `format=csv` or
// `Accept: text/csv`. Times are RFC 3339 UTC, lines end in CRLF, fields with commas, quotes
// or line breaks are quoted.
#pragma once

#include <string>
#include <string_view>

#include "core/core.h"
#include "server/http_types.h"
#include "server/query_params.h"

namespace shopfloor::server {

void AppendCsvField(std::string_view text, std::string* out);
// True for format=csv or an Accept header preferring text/csv; an unknown format is an error.
core::Result<bool> WantsCsv(const HttpRequest& request, const QueryParams& params);

}  // namespace shopfloor::server
