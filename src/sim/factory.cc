#include "sim/factory.h"

#include <algorithm>
#include <cmath>
#include <deque>

#include "sim/machine.h"
#include "sim/rng.h"
#include "sim/signals.h"

namespace shopfloor::sim {

std::string_view FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kMicroStop: return "micro_stop";
    case FaultKind::kJam: return "jam";
    case FaultKind::kStarvation: return "starvation";
    case FaultKind::kToolWear: return "tool_wear";
    case FaultKind::kSensorStuck: return "sensor_stuck";
    case FaultKind::kSensorSpike: return "sensor_spike";
    case FaultKind::kSensorDrift: return "sensor_drift";
    case FaultKind::kSensorDropout: return "sensor_dropout";
    case FaultKind::kCommunicationLoss: return "communication_loss";
    case FaultKind::kProcess: return "process";
  }
  return "unknown";
}

std::vector<Reading> Factory::ReadAll() const {
  std::vector<Reading> out;
  for (const SignalInfo& info : Signals()) out.push_back(*Read(info.machine, info.name));
  return out;
}

namespace {

constexpr double kPi = 3.14159265358979323846;
// Pending events and bursts nobody took are capped (oldest dropped), so a backfill or a
// front end that ignores them cannot grow memory without bound.
constexpr size_t kMaxPendingEvents = 100000;
constexpr size_t kMaxPendingBursts = 64;
constexpr double kSensorFaultMean = 12 * 3600.0;    // s between random sensor faults (plant)
constexpr double kCommLossMean = 24 * 3600.0;       // s between communication losses (plant)

core::Duration Seconds(double s) { return static_cast<core::Duration>(s * core::kSecond); }

class FactoryImpl : public Factory {
 public:
  explicit FactoryImpl(FactoryOptions options) : options_(options), rng_(options.seed, "plant") {
    if (options_.step <= 0) options_.step = 100 * core::kMillisecond;
    if (options_.bearing_life <= 0) options_.bearing_life = 21 * core::kDay;
    now_ = options_.start;
    plant_.options = &options_;
    plant_.signals = &signals_;
    plant_.events = &step_events_;
    BuildBodyLine(&plant_, now_, &lines_);
    BuildBottlingLine(&plant_, now_, &lines_);
    BuildUtilities(&plant_, now_, &lines_);
    for (int id = 0; id < signals_.size(); ++id) {
      const std::string& machine = signals_.spec(id).machine;
      int index = 0;
      while (lines_.machines[index]->name() != machine) ++index;
      machine_of_.push_back(index);
    }
    comm_lost_until_.assign(lines_.machines.size(), 0);
    for (auto& m : lines_.machines) {
      if (m->bearing() != nullptr) vibrating_.push_back(m.get());
    }
    for (size_t k = 0; k < vibrating_.size(); ++k) {
      // Staggered so that the bursts of the machines do not all fall in one step.
      next_burst_.push_back(now_ + options_.burst_interval * static_cast<int64_t>(k + 1) /
                                       static_cast<int64_t>(vibrating_.size()));
    }
    if (options_.random_faults) {
      next_sensor_fault_ = now_ + Seconds(rng_.Exponential(kSensorFaultMean));
      next_comm_loss_ = now_ + Seconds(rng_.Exponential(kCommLossMean));
    }
  }

  void AdvanceTo(core::Timestamp t) override {
    while (now_ + options_.step <= t) Step();
  }
  core::Timestamp now() const override { return now_; }

  std::vector<SignalInfo> Signals() const override {
    std::vector<SignalInfo> out;
    out.reserve(signals_.size());
    for (int id = 0; id < signals_.size(); ++id) {
      const SignalSpec& s = signals_.spec(id);
      out.push_back(SignalInfo{s.machine, s.name, s.type, s.writable, s.unit});
    }
    return out;
  }

  std::optional<Reading> Read(std::string_view machine, std::string_view signal) const override {
    const int id = signals_.Find(machine, signal);
    if (id < 0) return std::nullopt;
    return ReadId(id);
  }

  std::vector<Reading> ReadAll() const override {
    std::vector<Reading> out;
    out.reserve(signals_.size());
    for (int id = 0; id < signals_.size(); ++id) out.push_back(ReadId(id));
    return out;
  }

  core::Status Write(std::string_view machine, std::string_view signal, const core::Value& value) override {
    const int id = signals_.Find(machine, signal);
    if (id < 0) {
      return core::Status::InvalidArgument("unknown signal " + std::string(machine) + "/" + std::string(signal));
    }
    SF_RETURN_IF_ERROR(signals_.Write(id, value));
    PushEvent(Event{now_, std::string(machine), "setpoint", std::string(signal) + " = " + value.ToString(), 0});
    return core::Status::OK();
  }

  core::Status InjectFault(std::string_view machine, FaultKind kind, core::Duration duration,
                           std::string_view signal) override {
    Machine* m = FindMachine(machine);
    if (m == nullptr) return core::Status::InvalidArgument("unknown machine " + std::string(machine));
    if (kind == FaultKind::kSensorSpike) duration = options_.step;
    if (duration <= 0) return core::Status::InvalidArgument("a fault needs a positive duration");
    const std::string what = std::string(FaultKindName(kind));
    switch (kind) {
      case FaultKind::kSensorStuck:
      case FaultKind::kSensorSpike:
      case FaultKind::kSensorDrift:
      case FaultKind::kSensorDropout: {
        const int id = signals_.Find(machine, signal);
        if (id < 0) {
          return core::Status::InvalidArgument(what + ": unknown signal " + std::string(machine) + "/" +
                                               std::string(signal));
        }
        SF_RETURN_IF_ERROR(signals_.InjectSensorFault(id, kind, now_, now_ + duration, rng_.Bernoulli(0.5) ? 1 : -1));
        PushEvent(Event{now_, m->name(), "fault", what + ": " + std::string(signal), 0});
        return core::Status::OK();
      }
      case FaultKind::kCommunicationLoss: {
        core::Timestamp& until = comm_lost_until_[MachineIndex(m)];
        if (until <= now_) PushEvent(Event{now_, m->name(), "fault", what, 0});
        until = std::max(until, now_ + duration);
        return core::Status::OK();
      }
      default:
        if (!m->StartFault(kind, now_, duration)) {
          return core::Status::InvalidArgument(std::string(machine) + " has no " + what + " fault");
        }
        FlushStepEvents();
        return core::Status::OK();
    }
  }

  bool Reachable(std::string_view machine) const override {
    for (size_t i = 0; i < lines_.machines.size(); ++i) {
      if (lines_.machines[i]->name() == machine) return comm_lost_until_[i] <= now_;
    }
    return false;
  }

  std::vector<Event> TakeEvents() override {
    std::vector<Event> out(std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.end()));
    events_.clear();
    return out;
  }

  std::vector<Burst> TakeBursts() override {
    std::vector<Burst> out(std::make_move_iterator(bursts_.begin()), std::make_move_iterator(bursts_.end()));
    bursts_.clear();
    return out;
  }

  std::vector<BearingTruth> Bearings() const override {
    std::vector<BearingTruth> out;
    for (Machine* m : vibrating_) out.push_back(m->bearing()->Truth(now_));
    return out;
  }

 private:
  Reading ReadId(int id) const {
    Reading r = signals_.Read(id, now_);
    if (comm_lost_until_[machine_of_[id]] > now_) r.available = false;
    return r;
  }

  Machine* FindMachine(std::string_view name) const {
    for (const auto& m : lines_.machines) {
      if (m->name() == name) return m.get();
    }
    return nullptr;
  }
  size_t MachineIndex(const Machine* m) const {
    size_t i = 0;
    while (lines_.machines[i].get() != m) ++i;
    return i;
  }

  void PushEvent(Event e) {
    events_.push_back(std::move(e));
    if (events_.size() > kMaxPendingEvents) events_.pop_front();
  }
  void FlushStepEvents() {
    for (Event& e : step_events_) PushEvent(std::move(e));
    step_events_.clear();
  }

  static double Activity(const std::vector<Machine*>& line) {
    int executing = 0;
    for (const Machine* m : line) executing += m->state() == kStateExecute ? 1 : 0;
    return line.empty() ? 0.0 : static_cast<double>(executing) / static_cast<double>(line.size());
  }

  void Step() {
    now_ += options_.step;
    Tick tick;
    tick.now = now_;
    tick.dt = static_cast<double>(options_.step) / core::kSecond;
    const core::Duration in_day = ((now_ % core::kDay) + core::kDay) % core::kDay;
    tick.hour_of_day = static_cast<double>(in_day) / core::kHour;
    tick.ambient = 19.0 + 3.0 * std::sin(2 * kPi * (tick.hour_of_day - 9.0) / 24.0);

    for (auto& m : lines_.machines) m->Prepare(now_);
    // Downstream first: a part leaves a buffer before the upstream station looks for space.
    for (const std::vector<Machine*>* line : {&lines_.body, &lines_.bottling}) {
      for (auto it = line->rbegin(); it != line->rend(); ++it) {
        Station* s = (*it)->station();
        if ((*it)->may_run()) {
          s->Step(tick.dt);
        } else {
          s->Idle(tick.dt);
        }
      }
    }
    for (auto& m : lines_.machines) m->Settle(now_);
    tick.body_activity = Activity(lines_.body);
    tick.bottling_activity = Activity(lines_.bottling);
    double load = 0.0;
    for (auto& m : lines_.machines) {
      if (m.get() == lines_.meter) continue;
      m->Physics(tick);
      load += m->power_kw();
    }
    tick.plant_load_kw = load;
    lines_.meter->Physics(tick);

    for (int id : signals_.ExpireFaults(now_)) {
      const SignalSpec& s = signals_.spec(id);
      step_events_.push_back(Event{now_, s.machine, "fault_cleared", "sensor: " + s.name, 0});
    }
    for (size_t i = 0; i < comm_lost_until_.size(); ++i) {
      if (comm_lost_until_[i] != 0 && comm_lost_until_[i] <= now_) {
        comm_lost_until_[i] = 0;
        step_events_.push_back(Event{now_, lines_.machines[i]->name(), "fault_cleared", "communication restored", 0});
      }
    }
    RandomPlantFaults();
    FlushStepEvents();

    if (options_.burst_interval > 0) {
      for (size_t k = 0; k < vibrating_.size(); ++k) {
        if (now_ < next_burst_[k]) continue;
        next_burst_[k] += options_.burst_interval;
        if (next_burst_[k] <= now_) next_burst_[k] = now_ + options_.burst_interval;
        bursts_.emplace_back();
        vibrating_[k]->FillBurst(now_, &bursts_.back());
        if (bursts_.size() > kMaxPendingBursts) bursts_.pop_front();
      }
    }
  }

  // Rare sensor faults on process values, and communication losses.
  void RandomPlantFaults() {
    if (next_sensor_fault_ != 0 && now_ >= next_sensor_fault_) {
      next_sensor_fault_ = now_ + Seconds(rng_.Exponential(kSensorFaultMean));
      // A process value: a double that is neither a counter nor a setpoint.
      int id = -1;
      for (int attempt = 0; attempt < 64 && id < 0; ++attempt) {
        const int candidate = static_cast<int>(rng_.Uniform() * signals_.size());
        const SignalSpec& s = signals_.spec(candidate);
        if (s.type == core::ValueType::kDouble && !s.counter && !s.writable) id = candidate;
      }
      const FaultKind kinds[4] = {FaultKind::kSensorStuck, FaultKind::kSensorSpike, FaultKind::kSensorDrift,
                                  FaultKind::kSensorDropout};
      const FaultKind kind = kinds[static_cast<int>(rng_.Uniform() * 4)];
      const core::Duration duration = Seconds(rng_.Uniform(120, 1800));
      if (id >= 0) {
        const SignalSpec& s = signals_.spec(id);
        const Status ignored = InjectFault(s.machine, kind, duration, s.name);
        (void)ignored;  // a double signal accepts every sensor fault
      }
    }
    if (next_comm_loss_ != 0 && now_ >= next_comm_loss_) {
      next_comm_loss_ = now_ + Seconds(rng_.Exponential(kCommLossMean));
      const size_t index = static_cast<size_t>(rng_.Uniform() * static_cast<double>(lines_.machines.size()));
      const Status ignored = InjectFault(lines_.machines[index]->name(), FaultKind::kCommunicationLoss,
                                         Seconds(rng_.Uniform(10, 60)), {});
      (void)ignored;
    }
  }

  using Status = core::Status;

  FactoryOptions options_;
  Rng rng_;
  SignalTable signals_;
  PlantContext plant_;
  Lines lines_;
  core::Timestamp now_ = 0;
  std::vector<Event> step_events_;  // machines emit here; moved to events_ after each step
  std::deque<Event> events_;
  std::deque<Burst> bursts_;
  std::vector<int> machine_of_;     // signal id -> index in lines_.machines
  std::vector<core::Timestamp> comm_lost_until_;
  std::vector<Machine*> vibrating_;
  std::vector<core::Timestamp> next_burst_;
  core::Timestamp next_sensor_fault_ = 0, next_comm_loss_ = 0;
};

}  // namespace

std::unique_ptr<Factory> Factory::Create(FactoryOptions options) {
  return std::make_unique<FactoryImpl>(options);
}

}  // namespace shopfloor::sim
