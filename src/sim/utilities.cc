// Utilities: the screw compressor on the compressed-air network and the main energy meter.
#include <algorithm>
#include <cmath>

#include "sim/machine.h"

namespace shopfloor::sim {

namespace {

constexpr double kPi = 3.14159265358979323846;

// A 90 kW oil-injected screw compressor with load/unload control: it loads below
// setpoint - 0.3 bar and unloads above setpoint + 0.3 bar. The network (10 m3 of receiver
// and piping) gains (delivery - demand) / V bar per second (flows in m3/s of free air);
// the demand follows the lines' activity. A process upset is a leak (+6 m3/min).
class Compressor : public Machine {
 public:
  static constexpr double kDelivery = 15.5;  // m3/min free air delivery, loaded
  static constexpr double kVolume = 10.0;    // m3

  explicit Compressor(PlantContext* plant) : Machine(plant, "compressor-1", true) {
    pressure_ = AddDouble("discharge_pressure", "bar", 0, 13, 0.01);
    setpoint_ = AddSetpoint("pressure_setpoint", "bar", 5, 10, 7);
    oil_ = AddDouble("oil_temperature", "degC", 0, 120, 0.1);
    current_ = AddDouble("motor_current", "A", 0, 200, 0.1);
    AddVibration("vibration_rms", 30, BearingGeometry{"6312", 8, 22.225, 95.0, 0.0}, 49.67, 1.6);
    load_ = AddDouble("load", "%", 0, 100, 0.1);
    AddPower("power", 110, "energy");
    hours_ = AddInt("running_hours", "h", true);
    run_seconds_ = 3600.0 * std::floor(rng_.Uniform(8000, 16000));
    p_ = 7.0, oil_temp_ = 70.0;
  }

  bool SupportsProcessUpset() const override { return true; }

  void Physics(const Tick& t) override {
    const double sp = Setpoint(setpoint_);
    const bool on = state() == kStateExecute;
    if (p_ < sp - 0.3) loaded_ = true;
    if (p_ > sp + 0.3) loaded_ = false;
    const bool loaded = on && loaded_;
    demand_noise_ = Ou(demand_noise_, 0.6, 120.0, t.dt);
    double demand = 4.0 + 5.0 * t.body_activity + 3.0 * t.bottling_activity + demand_noise_;
    if (process_upset(t.now)) demand += 6.0;
    demand *= std::sqrt(std::max(0.0, p_) / 7.0);  // leaks and nozzles flow less at low pressure
    p_ = std::max(0.0, p_ + ((loaded ? kDelivery : 0.0) - demand) / 60.0 / kVolume * t.dt);
    Set(pressure_, p_ + Noise(0.005));
    load_pct_ = Lag(load_pct_, loaded ? 100.0 : 0.0, 10.0, t.dt);
    Set(load_, load_pct_);
    const double kw = loaded ? 78.0 + 2.4 * p_ + Noise(0.5) : on ? 26.0 + Noise(0.3) : 0.0;
    PublishPower(kw, t.dt);
    Set(current_, kw > 0 ? kw * 1000.0 / (std::sqrt(3.0) * 400.0 * 0.88) + Noise(0.3) : 0.0);
    oil_temp_ = Lag(oil_temp_, t.ambient + (loaded ? 60.0 : on ? 45.0 : 0.0), 900.0, t.dt);
    Set(oil_, oil_temp_ + Noise(0.05));
    if (on) run_seconds_ += t.dt;
    plant_->signals->SetInt(hours_, static_cast<int64_t>(run_seconds_ / 3600.0));
    PublishVibration(t.now, 49.67, loaded ? 1.0 : on ? 0.8 : 0.0);
  }

 private:
  int pressure_, setpoint_, oil_, current_, load_, hours_;
  double p_, oil_temp_, load_pct_ = 0.0, demand_noise_ = 0.0, run_seconds_;
  bool loaded_ = true;
};

// The main incomer: active power = the plant's loads + a base load (lighting, HVAC,
// offices, following the day), energy_import its integral; 230 V phase voltages sagging
// with load, phase currents from P = 3 V I pf with a small imbalance, grid frequency.
class MainMeter : public Machine {
 public:
  explicit MainMeter(PlantContext* plant) : Machine(plant, "main-meter", false) {
    AddPower("active_power", 5000, "energy_import");
    base_ = AddDouble("base_load", "kW", 0, 2000, 0.01);
    const char* volts[3] = {"voltage_l1", "voltage_l2", "voltage_l3"};
    const char* amps[3] = {"current_l1", "current_l2", "current_l3"};
    for (int k = 0; k < 3; ++k) {
      voltage_[k] = AddDouble(volts[k], "V", 0, 300, 0.1);
      current_[k] = AddDouble(amps[k], "A", 0, 8000, 0.1);
    }
    pf_ = AddDouble("power_factor", "", 0, 1, 0.001);
    frequency_ = AddDouble("frequency", "Hz", 45, 55, 0.001);
  }

  void Physics(const Tick& t) override {
    base_noise_ = Ou(base_noise_, 5.0, 600.0, t.dt);
    const double day = 0.5 * (1.0 - std::cos(2 * kPi * (t.hour_of_day - 4.0) / 24.0));
    const double base = Set(base_, 150.0 + 70.0 * day + base_noise_);
    PublishPower(t.plant_load_kw + base, t.dt);
    grid_ = Ou(grid_, 1.2, 900.0, t.dt);
    pf_drift_ = Ou(pf_drift_, 0.006, 600.0, t.dt);
    const double pf = Set(pf_, std::clamp(0.93 + pf_drift_, 0.8, 0.99));
    static constexpr double kOffset[3] = {0.4, -0.3, 0.1};
    static constexpr double kImbalance[3] = {0.015, -0.008, -0.007};
    for (int k = 0; k < 3; ++k) {
      const double v = Set(voltage_[k], 231.0 + grid_ + kOffset[k] - 0.002 * power_kw() + Noise(0.1));
      Set(current_[k], power_kw() * 1000.0 / (3.0 * v * pf) * (1.0 + kImbalance[k]) + Noise(0.5));
    }
    frequency_hz_ = Ou(frequency_hz_, 0.015, 30.0, t.dt);
    Set(frequency_, 50.0 + frequency_hz_);
  }

 private:
  int base_, voltage_[3], current_[3], pf_, frequency_;
  double base_noise_ = 0.0, grid_ = 0.0, pf_drift_ = 0.0, frequency_hz_ = 0.0;
};

}  // namespace

void BuildUtilities(PlantContext* plant, core::Timestamp /*now*/, Lines* lines) {
  lines->machines.push_back(std::make_unique<Compressor>(plant));
  lines->machines.push_back(std::make_unique<MainMeter>(plant));
  lines->meter = lines->machines.back().get();
}

}  // namespace shopfloor::sim
