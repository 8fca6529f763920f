// Decoding of JSON request bodies for the REST API. Every function reads bytes from the
// network: bad input is a kInvalidArgument Status naming the field (as a JSON pointer-ish
// path, e.g. "body.tags[2].unit"), never an exception escaping or a crash.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/core.h"
#include "server/http_types.h"

namespace shopfloor::server {

using Json = nlohmann::json;

// The body must be a JSON object (at most `max_depth` deep) whose keys are all in `allowed`.
core::Result<Json> ParseJsonObject(std::string_view body, std::initializer_list<std::string_view> allowed);
// Checks that an object's keys are all in `allowed`; `where` names it in errors.
core::Status CheckKeys(const Json& object, std::string_view where, std::initializer_list<std::string_view> allowed);

// Field readers: `where` names the enclosing object ("body", "body.tags[0]").
core::Result<std::string> RequiredString(const Json& object, std::string_view where, std::string_view field);
core::Result<std::optional<std::string>> OptionalString(const Json& object, std::string_view where,
                                                        std::string_view field);
core::Result<std::optional<double>> OptionalNumber(const Json& object, std::string_view where, std::string_view field);
core::Result<std::optional<bool>> OptionalBool(const Json& object, std::string_view where, std::string_view field);
core::Result<std::optional<std::vector<std::string>>> OptionalStringList(const Json& object, std::string_view where,
                                                                         std::string_view field);

// A JSON scalar as a core::Value of `type` (numbers must fit: an int64 tag refuses 1.5).
core::Result<core::Value> JsonToValue(const Json& value, core::ValueType type, std::string_view where);
Json ValueToJson(const core::Value& value);

// Maps a Status to an HTTP error answer: InvalidArgument 400, Unauthenticated 401,
// PermissionDenied 403, NotFound 404, AlreadyExists 409, OutOfRange 422, NoSpace 507,
// Busy/Unavailable/Timeout 503, everything else 500.
HttpResponse StatusResponse(const core::Status& status);
int HttpStatusFor(core::StatusCode code);

// A JSON answer with `status`.
HttpResponse JsonResponse(const Json& body, int status = 200);

// RFC 3339 UTC with nanoseconds trimmed to what is needed: "2026-11-25T06:00:00.123Z".
std::string FormatRfc3339(core::Timestamp ts);

}  // namespace shopfloor::server
