// Backfill: generates a stretch of plant history as fast as the machine allows, written
// straight into a sink (the storage engine) under the same series keys the live collectors
// and the simulator's pushes use, so that a fresh demo has days of trends, energy counters,
// bearing degradation and ground truth to look at.
//
// The factory runs from `end - duration` to `end` in its fixed step. Every tag bound to a
// source of the config (any protocol) is sampled at its source's poll interval (Sparkplug
// and other push sources: every second), but never faster than the step; a double tag with
// a deadband is stored only when it moved by more than the deadband or a minute passed.
// Bursts become "<machine path>/vibration_waveform", the ground truth and events the
// "sim/<machine>/..." series of docs/simulator.md. Values are Good; sensor dropouts are
// stored with BadSensorFailure, communication losses as BadNoCommunication.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "core/types.h"
#include "model/plant_config.h"
#include "sim/factory.h"

namespace shopfloor::sim {

class BackfillSink {
 public:
  virtual ~BackfillSink() = default;
  virtual core::Status Append(const std::string& key, core::ValueType type, core::Timestamp ts,
                              const core::Value& value, core::Quality quality) = 0;
  virtual core::Status Flush() = 0;
};

struct BackfillStats {
  uint64_t samples = 0;
  uint64_t bursts = 0;
  uint64_t events = 0;
  double seconds = 0;  // wall time spent
};

// Runs `factory` (created by the caller with options.start = end - duration) up to `end`.
// `progress` (may be null) is called about once per simulated hour with the fraction done.
core::Result<BackfillStats> Backfill(const model::PlantConfig& config, Factory* factory, core::Timestamp end,
                                     BackfillSink* sink, const std::function<void(double)>& progress = nullptr);

}  // namespace shopfloor::sim
