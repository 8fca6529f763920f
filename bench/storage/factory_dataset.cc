#include "bench/storage/factory_dataset.h"

#include <cmath>
#include <memory>
#include <numbers>

#include <fmt/format.h>

namespace shopfloor::bench {
namespace {

using core::Status;
using core::Value;

constexpr int64_t kSegmentSeconds = 300;
constexpr int64_t kDaySeconds = 86'400;

enum Signal {
  kTempMotor, kTempBearing, kTempCoolant, kPressure, kVibration, kPower,
  kPartCount, kState, kRunning, kDoorOpen,
};
constexpr const char* kSignalNames[] = {"temp_motor", "temp_bearing", "temp_coolant", "pressure",
                                        "vibration",  "power",        "part_count",   "state",
                                        "running",    "door_open"};
enum State : int64_t { kOff = 0, kIdle = 1, kRunningState = 2, kFault = 3 };

uint64_t SplitMix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t Hash(int machine, int stream, int64_t index) {
  return SplitMix(SplitMix(SplitMix(static_cast<uint64_t>(machine) + 0x5F0F) ^ static_cast<uint64_t>(stream)) ^
                  static_cast<uint64_t>(index));
}

// Uniform in [0, 1).
double Unit(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

// Roughly normal noise with unit standard deviation (sum of four uniforms).
double Noise(int machine, int stream, int64_t second) {
  uint64_t h = Hash(machine, stream, second);
  double sum = 0;
  for (int i = 0; i < 4; ++i) {
    sum += static_cast<double>(h & 0xFFFF) / 65536.0;
    h >>= 16;
  }
  return (sum - 2.0) * std::sqrt(3.0);
}

int64_t StateOf(int machine, int64_t segment) {
  double u = Unit(Hash(machine, 100, segment));
  if (u < 0.05) return kOff;
  if (u < 0.25) return kIdle;
  if (u < 0.95) return kRunningState;
  return kFault;
}

double HeatLevel(int64_t state) {
  switch (state) {
    case kRunningState: return 1.0;
    case kFault: return 0.5;
    case kIdle: return 0.3;
    default: return 0.0;
  }
}

// Rounds to a multiple of 1/scale; never returns -0 (sensors report 0).
double Quantize(double x, double scale, double min_value) {
  double q = std::round(x * scale) / scale;
  if (q < min_value) q = min_value;
  return q == 0.0 ? 0.0 : q;
}

int CycleSeconds(int machine) { return 20 + machine % 17; }

}  // namespace

core::Result<std::unique_ptr<FactoryDataset>> FactoryDataset::Create(int series, core::Duration duration,
                                                                     core::Timestamp start) {
  if (series <= 0 || series % kSignalsPerMachine != 0) {
    return Status::InvalidArgument(
        fmt::format("factory dataset: series count {} is not a positive multiple of {}", series,
                    kSignalsPerMachine));
  }
  if (duration < core::kSecond || duration % core::kSecond != 0) {
    return Status::InvalidArgument(fmt::format("factory dataset: duration {} ns is not whole seconds", duration));
  }
  return std::unique_ptr<FactoryDataset>(
      new FactoryDataset(series / kSignalsPerMachine, duration / core::kSecond, start));
}

FactoryDataset::FactoryDataset(int machines, int64_t seconds, core::Timestamp start)
    : machines_(machines), seconds_(seconds), start_(start) {
  int64_t segments = seconds_ / kSegmentSeconds + 2;
  for (int m = 0; m < machines_; ++m) {
    SeriesGroup group;
    group.measurement = "machine";
    group.tags = {{"line", fmt::format("L{:02}", m / 10)}, {"machine", fmt::format("M{:04}", m)}};
    for (int s = 0; s < kSignalsPerMachine; ++s) group.fields.emplace_back(kSignalNames[s]);
    group.types = {core::ValueType::kDouble, core::ValueType::kDouble, core::ValueType::kDouble,
                   core::ValueType::kDouble, core::ValueType::kDouble, core::ValueType::kDouble,
                   core::ValueType::kInt64,  core::ValueType::kInt64,  core::ValueType::kBool,
                   core::ValueType::kBool};
    groups_.push_back(std::move(group));

    std::vector<int64_t> prefix(static_cast<size_t>(segments) + 1, 0);
    for (int64_t seg = 0; seg < segments; ++seg) {
      prefix[seg + 1] = prefix[seg] + (StateOf(m, seg) == kRunningState ? kSegmentSeconds : 0);
    }
    running_before_.push_back(std::move(prefix));
  }
}

std::string FactoryDataset::label() const {
  int64_t minutes = seconds_ / 60;
  std::string span = minutes % (24 * 60) == 0 ? fmt::format("{} d", minutes / (24 * 60))
                     : minutes % 60 == 0      ? fmt::format("{} h", minutes / 60)
                                              : fmt::format("{} min", minutes);
  return fmt::format("factory {} series x {} @1s", machines_ * kSignalsPerMachine, span);
}

uint64_t FactoryDataset::points() const {
  return static_cast<uint64_t>(machines_) * kSignalsPerMachine * static_cast<uint64_t>(seconds_);
}

void FactoryDataset::Rewind() {
  cursor_second_ = 0;
  cursor_machine_ = 0;
}

bool FactoryDataset::Next(Record* out) {
  if (cursor_second_ >= seconds_) return false;
  out->group = cursor_machine_;
  out->ts = start_ + cursor_second_ * core::kSecond;
  Compute(cursor_machine_, cursor_second_, &out->values);
  if (++cursor_machine_ == machines_) {
    cursor_machine_ = 0;
    ++cursor_second_;
  }
  return true;
}

std::vector<core::Sample> FactoryDataset::Expected(SeriesRef series, core::Timestamp from,
                                                   core::Timestamp to) const {
  std::vector<core::Sample> out;
  if (series.group < 0 || series.group >= machines_ || series.field < 0 ||
      series.field >= kSignalsPerMachine) {
    return out;
  }
  int64_t first = from <= start_ ? 0 : (from - start_ + core::kSecond - 1) / core::kSecond;
  int64_t end = to <= start_ ? 0 : (to - start_ + core::kSecond - 1) / core::kSecond;
  if (end > seconds_) end = seconds_;
  std::vector<Value> values;
  for (int64_t second = first; second < end; ++second) {
    Compute(series.group, second, &values);
    out.push_back(core::Sample{start_ + second * core::kSecond, values[series.field], core::Quality::Good()});
  }
  return out;
}

void FactoryDataset::Compute(int machine, int64_t second, std::vector<Value>* values) const {
  values->resize(kSignalsPerMachine);
  int64_t segment = second / kSegmentSeconds;
  int64_t in_segment = second % kSegmentSeconds;
  int64_t state = StateOf(machine, segment);
  int64_t previous = segment == 0 ? state : StateOf(machine, segment - 1);
  auto level = [&](double tau) {
    double from = HeatLevel(previous);
    double to = HeatLevel(state);
    return from + (to - from) * (1.0 - std::exp(-static_cast<double>(in_segment) / tau));
  };
  double phase = static_cast<double>(Hash(machine, 1, 0) % kDaySeconds);
  double ambient =
      21.0 + 2.5 * std::sin(2.0 * std::numbers::pi * (static_cast<double>(second) + phase) / kDaySeconds);
  int cycle = CycleSeconds(machine);
  double cycle_wave = std::sin(2.0 * std::numbers::pi * static_cast<double>(second % cycle) / cycle);
  bool running = state == kRunningState;

  (*values)[kTempMotor] = Quantize(ambient + 38.0 * level(90) + 0.15 * Noise(machine, 10, second), 10, -50);
  (*values)[kTempBearing] = Quantize(ambient + 22.0 * level(240) + 0.1 * Noise(machine, 11, second), 10, -50);
  (*values)[kTempCoolant] = Quantize(ambient + 9.0 * level(400) + 0.08 * Noise(machine, 12, second), 10, -50);

  double pressure = running ? 6.2 + 0.25 * cycle_wave + 0.03 * Noise(machine, 13, second)
                    : state == kOff ? 0.0
                                    : 1.0 + 0.02 * Noise(machine, 13, second);
  (*values)[kPressure] = Quantize(pressure, 100, 0);

  double wear = 0.8 * static_cast<double>(second) / kDaySeconds;
  double vibration = running ? 2.2 + wear + 0.3 * std::abs(Noise(machine, 14, second))
                     : state == kOff ? 0.02
                                     : 0.3 + 0.05 * Noise(machine, 14, second);
  (*values)[kVibration] = Quantize(vibration, 1000, 0);

  double power = running ? 14.0 + 2.5 * cycle_wave + 0.4 * Noise(machine, 15, second)
                 : state == kIdle  ? 1.8 + 0.1 * Noise(machine, 15, second)
                 : state == kFault ? 0.9
                                   : 0.0;
  (*values)[kPower] = Quantize(power, 10, 0);

  int64_t running_seconds = running_before_[machine][segment] + (running ? in_segment : 0);
  int64_t base_count = 1000 * machine + static_cast<int64_t>(Hash(machine, 2, 0) % 1000);
  (*values)[kPartCount] = Value(base_count + running_seconds / cycle);
  (*values)[kState] = Value(state);
  (*values)[kRunning] = Value(running);
  bool door = (state == kOff || state == kIdle) && in_segment < 60 && Unit(Hash(machine, 101, segment)) < 0.5;
  (*values)[kDoorOpen] = Value(door);
}

}  // namespace shopfloor::bench
