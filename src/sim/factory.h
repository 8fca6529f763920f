// Factory: the physics of the Demo Works plant (config/demo-works.yaml), deterministic for
// a seed and advanced in fixed steps of simulated time.
//
// Machines are named as in the plant config (press-1, robot-1, robot-2, conveyor-1,
// vision-station, filler, capper, labeler, pasteuriser, cold-room, compressor-1,
// main-meter) and their signals as the config's tags (press-1/hydraulic_pressure,
// filler/fill_volume, ...), so the protocol front ends can serve every tag a source binds by
// looking up (machine name, tag name). Signals beyond the config's tags may exist.
//
// The model (docs/simulator.md):
//  - Material flow. Body line: press-1 -> buffer -> robot-1 -> buffer -> robot-2 -> buffer
//    -> conveyor-1 -> buffer -> vision-station. Bottling line: filler -> capper -> labeler
//    -> pasteuriser -> cold-room. Buffers are finite: a station whose input buffer is empty
//    is starved, one whose output buffer is full is blocked; both show as PackML Suspended.
//    Each station has an ideal cycle time; good and scrap counts are cumulative counters.
//  - PackML states (state tag, ISA-TR88 numbering): 2 Stopped, 3 Starting, 4 Idle,
//    5 Suspended, 6 Execute, 11 Held, 9 Aborted (and the transitional states in between).
//    Faults carry a fault code (signal fault_code, 0 = none).
//  - Physics: first-order thermal inertia for temperatures, motor current and power that
//    follow load, energy counters (kWh) that integrate power exactly, welding current,
//    voltage and wire feed per weld, fill volume per bottle with slow drift, a pasteuriser
//    temperature profile through three zones, a cold room with door openings, a compressor
//    with a pressure band around its setpoint, the main meter summing the plant's load.
//    Published values are quantised to each sensor's resolution.
//  - Vibration on motors, pumps and the press: vibration_rms (mm/s) every step, and a
//    waveform burst (1 s at 6.4 kHz, acceleration in g) every burst_interval. Each bearing
//    degrades along a run-to-failure curve: BPFO/BPFI defect tones grow, RMS and kurtosis
//    rise; at end of life the machine fails (Aborted, fault code kFaultBearing) and stays
//    down for repair_time, after which a maintenance event renews the bearing with a new
//    life drawn from the seed. The ground truth (health, remaining useful life, end of
//    life) is available at every step.
//  - Faults: micro-stops, jams, material starvation, tool wear raising scrap, sensor faults
//    (stuck, spike, drift, dropout) and communication loss, each random from the seed at
//    the rates of FactoryOptions, or injected with InjectFault.
//  - Setpoints (writable signals): weld_current_setpoint (robots), speed_setpoint
//    (conveyor-1), temperature_setpoint (pasteuriser, cold-room), pressure_setpoint
//    (compressor-1) change the simulated process.
//
// Not thread-safe: one thread owns a Factory (the front ends take a Snapshot under their
// own lock).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace shopfloor::sim {

struct FactoryOptions {
  uint64_t seed = 1;
  core::Timestamp start = 0;                   // simulated time of the first state
  core::Duration step = 100 * core::kMillisecond;  // fixed physics step
  // Mean bearing life; each bearing's life is drawn around it (and again after each
  // renewal). Tests shorten it to see failures within a few simulated days.
  core::Duration bearing_life = 21 * core::kDay;
  core::Duration repair_time = 4 * core::kHour;
  core::Duration burst_interval = 5 * core::kMinute;  // 0: no waveform bursts
  double burst_sample_rate = 6400;                    // Hz
  core::Duration burst_length = core::kSecond;
  bool random_faults = true;  // false: only injected faults (tests of exact physics)
};

enum class FaultKind : uint8_t {
  kMicroStop,        // a few seconds' stop, self-clearing
  kJam,              // Held until cleared after the duration
  kStarvation,       // upstream material missing at the line's first station
  kToolWear,         // scrap rate rises until the tool is changed (end of the duration)
  kSensorStuck,      // `signal` keeps its value
  kSensorSpike,      // one sample of `signal` far off
  kSensorDrift,      // `signal` drifts away linearly
  kSensorDropout,    // `signal` unavailable (a front end answers it as bad / omits it)
  kCommunicationLoss,  // the machine's front end stops answering
  kProcess,          // a process upset, e.g. pasteuriser steam loss: zone temperatures fall
};
std::string_view FaultKindName(FaultKind kind);  // "micro_stop", "jam", ...

// Fault codes in signal fault_code.
inline constexpr int kFaultNone = 0;
inline constexpr int kFaultJam = 101;
inline constexpr int kFaultStarved = 102;
inline constexpr int kFaultBearing = 201;
inline constexpr int kFaultProcess = 301;
// Added with the physics (docs/simulator.md): a micro-stop (Held for seconds) and a worn
// tool (the machine runs, its scrap rate rises until the tool change).
inline constexpr int kFaultMicroStop = 103;
inline constexpr int kFaultToolWear = 104;

struct SignalInfo {
  std::string machine;
  std::string name;
  core::ValueType type = core::ValueType::kDouble;
  bool writable = false;
  std::string unit;
};

// A reading of one signal. `available` is false during a sensor dropout or while the
// machine's communication is lost.
struct Reading {
  core::Value value;
  bool available = true;
};

// Something that happened: state changes, faults, failures, maintenance, setpoint changes.
struct Event {
  core::Timestamp ts = 0;
  std::string machine;
  std::string kind;     // "state", "fault", "fault_cleared", "failure", "maintenance", "setpoint"
  std::string detail;   // e.g. "Execute -> Suspended (starved)", "bearing renewed"
  int64_t code = 0;     // state number, fault code
};

// One vibration waveform capture.
struct Burst {
  std::string machine;
  core::Timestamp start = 0;
  double sample_rate = 0;      // Hz
  std::vector<float> samples;  // acceleration, g
};

// Ground truth of one machine's bearing.
struct BearingTruth {
  std::string machine;
  double health = 1.0;              // 1 new .. 0 failed
  core::Timestamp installed = 0;    // last renewal
  core::Timestamp end_of_life = 0;  // when it fails if nothing intervenes
  core::Duration remaining = 0;     // end_of_life - now, >= 0
  int failures = 0;                 // failures since start
  // Added with the physics: the defect that grows ("outer_race" or "inner_race"), the
  // bearing designation, the nominal shaft speed and the defect frequencies at it.
  std::string defect;
  std::string bearing;
  double shaft_hz = 0;
  double bpfo_hz = 0;
  double bpfi_hz = 0;
};

class Factory {
 public:
  static std::unique_ptr<Factory> Create(FactoryOptions options);
  virtual ~Factory() = default;

  // Advances in fixed steps while now() + step <= t.
  virtual void AdvanceTo(core::Timestamp t) = 0;
  virtual core::Timestamp now() const = 0;

  virtual std::vector<SignalInfo> Signals() const = 0;
  // nullopt when the machine or signal does not exist.
  virtual std::optional<Reading> Read(std::string_view machine, std::string_view signal) const = 0;
  // Writes a writable signal (a setpoint); InvalidArgument for read-only or unknown signals,
  // values of the wrong type or outside the signal's limits. Takes effect from the next step.
  virtual core::Status Write(std::string_view machine, std::string_view signal, const core::Value& value) = 0;

  // Fault injection; `signal` only for the sensor faults. InvalidArgument when unknown.
  virtual core::Status InjectFault(std::string_view machine, FaultKind kind, core::Duration duration,
                                   std::string_view signal = {}) = 0;
  // True unless the machine's communication is lost.
  virtual bool Reachable(std::string_view machine) const = 0;

  // Events and bursts since the last call (in time order). Unclaimed ones are capped:
  // beyond 100,000 events or 64 bursts the oldest are dropped.
  virtual std::vector<Event> TakeEvents() = 0;
  virtual std::vector<Burst> TakeBursts() = 0;
  virtual std::vector<BearingTruth> Bearings() const = 0;

  // Added with the physics: every signal's reading in Signals() order, in one call (a
  // front end's snapshot). The default reads them one by one.
  virtual std::vector<Reading> ReadAll() const;
};

}  // namespace shopfloor::sim
