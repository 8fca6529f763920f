#include "sim/signals.h"

#include <algorithm>
#include <cmath>

namespace shopfloor::sim {

namespace {
std::string Key(std::string_view machine, std::string_view name) {
  std::string key;
  key.reserve(machine.size() + name.size() + 1);
  key.append(machine).push_back('/');
  key.append(name);
  return key;
}
}  // namespace

int SignalTable::Add(SignalSpec spec) {
  const int id = size();
  index_.emplace(Key(spec.machine, spec.name), id);
  specs_.push_back(std::move(spec));
  nums_.push_back(0.0);
  ints_.push_back(0);
  strings_.emplace_back();
  fault_of_.push_back(-1);
  return id;
}

int SignalTable::Find(std::string_view machine, std::string_view name) const {
  auto it = index_.find(Key(machine, name));
  return it == index_.end() ? -1 : it->second;
}

void SignalTable::SetDouble(int id, double v) {
  const SignalSpec& s = specs_[id];
  if (s.resolution > 0) v = std::round(v / s.resolution) * s.resolution;
  if (s.max > s.min) v = std::clamp(v, s.min, s.max);
  nums_[id] = v;
}

core::Value SignalTable::RawValue(int id) const {
  switch (specs_[id].type) {
    case core::ValueType::kDouble: return core::Value(nums_[id]);
    case core::ValueType::kInt64: return core::Value(ints_[id]);
    case core::ValueType::kBool: return core::Value(nums_[id] != 0.0);
    case core::ValueType::kString: return core::Value(strings_[id]);
  }
  return {};
}

Reading SignalTable::Read(int id, core::Timestamp now) const {
  Reading r;
  const int f = fault_of_[id];
  if (f < 0) {
    r.value = RawValue(id);
    return r;
  }
  const SensorFault& fault = faults_[f].second;
  const SignalSpec& s = specs_[id];
  switch (fault.kind) {
    case FaultKind::kSensorStuck:
      r.value = s.type == core::ValueType::kInt64 ? core::Value(fault.stuck_int)
                : s.type == core::ValueType::kDouble ? core::Value(fault.stuck)
                                                     : RawValue(id);
      if (s.type == core::ValueType::kBool) r.value = core::Value(fault.stuck != 0.0);
      return r;
    case FaultKind::kSensorSpike:
      r.value = RawValue(id);
      if (s.type == core::ValueType::kDouble && now == fault.start) r.value = core::Value(nums_[id] + fault.delta);
      return r;
    case FaultKind::kSensorDrift: {
      r.value = RawValue(id);
      if (s.type == core::ValueType::kDouble) {
        double v = nums_[id] + fault.delta * static_cast<double>(now - fault.start) / core::kSecond;
        if (s.resolution > 0) v = std::round(v / s.resolution) * s.resolution;
        r.value = core::Value(v);
      }
      return r;
    }
    case FaultKind::kSensorDropout:
      r.value = RawValue(id);
      r.available = false;
      return r;
    default:
      r.value = RawValue(id);
      return r;
  }
}

core::Status SignalTable::Write(int id, const core::Value& value) {
  const SignalSpec& s = specs_[id];
  if (!s.writable) return core::Status::InvalidArgument(Key(s.machine, s.name) + " is not writable");
  auto converted = core::ConvertLossless(value, s.type);
  if (!converted.ok()) return converted.status();
  if (s.type == core::ValueType::kDouble) {
    const double v = converted.value().as_double();
    if (!std::isfinite(v) || v < s.min || v > s.max) {
      return core::Status::InvalidArgument(Key(s.machine, s.name) + ": " + value.ToString() + " outside [" +
                                           core::Value(s.min).ToString() + ", " + core::Value(s.max).ToString() +
                                           "]");
    }
    nums_[id] = v;
    return core::Status::OK();
  }
  return core::Status::InvalidArgument(Key(s.machine, s.name) + ": only double setpoints are modelled");
}

core::Status SignalTable::InjectSensorFault(int id, FaultKind kind, core::Timestamp now, core::Timestamp until,
                                            double sign) {
  const SignalSpec& s = specs_[id];
  const bool numeric = s.type == core::ValueType::kDouble;
  if ((kind == FaultKind::kSensorSpike || kind == FaultKind::kSensorDrift) && !numeric) {
    return core::Status::InvalidArgument(Key(s.machine, s.name) + ": spikes and drift need a double signal");
  }
  SensorFault fault;
  fault.kind = kind;
  fault.start = now;
  fault.until = until;
  fault.stuck = nums_[id];
  fault.stuck_int = ints_[id];
  const double span = s.max > s.min ? s.max - s.min : std::max(1.0, std::abs(nums_[id]));
  if (kind == FaultKind::kSensorSpike) fault.delta = sign * 0.4 * span;
  if (kind == FaultKind::kSensorDrift) fault.delta = sign * 0.1 * span / 3600.0;  // 10% of span per hour
  if (fault_of_[id] >= 0) {
    faults_[fault_of_[id]].second = fault;
  } else {
    fault_of_[id] = static_cast<int>(faults_.size());
    faults_.emplace_back(id, fault);
  }
  return core::Status::OK();
}

std::vector<int> SignalTable::ExpireFaults(core::Timestamp now) {
  std::vector<int> recovered;
  if (faults_.empty()) return recovered;
  for (size_t i = 0; i < faults_.size();) {
    if (faults_[i].second.until <= now) {
      recovered.push_back(faults_[i].first);
      fault_of_[faults_[i].first] = -1;
      faults_[i] = faults_.back();
      faults_.pop_back();
      if (i < faults_.size()) fault_of_[faults_[i].first] = static_cast<int>(i);
    } else {
      ++i;
    }
  }
  return recovered;
}

}  // namespace shopfloor::sim
