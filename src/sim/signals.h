// SignalTable: every signal of the simulated plant in one flat table, addressed by a dense
// id on the hot path (machines write their signals each step by id) and by (machine, name)
// for the front ends. Published values are quantised to the sensor's resolution and
// clamped to its range; sensor faults (stuck, spike, drift, dropout) are laid over the
// value when it is read, so the process itself never sees them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "sim/factory.h"

namespace shopfloor::sim {

struct SignalSpec {
  std::string machine;
  std::string name;
  core::ValueType type = core::ValueType::kDouble;
  std::string unit;
  double min = 0.0;          // sensor range (doubles: clamped; writable: accepted range)
  double max = 0.0;
  double resolution = 0.0;   // quantisation step; 0 = none
  bool writable = false;
  bool counter = false;      // monotonic; random sensor faults leave counters alone
};

class SignalTable {
 public:
  int Add(SignalSpec spec);
  int Find(std::string_view machine, std::string_view name) const;  // -1 when unknown
  int size() const { return static_cast<int>(specs_.size()); }
  const SignalSpec& spec(int id) const { return specs_[id]; }

  // Publishes a value: doubles are quantised and clamped to the sensor range.
  void SetDouble(int id, double v);
  void SetInt(int id, int64_t v) { ints_[id] = v; }
  void SetBool(int id, bool v) { nums_[id] = v ? 1.0 : 0.0; }
  void SetString(int id, std::string v) { strings_[id] = std::move(v); }
  // The published (quantised, fault-free) value.
  double Get(int id) const { return nums_[id]; }
  int64_t GetInt(int id) const { return ints_[id]; }
  bool GetBool(int id) const { return nums_[id] != 0.0; }

  // The value a front end sees at `now`, with any sensor fault applied.
  Reading Read(int id, core::Timestamp now) const;

  // Writes a setpoint after validating it (writable, type, range).
  core::Status Write(int id, const core::Value& value);

  // Sensor faults. `spike_at` is the step whose value is off (kSensorSpike only).
  core::Status InjectSensorFault(int id, FaultKind kind, core::Timestamp now, core::Timestamp until,
                                 double sign);
  // Ends the faults whose time is up; returns the ids of the signals that recovered.
  std::vector<int> ExpireFaults(core::Timestamp now);

 private:
  struct SensorFault {
    FaultKind kind;
    core::Timestamp start = 0;
    core::Timestamp until = 0;
    double stuck = 0.0;        // kSensorStuck: the value at the start
    int64_t stuck_int = 0;
    double delta = 0.0;        // kSensorSpike: offset; kSensorDrift: offset per second
  };

  core::Value RawValue(int id) const;

  std::vector<SignalSpec> specs_;
  std::vector<double> nums_;        // doubles and bools
  std::vector<int64_t> ints_;
  std::vector<std::string> strings_;
  std::vector<int> fault_of_;       // index into faults_, -1 when healthy
  std::vector<std::pair<int, SensorFault>> faults_;
  std::map<std::string, int, std::less<>> index_;  // "machine/name"
};

}  // namespace shopfloor::sim
