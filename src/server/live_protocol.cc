#include "server/live_protocol.h"

#include <cmath>
#include <iterator>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "server/http_types.h"

namespace shopfloor::server {

namespace {

using Json = nlohmann::json;

core::Status FieldError(std::string_view field, std::string_view what) {
  return core::Status::InvalidArgument(fmt::format("field \"{}\": {}", field, what));
}

core::Result<std::string> StringField(const Json& object, std::string_view field, size_t max_bytes) {
  auto it = object.find(field);
  if (it == object.end()) return FieldError(field, "missing");
  if (!it->is_string()) return FieldError(field, "must be a string");
  const std::string& text = it->get_ref<const std::string&>();
  if (text.empty()) return FieldError(field, "must not be empty");
  if (text.size() > max_bytes) return FieldError(field, fmt::format("longer than {} bytes", max_bytes));
  return text;
}

core::Status ParseSubscribeSelection(const Json& object, LiveRequest* request) {
  const bool has_series = object.contains("series");
  const bool has_asset = object.contains("asset");
  if (has_series == has_asset) {
    return core::Status::InvalidArgument("subscribe needs exactly one of the fields \"series\" and \"asset\"");
  }
  if (has_asset) {
    SF_ASSIGN_OR_RETURN(std::string asset, StringField(object, "asset", kMaxLiveKeyBytes));
    while (!asset.empty() && asset.back() == '/') asset.pop_back();
    if (asset.empty()) return FieldError("asset", "must name an asset path, not \"/\"");
    request->asset = std::move(asset);
    return core::Status::OK();
  }
  const Json& series = object.at("series");
  if (!series.is_array()) return FieldError("series", "must be an array of series keys");
  if (series.empty()) return FieldError("series", "must not be empty");
  request->series.reserve(series.size());
  for (size_t i = 0; i < series.size(); ++i) {
    const Json& key = series[i];
    if (!key.is_string()) return FieldError("series", fmt::format("element {} is not a string", i));
    const std::string& text = key.get_ref<const std::string&>();
    if (text.empty() || text.size() > kMaxLiveKeyBytes) {
      return FieldError("series", fmt::format("element {} must be 1..{} bytes", i, kMaxLiveKeyBytes));
    }
    request->series.push_back(text);
  }
  return core::Status::OK();
}

}  // namespace

core::Result<LiveRequest> ParseLiveRequest(std::string_view text) {
  Json object = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) return core::Status::InvalidArgument("message is not valid JSON");
  if (!object.is_object()) return core::Status::InvalidArgument("message must be a JSON object");
  for (const auto& [name, unused] : object.items()) {
    if (name != "op" && name != "id" && name != "series" && name != "asset") {
      return FieldError(name, "unknown field (expected op, id, series, asset)");
    }
  }
  LiveRequest request;
  SF_ASSIGN_OR_RETURN(std::string op, StringField(object, "op", 32));
  SF_ASSIGN_OR_RETURN(request.id, StringField(object, "id", kMaxLiveIdBytes));
  if (op == "subscribe") {
    request.op = LiveRequest::Op::kSubscribe;
    SF_RETURN_IF_ERROR(ParseSubscribeSelection(object, &request));
  } else if (op == "unsubscribe") {
    request.op = LiveRequest::Op::kUnsubscribe;
    if (object.contains("series") || object.contains("asset")) {
      return core::Status::InvalidArgument("unsubscribe takes only \"op\" and \"id\"");
    }
  } else {
    return FieldError("op", fmt::format("unknown operation \"{}\" (expected subscribe or unsubscribe)",
                                        op.size() > 32 ? op.substr(0, 32) : op));
  }
  return request;
}

std::string LiveQualityName(core::Quality quality) {
  if (quality == core::Quality::Good()) return "good";
  if (quality == core::Quality::Bad()) return "bad";
  if (quality == core::Quality::Uncertain()) return "uncertain";
  return fmt::format("0x{:08X}", quality.opcua_status());
}

void AppendLiveSample(std::string_view series_key, const core::Sample& sample, std::string* out) {
  out->append("{\"series\":");
  AppendJsonString(series_key, out);
  out->append(",\"ts\":\"");
  out->append(core::FormatTimestamp(sample.ts));
  out->append("\",\"value\":");
  const core::Value& v = sample.value;
  switch (v.type()) {
    case core::ValueType::kDouble:
      if (std::isfinite(v.as_double())) {
        fmt::format_to(std::back_inserter(*out), "{}", v.as_double());
      } else {
        out->append("null");
      }
      break;
    case core::ValueType::kInt64: fmt::format_to(std::back_inserter(*out), "{}", v.as_int()); break;
    case core::ValueType::kBool: out->append(v.as_bool() ? "true" : "false"); break;
    case core::ValueType::kString: AppendJsonString(v.as_string(), out); break;
  }
  out->append(",\"quality\":\"");
  out->append(LiveQualityName(sample.quality));
  out->append("\"}");
}

std::string LiveErrorMessage(std::string_view id, std::string_view message) {
  std::string out = "{\"type\":\"error\",";
  if (!id.empty()) {
    out.append("\"id\":");
    AppendJsonString(id, &out);
    out.push_back(',');
  }
  out.append("\"message\":");
  AppendJsonString(message, &out);
  out.push_back('}');
  return out;
}

}  // namespace shopfloor::server
