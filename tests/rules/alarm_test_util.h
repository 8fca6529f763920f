// Shared helpers of the alarm tests: a compressor on the demo plant, principals of each
// role, and a simulated clock (plain timestamps: the alarm core never reads a clock).
#pragma once

#include <string>
#include <vector>

#include "auth/auth.h"
#include "rules/alarm.h"

namespace shopfloor::rules::testing {

inline constexpr const char* kCompressor = "demo-works/stuttgart/utilities/compressor-1";
inline const std::string kPressure = std::string(kCompressor) + "/discharge_pressure";
inline const std::string kSetpoint = std::string(kCompressor) + "/pressure_setpoint";
inline const std::string kState = std::string(kCompressor) + "/state";
inline const std::string kVibration = std::string(kCompressor) + "/vibration_rms";
inline constexpr core::Timestamp kT0 = 1'700'000'000LL * core::kSecond;
inline constexpr core::Duration kS = core::kSecond;

inline auth::Principal Who(std::string name, auth::Role role) {
  auth::Principal p;
  p.user = std::move(name);
  p.role = role;
  return p;
}
inline const auth::Principal kViewer = Who("vera", auth::Role::kViewer);
inline const auth::Principal kOperator = Who("olga", auth::Role::kOperator);
inline const auth::Principal kEngineer = Who("emil", auth::Role::kEngineer);
inline const auth::Principal kAdmin = Who("ada", auth::Role::kAdmin);

// A limit alarm on the compressor's discharge pressure.
inline AlarmDefinition PressureLimit(std::string id, LimitType type, double setpoint, double deadband = 0) {
  AlarmDefinition d;
  d.id = std::move(id);
  d.asset = kCompressor;
  d.tag = "discharge_pressure";
  d.condition = LimitCondition{type, setpoint, deadband};
  d.priority = AlarmPriority::kHigh;
  d.message = "discharge pressure out of limits";
  return d;
}

inline core::Sample Good(core::Timestamp ts, core::Value v) { return core::Sample{ts, std::move(v), core::Quality::Good()}; }
inline core::Sample Bad(core::Timestamp ts) { return core::Sample{ts, 0.0, core::Quality::BadSensorFailure()}; }

// "from->to:cause" for each event, compact to compare whole sequences.
inline std::vector<std::string> Transitions(const std::vector<AlarmEvent>& events) {
  std::vector<std::string> out;
  for (const AlarmEvent& e : events) {
    out.push_back(std::string(AlarmStateName(e.from)) + "->" + std::string(AlarmStateName(e.to)) + ":" +
                  std::string(AlarmCauseName(e.cause)));
  }
  return out;
}

}  // namespace shopfloor::rules::testing
