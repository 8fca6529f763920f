#include "server/json_body.h"

#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace shopfloor::server {

using core::Result;
using core::Status;

namespace {

constexpr int kMaxDepth = 32;

int Depth(const Json& j, int depth) {
  if (depth > kMaxDepth) return depth;
  int max = depth;
  if (j.is_object() || j.is_array()) {
    for (const auto& child : j) {
      max = std::max(max, Depth(child, depth + 1));
      if (max > kMaxDepth) break;
    }
  }
  return max;
}

std::string_view TypeName(const Json& j) { return j.type_name(); }

}  // namespace

Status CheckKeys(const Json& object, std::string_view where, std::initializer_list<std::string_view> allowed) {
  if (!object.is_object()) return Status::InvalidArgument(fmt::format("{}: must be a JSON object", where));
  for (auto it = object.begin(); it != object.end(); ++it) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == it.key();
    if (!known) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return Status::InvalidArgument(
          fmt::format("{}.{}: unknown field (expected one of: {})", where, it.key(), list.empty() ? "none" : list));
    }
  }
  return Status::OK();
}

Result<Json> ParseJsonObject(std::string_view body, std::initializer_list<std::string_view> allowed) {
  if (body.empty()) return Status::InvalidArgument("body: a JSON object is required");
  Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("body: not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument(fmt::format("body: must be a JSON object, got {}", TypeName(j)));
  if (Depth(j, 0) > kMaxDepth) return Status::InvalidArgument(fmt::format("body: nested deeper than {}", kMaxDepth));
  SF_RETURN_IF_ERROR(CheckKeys(j, "body", allowed));
  return j;
}

Result<std::string> RequiredString(const Json& object, std::string_view where, std::string_view field) {
  auto it = object.find(field);
  if (it == object.end()) return Status::InvalidArgument(fmt::format("{}.{}: required", where, field));
  if (!it->is_string()) {
    return Status::InvalidArgument(fmt::format("{}.{}: must be a string, got {}", where, field, TypeName(*it)));
  }
  return it->get<std::string>();
}

Result<std::optional<std::string>> OptionalString(const Json& object, std::string_view where, std::string_view field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) {
    return Status::InvalidArgument(fmt::format("{}.{}: must be a string, got {}", where, field, TypeName(*it)));
  }
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::optional<double>> OptionalNumber(const Json& object, std::string_view where, std::string_view field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return std::optional<double>();
  if (!it->is_number()) {
    return Status::InvalidArgument(fmt::format("{}.{}: must be a number, got {}", where, field, TypeName(*it)));
  }
  return std::optional<double>(it->get<double>());
}

Result<std::optional<bool>> OptionalBool(const Json& object, std::string_view where, std::string_view field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) {
    return Status::InvalidArgument(fmt::format("{}.{}: must be true or false, got {}", where, field, TypeName(*it)));
  }
  return std::optional<bool>(it->get<bool>());
}

Result<std::optional<std::vector<std::string>>> OptionalStringList(const Json& object, std::string_view where,
                                                                   std::string_view field) {
  using Out = std::optional<std::vector<std::string>>;
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return Out();
  if (!it->is_array()) {
    return Status::InvalidArgument(fmt::format("{}.{}: must be an array of strings, got {}", where, field, TypeName(*it)));
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& e = (*it)[i];
    if (!e.is_string()) {
      return Status::InvalidArgument(fmt::format("{}.{}[{}]: must be a string, got {}", where, field, i, TypeName(e)));
    }
    out.push_back(e.get<std::string>());
  }
  return Out(std::move(out));
}

Result<core::Value> JsonToValue(const Json& value, core::ValueType type, std::string_view where) {
  switch (type) {
    case core::ValueType::kDouble:
      if (value.is_number()) {
        double d = value.get<double>();
        if (std::isfinite(d)) return core::Value(d);
      }
      return Status::InvalidArgument(fmt::format("{}: must be a finite number (the tag is double)", where));
    case core::ValueType::kInt64:
      if (value.is_number_integer()) {
        if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) break;
        return core::Value(value.get<int64_t>());
      }
      if (value.is_number_float()) {
        double d = value.get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18) return core::Value(static_cast<int64_t>(d));
      }
      break;
    case core::ValueType::kBool:
      if (value.is_boolean()) return core::Value(value.get<bool>());
      return Status::InvalidArgument(fmt::format("{}: must be true or false (the tag is bool)", where));
    case core::ValueType::kString:
      if (value.is_string()) return core::Value(value.get<std::string>());
      return Status::InvalidArgument(fmt::format("{}: must be a string (the tag is string)", where));
  }
  return Status::InvalidArgument(fmt::format("{}: must be an integer within int64 (the tag is int64)", where));
}

Json ValueToJson(const core::Value& value) {
  switch (value.type()) {
    case core::ValueType::kDouble: {
      double d = value.as_double();
      return std::isfinite(d) ? Json(d) : Json(nullptr);
    }
    case core::ValueType::kInt64: return Json(value.as_int());
    case core::ValueType::kBool: return Json(value.as_bool());
    case core::ValueType::kString: return Json(value.as_string());
  }
  return Json(nullptr);
}

int HttpStatusFor(core::StatusCode code) {
  switch (code) {
    case core::StatusCode::kOk: return 200;
    case core::StatusCode::kInvalidArgument: return 400;
    case core::StatusCode::kUnauthenticated: return 401;
    case core::StatusCode::kPermissionDenied: return 403;
    case core::StatusCode::kNotFound: return 404;
    case core::StatusCode::kAlreadyExists: return 409;
    case core::StatusCode::kOutOfRange: return 422;
    case core::StatusCode::kNoSpace: return 507;
    case core::StatusCode::kBusy:
    case core::StatusCode::kUnavailable:
    case core::StatusCode::kTimeout: return 503;
    default: return 500;
  }
}

HttpResponse StatusResponse(const core::Status& status) {
  return JsonError(HttpStatusFor(status.code()), status.message());
}

HttpResponse JsonResponse(const Json& body, int status) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

std::string FormatRfc3339(core::Timestamp ts) {
  int64_t secs = ts / core::kSecond;
  int64_t nanos = ts % core::kSecond;
  if (nanos < 0) {
    nanos += core::kSecond;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (nanos != 0) {
    std::string frac = fmt::format("{:09}", nanos);
    while (frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  out += "Z";
  return out;
}

}  // namespace shopfloor::server
