// FactoryDataset: simulated factory signals, generated deterministically.
//
// Machines of ten signals each, sampled every second: three temperatures (0.1 degC
// resolution, heating and cooling with the machine state, a daily ambient swing and sensor
// noise), pressure (0.01 bar), vibration (0.001 mm/s, slowly rising with wear), power
// (0.1 kW), a part counter (int), the machine state (int: 0 off, 1 idle, 2 running, 3 fault)
// and two bools (running, door_open). States change on 5-minute segments drawn from a hash,
// so every value is a pure function of (machine, second) and Expected() needs no replay.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/storage/dataset.h"
#include "core/status.h"

namespace shopfloor::bench {

// Thursday 2024-01-04T00:00:00Z: the start of an InfluxDB 7-day shard group, so a day of
// data falls in one shard.
inline constexpr core::Timestamp kFactoryStart = 1'704'326'400LL * core::kSecond;

class FactoryDataset final : public Dataset {
 public:
  static constexpr int kSignalsPerMachine = 10;

  // series: a positive multiple of kSignalsPerMachine; duration: whole seconds, > 0.
  static core::Result<std::unique_ptr<FactoryDataset>> Create(int series, core::Duration duration,
                                                               core::Timestamp start = kFactoryStart);

  std::string label() const override;
  const std::vector<SeriesGroup>& groups() const override { return groups_; }
  uint64_t points() const override;
  core::Timestamp first_ts() const override { return start_; }
  core::Timestamp last_ts() const override { return start_ + (seconds_ - 1) * core::kSecond; }
  void Rewind() override;
  bool Next(Record* out) override;
  std::vector<core::Sample> Expected(SeriesRef series, core::Timestamp from,
                                     core::Timestamp to) const override;

  int machines() const { return machines_; }
  int64_t seconds() const { return seconds_; }
  // The record of `machine` at `second` since the start, without touching the stream
  // position. Thread-safe.
  void RecordAt(int machine, int64_t second, Record* out) const {
    out->group = machine;
    out->ts = start_ + second * core::kSecond;
    Compute(machine, second, &out->values);
  }

 private:
  FactoryDataset(int machines, int64_t seconds, core::Timestamp start);
  // Fills values (size kSignalsPerMachine) for machine at second `second` since start.
  void Compute(int machine, int64_t second, std::vector<core::Value>* values) const;

  int machines_;
  int64_t seconds_;
  core::Timestamp start_;
  std::vector<SeriesGroup> groups_;
  // Per machine: running seconds before each 5-minute segment (prefix sums).
  std::vector<std::vector<int64_t>> running_before_;
  int64_t cursor_second_ = 0;
  int cursor_machine_ = 0;
};

}  // namespace shopfloor::bench
