// Machine: what every simulated machine shares. Its signals in the SignalTable, its
// random stream, its PackML state with fault code (and the running/faulted flags), its
// faults (micro-stops, jams, starvation, tool wear, process upsets), optionally a station
// of a line and a bearing, and helpers for the physics (first-order lags, power and an
// energy counter that integrates it exactly).
//
// Each step the factory calls, for every machine: Prepare (faults start and end, the
// bearing fails or is renewed), then steps the stations of each line downstream first,
// then Settle (the PackML state from conditions and flow), then Physics (the signals).
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "sim/factory.h"
#include "sim/flow.h"
#include "sim/rng.h"
#include "sim/signals.h"
#include "sim/vibration.h"

namespace shopfloor::sim {

// PackML states (ISA-TR88.00.02 numbering).
enum PackMl : int {
  kStateStopped = 2,
  kStateStarting = 3,
  kStateIdle = 4,
  kStateSuspended = 5,
  kStateExecute = 6,
  kStateAborted = 9,
  kStateHeld = 11,
};
const char* PackMlName(int state);

struct Tick {
  core::Timestamp now = 0;  // end of this step
  double dt = 0;            // s
  double ambient = 20;      // hall temperature, degC
  double hour_of_day = 0;   // 0..24, UTC
  double body_activity = 0;      // fraction of body-line stations in Execute
  double bottling_activity = 0;  // fraction of bottling stations in Execute
  double plant_load_kw = 0;      // sum of the loads (main meter only)
};

// Shared by all machines of a factory.
struct PlantContext {
  const FactoryOptions* options = nullptr;
  SignalTable* signals = nullptr;
  std::vector<Event>* events = nullptr;
  void Emit(core::Timestamp ts, const std::string& machine, const char* kind, std::string detail, int64_t code);
};

class Machine : public PartJudge {
 public:
  Machine(PlantContext* plant, std::string name, bool has_state);
  ~Machine() override;

  const std::string& name() const { return name_; }
  Station* station() { return station_.get(); }
  Bearing* bearing() { return bearing_.get(); }
  int state() const { return state_; }
  bool may_run() const { return may_run_; }
  double power_kw() const { return power_kw_; }

  void Prepare(core::Timestamp now);
  void Settle(core::Timestamp now);
  virtual void Physics(const Tick& tick) = 0;

  // Faults (validated by the factory). False when this machine has no such fault.
  bool StartFault(FaultKind kind, core::Timestamp now, core::Duration duration);
  virtual bool SupportsProcessUpset() const { return false; }

  // Makes a burst when a bearing is fitted (shaft speed and running factor of the step).
  void FillBurst(core::Timestamp now, Burst* burst);

  // PartJudge: the default scrap model, base rate times the tool wear factor.
  bool JudgePart() override { return !rng_.Bernoulli(base_scrap_ * WearFactor(now_)); }

 protected:
  int AddDouble(const char* name, const char* unit, double min, double max, double resolution);
  int AddSetpoint(const char* name, const char* unit, double min, double max, double initial);
  int AddInt(const char* name, const char* unit, bool counter);
  int AddBool(const char* name);
  int AddString(const char* name, std::string value);
  // Power (kW) and its energy counter (kWh): energy += published power * dt.
  void AddPower(const char* power_name, double power_max, const char* energy_name);
  void PublishPower(double kw, double dt);
  void AddVibration(const char* name, double max, BearingGeometry geometry, double shaft_hz, double baseline);
  // Updates vibration_rms once per simulated second and remembers the rotation for bursts.
  void PublishVibration(core::Timestamp now, double shaft_hz, double running);

  void AttachStation(double cycle_s, double jitter, Buffer* in, Buffer* out, double base_scrap);

  double Set(int id, double v) { plant_->signals->SetDouble(id, v); return plant_->signals->Get(id); }
  double Setpoint(int id) const { return plant_->signals->Get(id); }
  // Scrap multiplier of a worn tool: rises linearly from 1 to 10 over the fault.
  double WearFactor(core::Timestamp now) const;
  bool process_upset(core::Timestamp now) const { return now < process_until_; }
  bool supply_cut(core::Timestamp now) const { return now < supply_cut_until_; }
  double Noise(double sigma) { return sigma * rng_.Normal(); }
  // First-order lag toward target with time constant tau (s).
  static double Lag(double x, double target, double tau, double dt);
  // Ornstein-Uhlenbeck step: mean-reverting noise with stationary deviation sigma.
  double Ou(double x, double sigma, double tau, double dt) {
    return x - x * dt / tau + sigma * std::sqrt(2.0 * dt / tau) * rng_.Normal();
  }

  PlantContext* plant_;
  std::string name_;
  Rng rng_;
  double base_scrap_ = 0.0;
  core::Timestamp now_ = 0;
  double power_kw_ = 0.0;

 private:
  void Emit(core::Timestamp now, const char* kind, std::string detail, int64_t code);
  void ScheduleRandomFaults(core::Timestamp now);
  void RandomFaults(core::Timestamp now);

  bool has_state_;
  std::unique_ptr<Station> station_;
  std::unique_ptr<Bearing> bearing_;
  int state_id_ = -1, fault_id_ = -1, running_id_ = -1, faulted_id_ = -1;
  int power_id_ = -1, energy_id_ = -1;
  int vibration_id_ = -1, kurtosis_id_ = -1;
  int blocked_id_ = -1, starved_id_ = -1;
  double energy_kwh_ = 0.0;
  core::Timestamp next_rms_ = 0;
  double shaft_hz_ = 0.0, burst_shaft_hz_ = 0.0, burst_running_ = 0.0;

  int state_ = kStateIdle;
  int fault_code_ = kFaultNone;
  bool may_run_ = false;
  bool failed_ = false;
  core::Timestamp repair_until_ = 0;
  core::Timestamp starting_until_ = 0;
  core::Timestamp hold_until_ = 0;
  int hold_code_ = kFaultNone;
  core::Timestamp supply_cut_until_ = 0;
  core::Timestamp wear_start_ = 0, wear_until_ = 0;
  core::Timestamp process_until_ = 0;
  // Random faults: next occurrence of each process (0 = none).
  core::Timestamp next_micro_stop_ = 0, next_jam_ = 0, next_wear_ = 0, next_starve_ = 0;

 protected:
  bool operator_stop_ = false;  // e.g. conveyor speed setpoint 0
  bool line_head_ = false;      // first station of its line: random material starvation
};

// The plant's machines, in config order (factory.cc wires the lines).
struct Lines {
  std::vector<std::unique_ptr<Machine>> machines;
  std::vector<Machine*> body;      // press-1 .. vision-station, upstream first
  std::vector<Machine*> bottling;  // filler .. cold-room
  std::vector<std::unique_ptr<Buffer>> buffers;
  Machine* meter = nullptr;
};
inline Buffer* NewBuffer(Lines* lines, int64_t capacity) {
  lines->buffers.push_back(std::make_unique<Buffer>(Buffer{0, capacity}));
  return lines->buffers.back().get();
}
void BuildBodyLine(PlantContext* plant, core::Timestamp now, Lines* lines);
void BuildBottlingLine(PlantContext* plant, core::Timestamp now, Lines* lines);
void BuildUtilities(PlantContext* plant, core::Timestamp now, Lines* lines);

}  // namespace shopfloor::sim
