// Alarm definitions: validation with messages that name the field, names of the enums,
// and compilation of each kind's measure into the rules expression language.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "model/plant_config.h"
#include "rules/alarm_def.h"

namespace shopfloor::rules {

namespace {

constexpr size_t kMaxIdBytes = 200;
constexpr size_t kMaxLabelBytes = 4096;

core::Status Invalid(const AlarmDefinition& d, std::string_view what) {
  return core::Status::InvalidArgument(fmt::format("alarm '{}': {}", d.id, what));
}

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-' || c == '/' || c == ':';
}

bool IsValidAssetPath(std::string_view path) {
  if (path.empty()) return false;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    const std::string_view segment = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (!model::IsValidName(segment)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool IsDuration(core::Duration d) { return d >= 0 && d <= kMaxWindow; }

core::Status CheckDeadband(const AlarmDefinition& d, double deadband) {
  if (!std::isfinite(deadband) || deadband < 0) {
    return Invalid(d, fmt::format("deadband must be a finite number >= 0, got {}", deadband));
  }
  return core::Status::OK();
}

core::Status ValidateCondition(const AlarmDefinition& d) {
  const bool needs_tag = !std::holds_alternative<ExpressionCondition>(d.condition);
  if (needs_tag && !model::IsValidName(d.tag)) {
    return Invalid(d, fmt::format("tag must be a valid tag name, got '{}'", d.tag));
  }
  if (!needs_tag && !d.tag.empty()) {
    return Invalid(d, "tag must be empty for an expression alarm (the expression names its tags)");
  }
  if (const auto* limit = std::get_if<LimitCondition>(&d.condition)) {
    if (!std::isfinite(limit->setpoint)) return Invalid(d, fmt::format("setpoint must be finite, got {}", limit->setpoint));
    return CheckDeadband(d, limit->deadband);
  }
  if (const auto* rate = std::get_if<RateOfChangeCondition>(&d.condition)) {
    if (!std::isfinite(rate->limit_per_second) || rate->limit_per_second <= 0) {
      return Invalid(d, fmt::format("limit_per_second must be a finite number > 0, got {}", rate->limit_per_second));
    }
    if (rate->window <= 0 || rate->window > kMaxWindow) {
      return Invalid(d, fmt::format("window must be > 0 and at most 366d, got {}ns", rate->window));
    }
    SF_RETURN_IF_ERROR(CheckDeadband(d, rate->deadband));
    if (rate->deadband >= rate->limit_per_second) return Invalid(d, "deadband must be smaller than limit_per_second");
    return core::Status::OK();
  }
  if (const auto* deviation = std::get_if<DeviationCondition>(&d.condition)) {
    if (!model::IsValidName(deviation->setpoint_tag) || deviation->setpoint_tag == d.tag) {
      return Invalid(d, fmt::format("setpoint_tag must be a valid tag name other than tag, got '{}'",
                                    deviation->setpoint_tag));
    }
    if (!std::isfinite(deviation->limit) || deviation->limit <= 0) {
      return Invalid(d, fmt::format("limit must be a finite number > 0, got {}", deviation->limit));
    }
    SF_RETURN_IF_ERROR(CheckDeadband(d, deviation->deadband));
    if (deviation->deadband >= deviation->limit) return Invalid(d, "deadband must be smaller than limit");
    return core::Status::OK();
  }
  if (const auto* discrete = std::get_if<DiscreteCondition>(&d.condition)) {
    if (discrete->state.is_double() && !std::isfinite(discrete->state.as_double())) {
      return Invalid(d, "state must be finite");
    }
    return core::Status::OK();
  }
  const auto& expression = std::get<ExpressionCondition>(d.condition);
  if (expression.text.empty()) return Invalid(d, "expression text must not be empty");
  return core::Status::OK();
}

core::Result<Expression> CompileField(const AlarmDefinition& d, std::string_view field, const std::string& text,
                                      const Resolver& resolver) {
  auto compiled = Compile(text, d.asset, resolver);
  if (!compiled.ok()) return Invalid(d, fmt::format("{}: {}", field, compiled.status().message()));
  return compiled;
}

std::string MeasureText(const AlarmDefinition& d) {
  const std::string key = SeriesKey(d, d.tag);
  if (const auto* rate = std::get_if<RateOfChangeCondition>(&d.condition)) {
    return fmt::format("rate(tag(\"{}\"), {}ns)", key, rate->window);
  }
  if (const auto* deviation = std::get_if<DeviationCondition>(&d.condition)) {
    return fmt::format("tag(\"{}\") - tag(\"{}\")", key, SeriesKey(d, deviation->setpoint_tag));
  }
  if (const auto* expression = std::get_if<ExpressionCondition>(&d.condition)) return expression->text;
  return fmt::format("tag(\"{}\")", key);  // limit
}

void AddInputs(const std::vector<std::string>& keys, std::vector<std::string>* inputs) {
  for (const std::string& key : keys) {
    if (std::find(inputs->begin(), inputs->end(), key) == inputs->end()) inputs->push_back(key);
  }
}

}  // namespace

std::string SeriesKey(const AlarmDefinition& definition, const std::string& tag) {
  return definition.asset + "/" + tag;
}

core::Status ValidateAlarmDefinition(const AlarmDefinition& d) {
  if (d.id.empty() || d.id.size() > kMaxIdBytes || !std::all_of(d.id.begin(), d.id.end(), IsIdChar)) {
    return core::Status::InvalidArgument(fmt::format(
        "alarm id must be 1 to {} letters, digits or '._-/:', got '{}'", kMaxIdBytes, d.id));
  }
  if (d.name.size() > kMaxLabelBytes) return Invalid(d, "name is longer than 4096 bytes");
  if (d.message.size() > kMaxLabelBytes) return Invalid(d, "message is longer than 4096 bytes");
  if (!IsValidAssetPath(d.asset)) return Invalid(d, fmt::format("asset must be an asset path, got '{}'", d.asset));
  SF_RETURN_IF_ERROR(ValidateCondition(d));
  if (!IsDuration(d.on_delay)) return Invalid(d, fmt::format("on_delay must be 0 to 366d, got {}ns", d.on_delay));
  if (!IsDuration(d.off_delay)) return Invalid(d, fmt::format("off_delay must be 0 to 366d, got {}ns", d.off_delay));
  const auto priority = static_cast<int>(d.priority);
  if (priority < 1 || priority > 4) return Invalid(d, fmt::format("priority must be 1 (urgent) to 4 (low), got {}", priority));
  return core::Status::OK();
}

core::Result<CompiledAlarm> CompileAlarm(AlarmDefinition definition, const Resolver& resolver) {
  SF_RETURN_IF_ERROR(ValidateAlarmDefinition(definition));
  CompiledAlarm out;
  const AlarmDefinition& d = definition;
  if (std::holds_alternative<DiscreteCondition>(d.condition)) {
    out.discrete_key = SeriesKey(d, d.tag);
    if (resolver && !resolver(out.discrete_key)) return Invalid(d, fmt::format("unknown tag '{}'", out.discrete_key));
    out.inputs.push_back(out.discrete_key);
  } else {
    const bool is_expression = std::holds_alternative<ExpressionCondition>(d.condition);
    SF_ASSIGN_OR_RETURN(Expression measure,
                        CompileField(d, is_expression ? "expression" : "condition", MeasureText(d), resolver));
    const ResultType wanted = is_expression ? ResultType::kBool : ResultType::kNumber;
    if (measure.type() != wanted) {
      return Invalid(d, is_expression ? "expression must be boolean (a condition), got a number"
                                      : fmt::format("tag '{}' must be numeric", SeriesKey(d, d.tag)));
    }
    AddInputs(measure.inputs(), &out.inputs);
    out.measure = std::move(measure);
  }
  if (!d.suppression.empty()) {
    SF_ASSIGN_OR_RETURN(Expression suppression, CompileField(d, "suppression", d.suppression, resolver));
    if (suppression.type() != ResultType::kBool) return Invalid(d, "suppression must be boolean, got a number");
    AddInputs(suppression.inputs(), &out.inputs);
    out.suppression = std::move(suppression);
  }
  out.definition = std::move(definition);
  return out;
}

std::string_view AlarmStateName(AlarmState state) {
  switch (state) {
    case AlarmState::kNormal: return "normal";
    case AlarmState::kUnackActive: return "unack_active";
    case AlarmState::kAckActive: return "ack_active";
    case AlarmState::kRtnUnack: return "rtn_unack";
    case AlarmState::kShelved: return "shelved";
    case AlarmState::kSuppressed: return "suppressed";
    case AlarmState::kOutOfService: return "out_of_service";
  }
  return "unknown";
}

std::string_view AlarmCauseName(AlarmCause cause) {
  switch (cause) {
    case AlarmCause::kProcess: return "process";
    case AlarmCause::kAck: return "ack";
    case AlarmCause::kShelve: return "shelve";
    case AlarmCause::kUnshelve: return "unshelve";
    case AlarmCause::kShelveExpired: return "shelve_expired";
    case AlarmCause::kSuppress: return "suppress";
    case AlarmCause::kUnsuppress: return "unsuppress";
    case AlarmCause::kOutOfService: return "out_of_service";
    case AlarmCause::kInService: return "in_service";
  }
  return "unknown";
}

std::string_view AlarmPriorityName(AlarmPriority priority) {
  switch (priority) {
    case AlarmPriority::kUrgent: return "urgent";
    case AlarmPriority::kHigh: return "high";
    case AlarmPriority::kMedium: return "medium";
    case AlarmPriority::kLow: return "low";
  }
  return "unknown";
}

}  // namespace shopfloor::rules
