// Internal: an AlarmDefinition compiled into what its state machine evaluates.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "rules/alarm.h"
#include "rules/expr.h"

namespace shopfloor::rules {

struct CompiledAlarm {
  AlarmDefinition definition;
  // The measured quantity the condition compares (limit: the tag; rate of change: rate();
  // deviation: tag - setpoint; expression: the boolean itself). Empty for discrete alarms,
  // which compare the latest sample of `discrete_key` directly (string states included).
  std::optional<Expression> measure;
  std::string discrete_key;
  std::optional<Expression> suppression;
  // Series keys read by the alarm (measure, discrete tag, suppression), each once.
  std::vector<std::string> inputs;
};

// Validates `definition` and compiles its condition and suppression against `resolver`.
core::Result<CompiledAlarm> CompileAlarm(AlarmDefinition definition, const Resolver& resolver);

// "<asset>/<tag>".
std::string SeriesKey(const AlarmDefinition& definition, const std::string& tag);

}  // namespace shopfloor::rules
