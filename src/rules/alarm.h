// The ISA-18.2 / IEC 62682 alarm core: alarm definitions, the per-alarm state machine and
// an AlarmSet that feeds many alarms from samples and operator actions. No I/O: samples
// come in, AlarmEvents come out (the engine around it stores and publishes them).
//
//   rules::AlarmSet alarms;
//   alarms.Add(definition);                        // validated and compiled
//   for (const std::string& key : alarms.inputs()) bus.Subscribe(key, ...);
//   alarms.OnSample(key, sample);                  // evaluates the alarms reading key
//   alarms.Tick(now);                              // delays and shelve expiry
//   alarms.Acknowledge("compressor-1.hihi", principal, "seen", now);
//   for (const AlarmEvent& e : alarms.DrainEvents()) ...
//
// States, transitions, roles and the handling of Bad inputs: docs/alarms.md.
//
// Time: nothing here reads a clock. Sample timestamps and the `now` passed to Tick and to
// the operator actions drive delays and shelve expiry; each alarm's time never runs
// backwards (an earlier `now` counts as the latest one seen). NextDeadline() says when the
// next Tick can change something.
//
// Thread safety: an AlarmSet is a plain mutable object: one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "auth/auth.h"
#include "core/status.h"
#include "core/types.h"
#include "rules/expr.h"

namespace shopfloor::rules {

enum class AlarmPriority : uint8_t { kUrgent = 1, kHigh = 2, kMedium = 3, kLow = 4 };

enum class LimitType : uint8_t { kHiHi, kHi, kLo, kLoLo };

// Value above (HI, HIHI) or below (LO, LOLO) `setpoint`. Returns to normal only once the
// value is back beyond the deadband: below setpoint - deadband (HI), above setpoint +
// deadband (LO). One definition per limit: each limit is its own alarm with its own
// priority, state and acknowledgement.
struct LimitCondition {
  LimitType type = LimitType::kHi;
  double setpoint = 0;
  double deadband = 0;  // >= 0, in the tag's units
};

enum class RateDirection : uint8_t { kRising, kFalling, kEither };

// |rate| over `window` (rules `rate()`: first and last sample in the window) above
// `limit` units per second, in `direction`; returns below limit - deadband.
struct RateOfChangeCondition {
  double limit_per_second = 0;  // > 0
  core::Duration window = core::kMinute;
  RateDirection direction = RateDirection::kEither;
  double deadband = 0;
};

// |value - setpoint tag| > limit; returns below limit - deadband.
struct DeviationCondition {
  std::string setpoint_tag;  // a tag of the same asset, e.g. "pressure_setpoint"
  double limit = 0;          // > 0
  double deadband = 0;
};

// The tag equals `state` (numbers compare by value, so 6 matches 6.0; a bool state matches
// a bool tag or 0/1; a string state a string tag).
struct DiscreteCondition {
  core::Value state;
};

// Any boolean rules expression (docs/rules.md), relative to the alarm's asset.
struct ExpressionCondition {
  std::string text;
};

using AlarmCondition =
    std::variant<LimitCondition, RateOfChangeCondition, DeviationCondition, DiscreteCondition, ExpressionCondition>;

struct AlarmDefinition {
  std::string id;     // unique in the set: letters, digits and "._-/:", at most 200 bytes
  std::string name;   // display name; the id when empty
  std::string asset;  // asset path: what the alarm is about, base of $tag references
  std::string tag;    // the tag the condition reads (all kinds but expression)
  AlarmCondition condition;
  // The condition must hold continuously this long before the alarm becomes active, and
  // be gone this long before it returns to normal (0 = at once).
  core::Duration on_delay = 0;
  core::Duration off_delay = 0;
  AlarmPriority priority = AlarmPriority::kMedium;
  // Suppressed by design while this boolean expression is true, e.g. "$state != 6".
  // Unknown counts as not suppressed (an alarm is never hidden by missing data).
  std::string suppression;
  std::string message;
};

// InvalidArgument naming the field: "alarm 'x': deadband must be >= 0, got -1".
core::Status ValidateAlarmDefinition(const AlarmDefinition& definition);

// The displayed state. The first four are ISA-18.2's A-D; the overlays take precedence
// in the order out of service > suppressed by design > shelved.
enum class AlarmState : uint8_t {
  kNormal,
  kUnackActive,
  kAckActive,
  kRtnUnack,
  kShelved,
  kSuppressed,
  kOutOfService,
};

enum class AlarmCause : uint8_t {
  kProcess,
  kAck,
  kShelve,
  kUnshelve,
  kShelveExpired,
  kSuppress,
  kUnsuppress,
  kOutOfService,
  kInService,
};

std::string_view AlarmStateName(AlarmState state);  // "normal", "unack_active", ...
std::string_view AlarmCauseName(AlarmCause cause);  // "process", "ack", ...
std::string_view AlarmPriorityName(AlarmPriority priority);  // "urgent", ...

// One transition. `from == to` happens when the displayed state hides the change: the
// process condition changing while shelved or suppressed, a shelve renewed or expiring
// under suppression. Process changes while out of service emit nothing.
struct AlarmEvent {
  core::Timestamp ts = 0;
  std::string alarm_id;
  std::string asset;
  AlarmState from = AlarmState::kNormal;
  AlarmState to = AlarmState::kNormal;
  AlarmCause cause = AlarmCause::kProcess;
  bool active = false;  // the (delayed) process condition after the event
  std::string user;     // operator actions only
  std::string comment;
  // The process value: the tag (limit, discrete), the rate in units/s, value - setpoint
  // (deviation), the expression's result. Empty when unknown.
  std::optional<core::Value> value;
  AlarmPriority priority = AlarmPriority::kMedium;
};

struct AlarmStatus {
  std::string id;
  std::string asset;
  AlarmPriority priority = AlarmPriority::kMedium;
  AlarmState state = AlarmState::kNormal;
  bool active = false;         // the delayed process condition
  bool acknowledged = true;    // false in UNACK_ACT and RTN_UNACK (and hidden ones)
  bool shelved = false;
  core::Timestamp shelved_until = 0;
  bool suppressed = false;
  bool out_of_service = false;
  // The condition is unknown (no data, Bad quality, ...): the alarm holds its state.
  bool input_bad = false;
  core::Timestamp since = 0;   // of the last change of `state`
  std::optional<core::Value> value;
};

struct AlarmSetOptions {
  // When set, every tag must exist in the model (and numeric kinds need numeric tags).
  Resolver resolver;
  core::Duration max_shelve = 8 * core::kHour;
  EvaluatorOptions evaluator;
};

class AlarmSet {
 public:
  explicit AlarmSet(AlarmSetOptions options = {});
  ~AlarmSet();
  AlarmSet(AlarmSet&&) noexcept;
  AlarmSet& operator=(AlarmSet&&) noexcept;

  // Validates and compiles `definition`. AlreadyExists for a duplicate id; InvalidArgument
  // for a bad definition, an expression error, or a HI/HIHI/LO/LOLO setpoint out of order
  // with another limit alarm on the same tag (LOLO <= LO < HI <= HIHI).
  core::Status Add(AlarmDefinition definition);

  // Series keys read by any alarm (conditions and suppressions), each once.
  const std::vector<std::string>& inputs() const;

  // Feeds the sample to every alarm reading `series_key` and evaluates them at the
  // sample's time. Unknown keys are ignored.
  void OnSample(std::string_view series_key, const core::Sample& sample);
  // Re-evaluates every alarm at `now`: runs out delays and expired shelves.
  void Tick(core::Timestamp now);
  // The earliest time at which Tick would change something without new samples (a delay
  // or a shelve running out); nullopt when nothing is pending.
  std::optional<core::Timestamp> NextDeadline() const;

  // Operator actions. NotFound for an unknown id, PermissionDenied when the role is too
  // low (operator for acknowledge and shelve, engineer for service), InvalidArgument when
  // the alarm's state does not allow the action or a comment is missing.
  core::Status Acknowledge(std::string_view id, const auth::Principal& who, std::string_view comment,
                           core::Timestamp now);
  // Up to options.max_shelve; a shelved alarm may be shelved again (new expiry).
  core::Status Shelve(std::string_view id, const auth::Principal& who, std::string_view comment,
                      core::Duration duration, core::Timestamp now);
  core::Status Unshelve(std::string_view id, const auth::Principal& who, std::string_view comment,
                        core::Timestamp now);
  core::Status RemoveFromService(std::string_view id, const auth::Principal& who, std::string_view comment,
                                 core::Timestamp now);
  core::Status ReturnToService(std::string_view id, const auth::Principal& who, std::string_view comment,
                               core::Timestamp now);

  std::optional<AlarmStatus> Get(std::string_view id) const;
  // Every alarm not in Normal (or with an overlay), ordered by priority, then id.
  std::vector<AlarmStatus> Current() const;
  size_t size() const;

  // The events since the last call, in order of emission.
  std::vector<AlarmEvent> DrainEvents();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shopfloor::rules
