#include "sim/machine.h"

#include <algorithm>
#include <cmath>

namespace shopfloor::sim {

namespace {
// Random fault rates (mean time between occurrences) and durations, per station.
constexpr double kMicroStopMean = 15 * 60.0;   // ~4 per hour of running
constexpr double kJamMean = 4 * 3600.0;
constexpr double kToolWearMean = 36 * 3600.0;
constexpr double kStarvationMean = 12 * 3600.0;  // line heads only
constexpr double kStartingTime = 15.0;           // s in Starting after a start or repair

core::Duration Seconds(double s) { return static_cast<core::Duration>(s * core::kSecond); }
}  // namespace

const char* PackMlName(int state) {
  switch (state) {
    case kStateStopped: return "Stopped";
    case kStateStarting: return "Starting";
    case kStateIdle: return "Idle";
    case kStateSuspended: return "Suspended";
    case kStateExecute: return "Execute";
    case kStateAborted: return "Aborted";
    case kStateHeld: return "Held";
    default: return "Undefined";
  }
}

void PlantContext::Emit(core::Timestamp ts, const std::string& machine, const char* kind, std::string detail,
                        int64_t code) {
  events->push_back(Event{ts, machine, kind, std::move(detail), code});
}

Machine::Machine(PlantContext* plant, std::string name, bool has_state)
    : plant_(plant), name_(std::move(name)), rng_(plant->options->seed, name_), has_state_(has_state) {
  now_ = plant->options->start;
  if (has_state_) {
    state_id_ = AddInt("state", "", false);
    plant_->signals->SetInt(state_id_, kStateIdle);
    running_id_ = AddBool("running");
    faulted_id_ = AddBool("faulted");
    starting_until_ = now_ + Seconds(kStartingTime * (0.5 + rng_.Uniform()));
  }
  fault_id_ = AddInt("fault_code", "", false);
  ScheduleRandomFaults(now_);
}

Machine::~Machine() = default;

int Machine::AddDouble(const char* name, const char* unit, double min, double max, double resolution) {
  SignalSpec s{name_, name, core::ValueType::kDouble, unit, min, max, resolution, false, false};
  const int id = plant_->signals->Add(std::move(s));
  plant_->signals->SetDouble(id, std::clamp(0.0, min, max));
  return id;
}

int Machine::AddSetpoint(const char* name, const char* unit, double min, double max, double initial) {
  SignalSpec s{name_, name, core::ValueType::kDouble, unit, min, max, 0.0, true, false};
  const int id = plant_->signals->Add(std::move(s));
  plant_->signals->SetDouble(id, initial);
  return id;
}

int Machine::AddInt(const char* name, const char* unit, bool counter) {
  return plant_->signals->Add(SignalSpec{name_, name, core::ValueType::kInt64, unit, 0, 0, 0, false, counter});
}

int Machine::AddBool(const char* name) {
  return plant_->signals->Add(SignalSpec{name_, name, core::ValueType::kBool, "", 0, 0, 0, false, false});
}

int Machine::AddString(const char* name, std::string value) {
  const int id = plant_->signals->Add(SignalSpec{name_, name, core::ValueType::kString, "", 0, 0, 0, false, false});
  plant_->signals->SetString(id, std::move(value));
  return id;
}

void Machine::AddPower(const char* power_name, double power_max, const char* energy_name) {
  power_id_ = AddDouble(power_name, "kW", 0, power_max, 0.01);
  energy_id_ = plant_->signals->Add(
      SignalSpec{name_, energy_name, core::ValueType::kDouble, "kWh", 0, 0, 0.0, false, true});
}

void Machine::PublishPower(double kw, double dt) {
  power_kw_ = Set(power_id_, kw);
  // Invariant: the counter is the rectangle sum of the published power over the steps.
  energy_kwh_ += power_kw_ * dt / 3600.0;
  plant_->signals->SetDouble(energy_id_, energy_kwh_);
}

void Machine::AddVibration(const char* name, double max, BearingGeometry geometry, double shaft_hz,
                           double baseline) {
  vibration_id_ = AddDouble(name, "mm/s", 0, max, 0.01);
  kurtosis_id_ = AddDouble("vibration_kurtosis", "", 0, 1000, 0.01);
  bearing_ = std::make_unique<Bearing>(name_, geometry, shaft_hz, baseline, *plant_->options, now_);
  shaft_hz_ = shaft_hz;
}

void Machine::PublishVibration(core::Timestamp now, double shaft_hz, double running) {
  burst_shaft_hz_ = shaft_hz;
  burst_running_ = running;
  if (now < next_rms_) return;
  next_rms_ = now + core::kSecond;
  Set(vibration_id_, bearing_->VelocityRms(now, running, &rng_));
}

void Machine::FillBurst(core::Timestamp now, Burst* burst) {
  bearing_->FillBurst(now, burst_shaft_hz_, burst_running_, burst);
  const std::vector<float>& x = burst->samples;
  if (x.empty()) return;
  double mean = 0;
  for (float v : x) mean += v;
  mean /= static_cast<double>(x.size());
  double m2 = 0, m4 = 0;
  for (float v : x) {
    const double d = v - mean, d2 = d * d;
    m2 += d2;
    m4 += d2 * d2;
  }
  m2 /= static_cast<double>(x.size());
  m4 /= static_cast<double>(x.size());
  Set(kurtosis_id_, m2 > 0 ? m4 / (m2 * m2) : 0.0);
}

void Machine::AttachStation(double cycle_s, double jitter, Buffer* in, Buffer* out, double base_scrap) {
  station_ = std::make_unique<Station>(cycle_s, jitter, in, out, this, &rng_);
  base_scrap_ = base_scrap;
  blocked_id_ = AddBool("blocked");
  starved_id_ = AddBool("starved");
  line_head_ = in == nullptr;
  ScheduleRandomFaults(now_);
}

double Machine::Lag(double x, double target, double tau, double dt) {
  return x + (target - x) * (1.0 - std::exp(-dt / tau));
}

double Machine::WearFactor(core::Timestamp now) const {
  if (now >= wear_until_ || wear_until_ <= wear_start_) return 1.0;
  return 1.0 + 9.0 * static_cast<double>(now - wear_start_) / static_cast<double>(wear_until_ - wear_start_);
}

void Machine::Emit(core::Timestamp now, const char* kind, std::string detail, int64_t code) {
  plant_->Emit(now, name_, kind, std::move(detail), code);
}

bool Machine::StartFault(FaultKind kind, core::Timestamp now, core::Duration duration) {
  const core::Timestamp until = now + duration;
  switch (kind) {
    case FaultKind::kMicroStop:
    case FaultKind::kJam:
      if (!station_) return false;
      hold_until_ = std::max(hold_until_, until);
      hold_code_ = kind == FaultKind::kJam ? kFaultJam : kFaultMicroStop;
      Emit(now, "fault", std::string(FaultKindName(kind)), hold_code_);
      return true;
    case FaultKind::kStarvation:
      if (!station_) return false;
      supply_cut_until_ = std::max(supply_cut_until_, until);
      station_->set_supply_cut(true);
      Emit(now, "fault", "starvation: material missing", kFaultStarved);
      return true;
    case FaultKind::kToolWear:
      if (!station_) return false;
      wear_start_ = now;
      wear_until_ = until;
      Emit(now, "fault", "tool_wear", kFaultToolWear);
      return true;
    case FaultKind::kProcess:
      if (!SupportsProcessUpset()) return false;
      process_until_ = std::max(process_until_, until);
      Emit(now, "fault", "process upset", kFaultProcess);
      return true;
    default:
      return false;
  }
}

void Machine::ScheduleRandomFaults(core::Timestamp now) {
  if (!plant_->options->random_faults || !station_) return;
  next_micro_stop_ = now + Seconds(rng_.Exponential(kMicroStopMean));
  next_jam_ = now + Seconds(rng_.Exponential(kJamMean));
  next_wear_ = now + Seconds(rng_.Exponential(kToolWearMean));
  next_starve_ = line_head_ ? now + Seconds(rng_.Exponential(kStarvationMean)) : 0;
}

void Machine::RandomFaults(core::Timestamp now) {
  if (next_micro_stop_ != 0 && now >= next_micro_stop_) {
    next_micro_stop_ = now + Seconds(rng_.Exponential(kMicroStopMean));
    // Micro-stops happen while producing, not while waiting.
    if (state_ == kStateExecute) StartFault(FaultKind::kMicroStop, now, Seconds(3 + std::min(57.0, rng_.Exponential(8))));
  }
  if (next_jam_ != 0 && now >= next_jam_) {
    next_jam_ = now + Seconds(rng_.Exponential(kJamMean));
    if (state_ == kStateExecute) StartFault(FaultKind::kJam, now, Seconds(60 + std::min(2700.0, rng_.Exponential(300))));
  }
  if (next_wear_ != 0 && now >= next_wear_) {
    next_wear_ = now + Seconds(rng_.Exponential(kToolWearMean));
    if (now >= wear_until_) StartFault(FaultKind::kToolWear, now, Seconds(rng_.Uniform(4, 10) * 3600));
  }
  if (next_starve_ != 0 && now >= next_starve_) {
    next_starve_ = now + Seconds(rng_.Exponential(kStarvationMean));
    StartFault(FaultKind::kStarvation, now, Seconds(300 + std::min(3600.0, rng_.Exponential(600))));
  }
}

void Machine::Prepare(core::Timestamp now) {
  now_ = now;
  if (hold_until_ != 0 && now >= hold_until_) {
    Emit(now, "fault_cleared", hold_code_ == kFaultJam ? "jam cleared" : "micro-stop cleared", hold_code_);
    hold_until_ = 0;
    hold_code_ = kFaultNone;
  }
  if (supply_cut_until_ != 0 && now >= supply_cut_until_) {
    Emit(now, "fault_cleared", "material supply restored", kFaultStarved);
    supply_cut_until_ = 0;
    station_->set_supply_cut(false);
  }
  if (wear_until_ != 0 && now >= wear_until_) {
    Emit(now, "fault_cleared", "tool changed", kFaultToolWear);
    wear_until_ = wear_start_ = 0;
  }
  if (process_until_ != 0 && now >= process_until_) {
    Emit(now, "fault_cleared", "process upset over", kFaultProcess);
    process_until_ = 0;
  }
  if (bearing_) {
    if (!failed_ && now >= bearing_->end_of_life()) {
      failed_ = true;
      bearing_->Fail();
      repair_until_ = now + plant_->options->repair_time;
      Emit(now, "failure", "bearing failed (end of life)", kFaultBearing);
    } else if (failed_ && now >= repair_until_) {
      failed_ = false;
      bearing_->Install(now);
      starting_until_ = now + Seconds(kStartingTime);
      Emit(now, "maintenance", "bearing renewed", kFaultBearing);
    }
  }
  // Leaving Stopped (an operator start) goes through Starting.
  if (state_ == kStateStopped && !operator_stop_ && !failed_) starting_until_ = now + Seconds(kStartingTime);
  if (has_state_ && !failed_) RandomFaults(now);
  may_run_ = !failed_ && now >= hold_until_ && !operator_stop_ && now >= starting_until_;
}

void Machine::Settle(core::Timestamp now) {
  int state = kStateExecute;
  const char* reason = "";
  if (failed_) {
    state = kStateAborted;
    reason = " (bearing failure)";
  } else if (operator_stop_) {
    state = kStateStopped;
  } else if (now < hold_until_) {
    state = kStateHeld;
    reason = hold_code_ == kFaultJam ? " (jam)" : " (micro-stop)";
  } else if (now < starting_until_) {
    state = kStateStarting;
  } else if (station_ && (station_->starved() || station_->blocked())) {
    state = kStateSuspended;
    reason = station_->blocked() ? " (blocked)" : " (starved)";
  }
  int code = kFaultNone;
  if (failed_) code = kFaultBearing;
  else if (now < hold_until_) code = hold_code_;
  else if (supply_cut(now)) code = kFaultStarved;
  else if (process_upset(now)) code = kFaultProcess;
  else if (now < wear_until_) code = kFaultToolWear;

  if (has_state_) {
    if (state != state_) {
      Emit(now, "state", std::string(PackMlName(state_)) + " -> " + PackMlName(state) + reason, state);
    }
    state_ = state;
    plant_->signals->SetInt(state_id_, state_);
    plant_->signals->SetBool(running_id_, state_ == kStateExecute);
    plant_->signals->SetBool(faulted_id_, code != kFaultNone);
  }
  fault_code_ = code;
  plant_->signals->SetInt(fault_id_, code);
  if (station_) {
    plant_->signals->SetBool(blocked_id_, station_->blocked());
    plant_->signals->SetBool(starved_id_, station_->starved());
  }
}

}  // namespace shopfloor::sim
