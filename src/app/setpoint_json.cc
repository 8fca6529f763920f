#include "app/setpoint_json.h"

#include <cmath>

namespace shopfloor::app {

using Json = nlohmann::json;

Json ValueJson(const core::Value& v) {
  switch (v.type()) {
    case core::ValueType::kDouble: return std::isfinite(v.as_double()) ? Json(v.as_double()) : Json(v.ToString());
    case core::ValueType::kInt64: return v.as_int();
    case core::ValueType::kBool: return v.as_bool();
    case core::ValueType::kString: return v.as_string();
  }
  return nullptr;
}

std::optional<core::Value> DesiredValueFromJson(const Json& typed, core::ValueType type) {
  if (!typed.is_object() || !typed.contains("value")) return std::nullopt;
  const Json& j = typed["value"];
  switch (type) {
    case core::ValueType::kDouble:
      if (j.is_number()) return core::Value(j.get<double>());
      break;
    case core::ValueType::kInt64:
      if (j.is_number_integer()) return core::Value(j.get<int64_t>());
      break;
    case core::ValueType::kBool:
      if (j.is_boolean()) return core::Value(j.get<bool>());
      break;
    case core::ValueType::kString:
      if (j.is_string()) return core::Value(j.get<std::string>());
      break;
  }
  return std::nullopt;
}

}  // namespace shopfloor::app
