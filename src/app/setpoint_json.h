// JSON of setpoint values, shared by the connectors' setpoint writers (OPC UA, Sparkplug):
// a core::Value for audit entries and events, and the desired value out of a "twin.desired"
// event ({"type": "double", "value": 6.5}, server/model_json).
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "core/types.h"

namespace shopfloor::app {

// Numbers, booleans and strings as themselves; a non-finite double as its text.
nlohmann::json ValueJson(const core::Value& v);

// The desired value of one tag in the event's "after" object, in the tag's type (an integer
// is accepted for a double tag); nullopt when absent or of another type.
std::optional<core::Value> DesiredValueFromJson(const nlohmann::json& typed, core::ValueType type);

}  // namespace shopfloor::app
