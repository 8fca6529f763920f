// AlarmSet: owns the alarms, routes samples to the alarms that read them, checks roles
// and collects the events.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "rules/alarm.h"
#include "rules/alarm_machine.h"

namespace shopfloor::rules {

namespace {

// LOLO 0 < LO 1 < HI 2 < HIHI 3: setpoints must not decrease along this order, and a low
// limit must lie strictly below a high one.
int LimitRank(LimitType type) {
  switch (type) {
    case LimitType::kLoLo: return 0;
    case LimitType::kLo: return 1;
    case LimitType::kHi: return 2;
    case LimitType::kHiHi: return 3;
  }
  return 0;
}

std::string_view LimitName(LimitType type) {
  constexpr std::string_view kNames[] = {"LOLO", "LO", "HI", "HIHI"};
  return kNames[LimitRank(type)];
}

bool LimitsInOrder(const LimitCondition& a, const LimitCondition& b) {
  const int ra = LimitRank(a.type);
  const int rb = LimitRank(b.type);
  if (ra == rb) return true;
  const LimitCondition& lower = ra < rb ? a : b;
  const LimitCondition& upper = ra < rb ? b : a;
  const bool strict = LimitRank(lower.type) <= 1 && LimitRank(upper.type) >= 2;
  return strict ? lower.setpoint < upper.setpoint : lower.setpoint <= upper.setpoint;
}

}  // namespace

struct AlarmSet::Impl {
  AlarmSetOptions options;
  std::vector<std::unique_ptr<AlarmMachine>> alarms;
  std::map<std::string, size_t, std::less<>> by_id;
  std::map<std::string, std::vector<size_t>, std::less<>> by_input;
  std::vector<std::string> inputs;
  std::vector<AlarmEvent> events;

  core::Result<AlarmMachine*> Find(std::string_view id) {
    auto it = by_id.find(id);
    if (it == by_id.end()) return core::Status::NotFound(fmt::format("no alarm '{}'", id));
    return alarms[it->second].get();
  }

  core::Status CheckLimitOrder(const AlarmDefinition& d) const {
    const auto* limit = std::get_if<LimitCondition>(&d.condition);
    if (limit == nullptr) return core::Status::OK();
    for (const auto& other : alarms) {
      const AlarmDefinition& o = other->definition();
      const auto* other_limit = std::get_if<LimitCondition>(&o.condition);
      if (other_limit == nullptr || o.asset != d.asset || o.tag != d.tag) continue;
      if (!LimitsInOrder(*limit, *other_limit)) {
        return core::Status::InvalidArgument(fmt::format(
            "alarm '{}': {} setpoint {} is out of order with {} setpoint {} of alarm '{}' (LOLO <= LO < HI <= HIHI)",
            d.id, LimitName(limit->type), limit->setpoint, LimitName(other_limit->type), other_limit->setpoint, o.id));
      }
    }
    return core::Status::OK();
  }
};

AlarmSet::AlarmSet(AlarmSetOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}
AlarmSet::~AlarmSet() = default;
AlarmSet::AlarmSet(AlarmSet&&) noexcept = default;
AlarmSet& AlarmSet::operator=(AlarmSet&&) noexcept = default;

core::Status AlarmSet::Add(AlarmDefinition definition) {
  if (impl_->by_id.count(definition.id) != 0) {
    return core::Status::AlreadyExists(fmt::format("alarm '{}' already exists", definition.id));
  }
  SF_ASSIGN_OR_RETURN(CompiledAlarm compiled, CompileAlarm(std::move(definition), impl_->options.resolver));
  SF_RETURN_IF_ERROR(impl_->CheckLimitOrder(compiled.definition));
  const size_t index = impl_->alarms.size();
  auto machine = std::make_unique<AlarmMachine>(std::move(compiled), impl_->options.evaluator);
  for (const std::string& key : machine->inputs()) {
    std::vector<size_t>& readers = impl_->by_input[key];
    if (readers.empty()) impl_->inputs.push_back(key);
    readers.push_back(index);
  }
  impl_->by_id.emplace(machine->definition().id, index);
  impl_->alarms.push_back(std::move(machine));
  return core::Status::OK();
}

const std::vector<std::string>& AlarmSet::inputs() const { return impl_->inputs; }

size_t AlarmSet::size() const { return impl_->alarms.size(); }

void AlarmSet::OnSample(std::string_view series_key, const core::Sample& sample) {
  auto it = impl_->by_input.find(series_key);
  if (it == impl_->by_input.end()) return;
  for (size_t index : it->second) {
    AlarmMachine& alarm = *impl_->alarms[index];
    alarm.OnSample(series_key, sample);
    alarm.Evaluate(sample.ts, &impl_->events);
  }
}

void AlarmSet::Tick(core::Timestamp now) {
  for (auto& alarm : impl_->alarms) alarm->Evaluate(now, &impl_->events);
}

std::optional<core::Timestamp> AlarmSet::NextDeadline() const {
  std::optional<core::Timestamp> next;
  for (const auto& alarm : impl_->alarms) {
    const auto deadline = alarm->NextDeadline();
    if (deadline && (!next || *deadline < *next)) next = deadline;
  }
  return next;
}

namespace {

core::Status CheckRole(const auth::Principal& who, auth::Role needed, std::string_view action, std::string_view id) {
  if (who.AtLeast(needed)) return core::Status::OK();
  return core::Status::PermissionDenied(fmt::format("{} alarm '{}' needs role {} or above; '{}' is {}", action, id,
                                                    auth::RoleName(needed), who.user, auth::RoleName(who.role)));
}

core::Status NeedComment(std::string_view comment, std::string_view action, std::string_view id) {
  if (!comment.empty()) return core::Status::OK();
  return core::Status::InvalidArgument(fmt::format("{} alarm '{}' needs a comment (the reason)", action, id));
}

}  // namespace

core::Status AlarmSet::Acknowledge(std::string_view id, const auth::Principal& who, std::string_view comment,
                                   core::Timestamp now) {
  SF_ASSIGN_OR_RETURN(AlarmMachine * alarm, impl_->Find(id));
  SF_RETURN_IF_ERROR(CheckRole(who, auth::Role::kOperator, "acknowledging", id));
  return alarm->Acknowledge(who.user, comment, now, &impl_->events);
}

core::Status AlarmSet::Shelve(std::string_view id, const auth::Principal& who, std::string_view comment,
                              core::Duration duration, core::Timestamp now) {
  SF_ASSIGN_OR_RETURN(AlarmMachine * alarm, impl_->Find(id));
  SF_RETURN_IF_ERROR(CheckRole(who, auth::Role::kOperator, "shelving", id));
  SF_RETURN_IF_ERROR(NeedComment(comment, "shelving", id));
  const core::Duration max = impl_->options.max_shelve;
  if (duration <= 0 || duration > max) {
    return core::Status::InvalidArgument(fmt::format("shelving alarm '{}': the duration must be > 0 and at most {}s, got {}ns",
                                                     id, max / core::kSecond, duration));
  }
  core::Timestamp until = 0;
  if (__builtin_add_overflow(now, duration, &until)) {
    return core::Status::InvalidArgument(fmt::format("shelving alarm '{}': now + duration overflows", id));
  }
  return alarm->Shelve(who.user, comment, until, now, &impl_->events);
}

core::Status AlarmSet::Unshelve(std::string_view id, const auth::Principal& who, std::string_view comment,
                                core::Timestamp now) {
  SF_ASSIGN_OR_RETURN(AlarmMachine * alarm, impl_->Find(id));
  SF_RETURN_IF_ERROR(CheckRole(who, auth::Role::kOperator, "unshelving", id));
  return alarm->Unshelve(who.user, comment, now, &impl_->events);
}

core::Status AlarmSet::RemoveFromService(std::string_view id, const auth::Principal& who, std::string_view comment,
                                         core::Timestamp now) {
  SF_ASSIGN_OR_RETURN(AlarmMachine * alarm, impl_->Find(id));
  SF_RETURN_IF_ERROR(CheckRole(who, auth::Role::kEngineer, "removing from service", id));
  SF_RETURN_IF_ERROR(NeedComment(comment, "removing from service", id));
  return alarm->SetOutOfService(true, who.user, comment, now, &impl_->events);
}

core::Status AlarmSet::ReturnToService(std::string_view id, const auth::Principal& who, std::string_view comment,
                                       core::Timestamp now) {
  SF_ASSIGN_OR_RETURN(AlarmMachine * alarm, impl_->Find(id));
  SF_RETURN_IF_ERROR(CheckRole(who, auth::Role::kEngineer, "returning to service", id));
  return alarm->SetOutOfService(false, who.user, comment, now, &impl_->events);
}

std::optional<AlarmStatus> AlarmSet::Get(std::string_view id) const {
  auto it = impl_->by_id.find(id);
  if (it == impl_->by_id.end()) return std::nullopt;
  return impl_->alarms[it->second]->Status();
}

std::vector<AlarmStatus> AlarmSet::Current() const {
  std::vector<AlarmStatus> out;
  for (const auto& alarm : impl_->alarms) {
    if (alarm->state() != AlarmState::kNormal) out.push_back(alarm->Status());
  }
  std::sort(out.begin(), out.end(), [](const AlarmStatus& a, const AlarmStatus& b) {
    return a.priority != b.priority ? a.priority < b.priority : a.id < b.id;
  });
  return out;
}

std::vector<AlarmEvent> AlarmSet::DrainEvents() {
  std::vector<AlarmEvent> out;
  out.swap(impl_->events);
  return out;
}

}  // namespace shopfloor::rules
