// The state machine of one alarm. Invariant: `acked_` is true whenever the alarm is
// visible (not hidden by an overlay) and not active, except in RTN_UNACK; when an overlay
// lifts on a cleared alarm it is set to true, so the alarm returns to Normal.
#include <climits>
#include <cmath>

#include <fmt/format.h>

#include "rules/alarm_machine.h"

namespace shopfloor::rules {

namespace {

core::Timestamp SaturatingAdd(core::Timestamp t, core::Duration d) {
  core::Timestamp out = 0;
  if (__builtin_add_overflow(t, d, &out)) return d > 0 ? INT64_MAX : INT64_MIN;
  return out;
}

// Discrete comparison: numbers (and bools as 0/1) by value, strings by text.
bool SameState(const core::Value& sample, const core::Value& state) {
  if (sample.is_string() || state.is_string()) {
    return sample.is_string() && state.is_string() && sample.as_string() == state.as_string();
  }
  double a = 0;
  double b = 0;
  return sample.ToNumber(&a) && state.ToNumber(&b) && a == b;
}

}  // namespace

AlarmMachine::AlarmMachine(CompiledAlarm compiled, const EvaluatorOptions& options)
    : compiled_(std::move(compiled)) {
  if (compiled_.measure) measure_.emplace(*compiled_.measure, options);
  if (compiled_.suppression) suppression_.emplace(*compiled_.suppression, options);
}

void AlarmMachine::OnSample(std::string_view series_key, const core::Sample& sample) {
  if (measure_) measure_->OnSample(series_key, sample);
  if (suppression_) suppression_->OnSample(series_key, sample);
  if (!compiled_.discrete_key.empty() && series_key == compiled_.discrete_key) {
    // Same rule as the Evaluator: an older sample than the latest is dropped.
    if (!discrete_latest_ || sample.ts >= discrete_latest_->ts) discrete_latest_ = sample;
  }
}

AlarmMachine::Measure AlarmMachine::ReadMeasure(core::Timestamp now) {
  Measure m;
  if (!measure_) {
    // Uncertain is usable, as in the rules language; Bad is unknown.
    if (!discrete_latest_ || discrete_latest_->quality.bad()) return m;
    m.known = true;
    m.flag = SameState(discrete_latest_->value, std::get<DiscreteCondition>(definition().condition).state);
    m.value = discrete_latest_->value;
    return m;
  }
  const EvalResult r = measure_->Evaluate(now);
  if (!r.known) return m;
  m.known = true;
  m.value = r.value;
  if (r.value.is_bool()) {
    m.flag = r.value.as_bool();
  } else {
    m.number = r.value.as_double();
  }
  return m;
}

bool AlarmMachine::RawCondition(const Measure& m) const {
  const AlarmCondition& c = definition().condition;
  if (std::holds_alternative<DiscreteCondition>(c) || std::holds_alternative<ExpressionCondition>(c)) return m.flag;
  double trip = 0;
  double clear = 0;
  double x = m.number;
  if (const auto* limit = std::get_if<LimitCondition>(&c)) {
    const bool high = limit->type == LimitType::kHi || limit->type == LimitType::kHiHi;
    // Mirror low limits so that every comparison below reads "x above trip".
    x = high ? x : -x;
    trip = high ? limit->setpoint : -limit->setpoint;
    clear = trip - limit->deadband;
  } else if (const auto* rate = std::get_if<RateOfChangeCondition>(&c)) {
    x = rate->direction == RateDirection::kRising ? x : rate->direction == RateDirection::kFalling ? -x : std::fabs(x);
    trip = rate->limit_per_second;
    clear = trip - rate->deadband;
  } else {
    const auto& deviation = std::get<DeviationCondition>(c);
    x = std::fabs(x);
    trip = deviation.limit;
    clear = trip - deviation.deadband;
  }
  if (x > trip) return true;
  if (x < clear) return false;
  return raw_;  // inside the deadband (or exactly at a threshold): unchanged
}

void AlarmMachine::Evaluate(core::Timestamp now, std::vector<AlarmEvent>* events) {
  if (now < now_) now = now_;
  now_ = now;
  UpdateOverlays(now, events);
  UpdateProcess(now, events);
}

void AlarmMachine::UpdateOverlays(core::Timestamp now, std::vector<AlarmEvent>* events) {
  if (shelved_ && now >= shelved_until_) {
    const AlarmState before = state();
    const bool was_hidden = Hidden();
    shelved_ = false;
    Emit(before, was_hidden, AlarmCause::kShelveExpired, now, "", "", events);
  }
  if (suppression_) {
    const EvalResult r = suppression_->Evaluate(now);
    const bool suppress = r.known && r.value.as_bool();  // unknown: not suppressed
    if (suppress != suppressed_) {
      const AlarmState before = state();
      const bool was_hidden = Hidden();
      suppressed_ = suppress;
      Emit(before, was_hidden, suppress ? AlarmCause::kSuppress : AlarmCause::kUnsuppress, now, "", "", events);
    }
  }
}

void AlarmMachine::UpdateProcess(core::Timestamp now, std::vector<AlarmEvent>* events) {
  const Measure m = ReadMeasure(now);
  if (!m.known) {
    // Hold: neither activate nor clear on an unknown value, and restart any delay.
    input_bad_ = true;
    value_.reset();
    pending_since_.reset();
    return;
  }
  input_bad_ = false;
  value_ = m.value;
  raw_ = RawCondition(m);
  if (raw_ == active_) {
    pending_since_.reset();
    return;
  }
  if (!pending_since_) pending_since_ = now;
  const core::Duration delay = raw_ ? definition().on_delay : definition().off_delay;
  if (now < SaturatingAdd(*pending_since_, delay)) return;
  pending_since_.reset();
  const AlarmState before = state();
  const bool was_hidden = Hidden();
  active_ = raw_;
  if (active_) acked_ = false;  // every activation needs an acknowledgement
  if (out_of_service_) return;  // out of service: tracked, never reported
  Emit(before, was_hidden, AlarmCause::kProcess, now, "", "", events);
}

std::optional<core::Timestamp> AlarmMachine::NextDeadline() const {
  std::optional<core::Timestamp> next;
  if (pending_since_) {
    next = SaturatingAdd(*pending_since_, raw_ ? definition().on_delay : definition().off_delay);
  }
  if (shelved_ && (!next || shelved_until_ < *next)) next = shelved_until_;
  return next;
}

AlarmState AlarmMachine::Underlying() const {
  if (active_) return acked_ ? AlarmState::kAckActive : AlarmState::kUnackActive;
  return acked_ ? AlarmState::kNormal : AlarmState::kRtnUnack;
}

AlarmState AlarmMachine::state() const {
  if (out_of_service_) return AlarmState::kOutOfService;
  if (suppressed_) return AlarmState::kSuppressed;
  if (shelved_) return AlarmState::kShelved;
  return Underlying();
}

void AlarmMachine::Emit(AlarmState before, bool was_hidden, AlarmCause cause, core::Timestamp now,
                        const std::string& user, std::string_view comment, std::vector<AlarmEvent>* events) {
  // ISA-18.2: leaving shelved/suppressed/out of service goes to Normal when the condition
  // is clear (what happened meanwhile was recorded, not annunciated), else to the
  // underlying active state: UNACK_ACT if it went active while hidden or was unacknowledged.
  if (was_hidden && !Hidden() && !active_) acked_ = true;
  const AlarmState after = state();
  if (after != before) since_ = now;
  AlarmEvent e;
  e.ts = now;
  e.alarm_id = definition().id;
  e.asset = definition().asset;
  e.from = before;
  e.to = after;
  e.cause = cause;
  e.active = active_;
  e.user = user;
  e.comment = std::string(comment);
  e.value = value_;
  e.priority = definition().priority;
  events->push_back(std::move(e));
}

core::Status AlarmMachine::Refuse(std::string_view action, std::string_view why) const {
  return core::Status::InvalidArgument(
      fmt::format("cannot {} alarm '{}': {} (state {})", action, definition().id, why, AlarmStateName(state())));
}

core::Status AlarmMachine::Acknowledge(const std::string& user, std::string_view comment, core::Timestamp now,
                                       std::vector<AlarmEvent>* events) {
  Evaluate(now, events);
  const AlarmState before = state();
  if (before == AlarmState::kNormal) return Refuse("acknowledge", "there is nothing to acknowledge");
  if (before == AlarmState::kAckActive) return Refuse("acknowledge", "it is already acknowledged");
  if (Hidden()) return Refuse("acknowledge", "it is not annunciated");
  acked_ = true;
  Emit(before, false, AlarmCause::kAck, now_, user, comment, events);
  return core::Status::OK();
}

core::Status AlarmMachine::Shelve(const std::string& user, std::string_view comment, core::Timestamp until,
                                  core::Timestamp now, std::vector<AlarmEvent>* events) {
  Evaluate(now, events);
  if (out_of_service_) return Refuse("shelve", "it is out of service");
  const AlarmState before = state();
  const bool was_hidden = Hidden();
  shelved_ = true;
  shelved_until_ = until;
  Emit(before, was_hidden, AlarmCause::kShelve, now_, user, comment, events);
  return core::Status::OK();
}

core::Status AlarmMachine::Unshelve(const std::string& user, std::string_view comment, core::Timestamp now,
                                    std::vector<AlarmEvent>* events) {
  Evaluate(now, events);
  if (!shelved_) return Refuse("unshelve", "it is not shelved");
  const AlarmState before = state();
  shelved_ = false;
  Emit(before, true, AlarmCause::kUnshelve, now_, user, comment, events);
  return core::Status::OK();
}

core::Status AlarmMachine::SetOutOfService(bool out_of_service, const std::string& user, std::string_view comment,
                                           core::Timestamp now, std::vector<AlarmEvent>* events) {
  Evaluate(now, events);
  if (out_of_service == out_of_service_) {
    return out_of_service ? Refuse("remove from service", "it is already out of service")
                          : Refuse("return to service", "it is in service");
  }
  const AlarmState before = state();
  const bool was_hidden = Hidden();
  out_of_service_ = out_of_service;
  if (out_of_service) shelved_ = false;  // removal from service ends a shelve
  Emit(before, was_hidden, out_of_service ? AlarmCause::kOutOfService : AlarmCause::kInService, now_, user, comment,
       events);
  return core::Status::OK();
}

AlarmStatus AlarmMachine::Status() const {
  AlarmStatus s;
  s.id = definition().id;
  s.asset = definition().asset;
  s.priority = definition().priority;
  s.state = state();
  s.active = active_;
  s.acknowledged = acked_;
  s.shelved = shelved_;
  s.shelved_until = shelved_ ? shelved_until_ : 0;
  s.suppressed = suppressed_;
  s.out_of_service = out_of_service_;
  s.input_bad = input_bad_;
  s.since = since_;
  s.value = value_;
  return s;
}

}  // namespace shopfloor::rules
