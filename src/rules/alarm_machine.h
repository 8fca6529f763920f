// Internal: the state machine of one alarm (docs/alarms.md has the transition table).
//
// Three layers, evaluated in this order at each Evaluate(now):
//   1. suppression by design and shelve expiry (the overlays),
//   2. the raw condition: the measure compared with trip and clear thresholds (deadband);
//      an unknown measure holds the raw condition and flags input_bad,
//   3. the delayed process state `active_`: the raw condition must differ from it
//      continuously for on_delay / off_delay, on known data, before it follows.
// The displayed state is OutOfService > Suppressed > Shelved > the ISA state given by
// (active_, acked_). Every change of the displayed state emits one AlarmEvent; process
// changes under shelving or suppression emit from == to events; under out of service none.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/alarm.h"
#include "rules/alarm_def.h"

namespace shopfloor::rules {

class AlarmMachine {
 public:
  AlarmMachine(CompiledAlarm compiled, const EvaluatorOptions& options);

  const AlarmDefinition& definition() const { return compiled_.definition; }
  const std::vector<std::string>& inputs() const { return compiled_.inputs; }

  void OnSample(std::string_view series_key, const core::Sample& sample);
  void Evaluate(core::Timestamp now, std::vector<AlarmEvent>* events);
  std::optional<core::Timestamp> NextDeadline() const;

  // Operator actions; the caller has checked the role. Each first evaluates at `now`.
  core::Status Acknowledge(const std::string& user, std::string_view comment, core::Timestamp now,
                           std::vector<AlarmEvent>* events);
  core::Status Shelve(const std::string& user, std::string_view comment, core::Timestamp until, core::Timestamp now,
                      std::vector<AlarmEvent>* events);
  core::Status Unshelve(const std::string& user, std::string_view comment, core::Timestamp now,
                        std::vector<AlarmEvent>* events);
  core::Status SetOutOfService(bool out_of_service, const std::string& user, std::string_view comment,
                               core::Timestamp now, std::vector<AlarmEvent>* events);

  AlarmState state() const;
  AlarmStatus Status() const;

 private:
  struct Measure {
    bool known = false;
    double number = 0;
    bool flag = false;  // discrete and expression kinds
    core::Value value;
  };

  Measure ReadMeasure(core::Timestamp now);
  // The raw condition after `m`, given the current one (the deadband holds it).
  bool RawCondition(const Measure& m) const;
  void UpdateProcess(core::Timestamp now, std::vector<AlarmEvent>* events);
  void UpdateOverlays(core::Timestamp now, std::vector<AlarmEvent>* events);
  bool Hidden() const { return out_of_service_ || suppressed_ || shelved_; }
  AlarmState Underlying() const;
  // Emits the event for a change made since `before` was the displayed state, and
  // settles the acknowledgement when the alarm becomes visible again.
  void Emit(AlarmState before, bool was_hidden, AlarmCause cause, core::Timestamp now, const std::string& user,
            std::string_view comment, std::vector<AlarmEvent>* events);
  core::Status Refuse(std::string_view action, std::string_view why) const;

  CompiledAlarm compiled_;
  std::optional<Evaluator> measure_;
  std::optional<Evaluator> suppression_;
  std::optional<core::Sample> discrete_latest_;

  core::Timestamp now_ = INT64_MIN;
  bool raw_ = false;           // the condition after the deadband, before the delays
  bool input_bad_ = true;      // no known measure yet
  std::optional<core::Value> value_;
  std::optional<core::Timestamp> pending_since_;  // raw_ != active_ since then, on known data

  bool active_ = false;
  bool acked_ = true;
  bool shelved_ = false;
  core::Timestamp shelved_until_ = 0;
  bool suppressed_ = false;
  bool out_of_service_ = false;
  core::Timestamp since_ = 0;
};

}  // namespace shopfloor::rules
