// The body line: press-1 -> robot-1 -> robot-2 -> conveyor-1 -> vision-station.
#include <algorithm>
#include <cmath>

#include "sim/machine.h"

namespace shopfloor::sim {

namespace {

constexpr double kPi = 3.14159265358979323846;
// Motor current (A) of a three-phase 400 V motor drawing `kw` at power factor `pf`.
double MotorCurrent(double kw, double pf) { return kw * 1000.0 / (std::sqrt(3.0) * 400.0 * pf); }

class Press : public Machine {
 public:
  Press(PlantContext* plant, Buffer* out) : Machine(plant, "press-1", true) {
    pressure_ = AddDouble("hydraulic_pressure", "bar", 0, 350, 0.1);
    oil_ = AddDouble("oil_temperature", "degC", 0, 90, 0.1);
    force_ = AddDouble("ram_force", "kN", 0, 8000, 1);
    rate_ = AddDouble("stroke_rate", "1/min", 0, 30, 0.01);
    current_ = AddDouble("main_motor_current", "A", 0, 400, 0.1);
    AddVibration("vibration_rms", 50, BearingGeometry{"6316", 8, 28.575, 125.0, 0.0}, 24.67, 1.8);
    AddPower("power", 400, "energy");
    good_ = AddInt("strokes_good", "count", true);
    scrap_ = AddInt("strokes_scrap", "count", true);
    AddString("die_id", "DI-4711-L");
    AttachStation(30.0, 0.03, nullptr, out, 0.008);
    oil_temp_ = 35.0;
  }

  void Physics(const Tick& t) override {
    const bool on = state() != kStateStopped && state() != kStateAborted;
    const double phase = station()->phase();
    // The stroke: pressure rises and falls over 15% of the cycle (about 4.5 s).
    double p = on ? 35.0 : 0.0;
    if (on && station()->working() && phase > 0.45 && phase < 0.6) p += 245.0 * std::sin(kPi * (phase - 0.45) / 0.15);
    p = Set(pressure_, p + (on ? Noise(1.5) : 0.0));
    Set(force_, std::max(0.0, p - 35.0) * 28.5 + (p > 40 ? Noise(5) : 0.0));
    stroke_rate_ = Lag(stroke_rate_, station()->finished_in_step() * 60.0 / t.dt, 60.0, t.dt);
    Set(rate_, stroke_rate_);
    const double kw = on ? 45.0 + std::max(0.0, p - 35.0) / 245.0 * 170.0 + Noise(1.0) : 3.0;
    PublishPower(kw, t.dt);
    Set(current_, on ? 20.0 + MotorCurrent(power_kw(), 0.86) + Noise(1.0) : 0.0);
    oil_temp_ = Lag(oil_temp_, t.ambient + (on ? 10.0 + power_kw() * 0.15 : 0.0), 1800.0, t.dt);
    Set(oil_, oil_temp_ + Noise(0.05));
    PublishVibration(t.now, 24.67, on ? 1.0 : 0.0);
    plant_->signals->SetInt(good_, station()->good());
    plant_->signals->SetInt(scrap_, station()->scrap());
  }

 private:
  int pressure_, oil_, force_, rate_, current_, good_, scrap_;
  double oil_temp_ = 0.0, stroke_rate_ = 0.0;
};

// A welding robot: six MIG seams per part; each weld draws its own current, voltage and
// wire feed around the program's setpoint; the seam monitor counts it good or scrap.
class Robot : public Machine {
 public:
  static constexpr int kWelds = 6;

  Robot(PlantContext* plant, const char* name, double cycle, double torch_max, double cooling, Buffer* in,
        Buffer* out)
      : Machine(plant, name, true), cooling_(cooling) {
    current_ = AddDouble("weld_current", "A", 0, 400, 0.1);
    voltage_ = AddDouble("weld_voltage", "V", 0, 50, 0.01);
    wire_ = AddDouble("wire_feed_speed", "m/min", 0, 25, 0.01);
    gas_ = AddDouble("shielding_gas_flow", "l/min", 0, 30, 0.1);
    torch_ = AddDouble("torch_temperature", "degC", 0, torch_max, 0.1);
    axis_ = AddDouble("axis1_motor_current", "A", 0, 40, 0.01);
    setpoint_ = AddSetpoint("weld_current_setpoint", "A", 50, 350, 210);
    good_ = AddInt("welds_good", "count", true);
    scrap_ = AddInt("welds_scrap", "count", true);
    AddPower("power", 30, "energy");
    AttachStation(cycle, 0.02, in, out, 0.0);
    torch_temp_ = 25.0;
  }

  // A finished part: its remaining seams are welded (and judged) within the step.
  bool JudgePart() override {
    while (counted_ < kWelds) Weld();
    counted_ = 0;
    return true;
  }

  void Physics(const Tick& t) override {
    const double phase = station()->phase();
    const bool working = station()->working() && may_run();
    const int passed =
        working ? std::clamp(static_cast<int>(std::floor((phase - kFirst - kLength) / kPitch)) + 1, 0, kWelds) : 0;
    while (counted_ < passed) Weld();
    int k = working ? static_cast<int>((phase - kFirst) / kPitch) : -1;
    const bool arc = working && phase >= kFirst && k < kWelds && phase - kFirst - k * kPitch < kLength;
    if (arc && k != drawn_) DrawWeld(k);
    const double sp = Setpoint(setpoint_);
    const double amps = arc ? Set(current_, sp + weld_offset_ + Noise(2.0)) : Set(current_, 0.0);
    const double volts = arc ? Set(voltage_, weld_voltage_ + 0.02 * (amps - sp) + Noise(0.15)) : Set(voltage_, 0.0);
    Set(wire_, arc ? weld_wire_ + Noise(0.05) : 0.0);
    Set(gas_, arc ? 15.0 + Noise(0.2) : 0.0);
    torch_temp_ = Lag(torch_temp_, t.ambient + (arc ? cooling_ * amps : 0.0), 90.0, t.dt);
    Set(torch_, torch_temp_ + Noise(0.1));
    const double axis = working ? (arc ? 3.5 : 8.0 + 2.0 * std::sin(2 * kPi * phase * 7)) + Noise(0.3) : 1.2;
    Set(axis_, axis);
    PublishPower(1.5 + (working ? 0.12 * axis : 0.0) + amps * volts / 1000.0 / 0.85, t.dt);
    plant_->signals->SetInt(good_, welds_good_);
    plant_->signals->SetInt(scrap_, welds_scrap_);
  }

 private:
  static constexpr double kFirst = 0.12, kPitch = 0.13, kLength = 0.08;

  void DrawWeld(int k) {
    drawn_ = k;
    const double sp = Setpoint(setpoint_);
    weld_offset_ = Noise(3.5);
    weld_voltage_ = 14.0 + 0.048 * (sp + weld_offset_) + Noise(0.3);
    weld_wire_ = (sp + weld_offset_) / 26.0 + Noise(0.1);
  }
  void Weld() {
    ++counted_;
    if (counted_ == kWelds) drawn_ = -1;
    if (rng_.Bernoulli(0.004 * WearFactor(now_))) {
      ++welds_scrap_;
    } else {
      ++welds_good_;
    }
  }

  double cooling_;
  int current_, voltage_, wire_, gas_, torch_, axis_, setpoint_, good_, scrap_;
  int counted_ = 0, drawn_ = -1;
  int64_t welds_good_ = 0, welds_scrap_ = 0;
  double weld_offset_ = 0, weld_voltage_ = 0, weld_wire_ = 0, torch_temp_ = 0;
};

// The skid conveyor: throughput is skid pitch / speed setpoint; setpoint 0 stops it.
class Conveyor : public Machine {
 public:
  static constexpr double kPitch = 6.0;  // m between skids

  Conveyor(PlantContext* plant, Buffer* in, Buffer* out) : Machine(plant, "conveyor-1", true) {
    speed_ = AddDouble("speed", "m/min", 0, 60, 0.01);
    setpoint_ = AddSetpoint("speed_setpoint", "m/min", 0, 45, 12);
    current_ = AddDouble("motor_current", "A", 0, 30, 0.01);
    temp_ = AddDouble("motor_temperature", "degC", -20, 120, 0.1);
    AddVibration("vibration_rms", 20, BearingGeometry{"6206", 9, 9.525, 46.0, 0.0}, 24.17, 1.0);
    skids_ = AddInt("skids_transported", "count", true);
    AddPower("power", 15, "energy");
    AttachStation(kPitch / 12.0 * 60.0, 0.01, in, out, 0.0);
    motor_temp_ = 25.0;
  }

  void Physics(const Tick& t) override {
    const double sp = Setpoint(setpoint_);
    operator_stop_ = sp < 0.05;
    if (!operator_stop_) station()->set_cycle(kPitch / sp * 60.0);
    speed_now_ = Lag(speed_now_, state() == kStateExecute ? sp : 0.0, 1.5, t.dt);
    const double v = Set(speed_, speed_now_ > 0.02 ? speed_now_ + Noise(0.03) : 0.0);
    const double amps = Set(current_, v > 0 ? 3.5 + 0.35 * v + Noise(0.08) : 0.0);
    PublishPower(0.2 + std::sqrt(3.0) * 400.0 * amps * 0.8 / 1000.0, t.dt);
    motor_temp_ = Lag(motor_temp_, t.ambient + 2.2 * amps, 1200.0, t.dt);
    Set(temp_, motor_temp_ + Noise(0.05));
    // The drive (VFD) runs at 1450 rpm at the nominal 12 m/min.
    PublishVibration(t.now, 24.17 * speed_now_ / 12.0, std::min(1.3, speed_now_ / 12.0));
    plant_->signals->SetInt(skids_, station()->good());
  }

 private:
  int speed_, setpoint_, current_, temp_, skids_;
  double speed_now_ = 0.0, motor_temp_ = 0.0;
};

// Gap and flush of every finished panel; out of tolerance is scrap.
class Vision : public Machine {
 public:
  Vision(PlantContext* plant, Buffer* in) : Machine(plant, "vision-station", true) {
    gap_ = AddDouble("gap_mm", "mm", 0, 10, 0.001);
    flush_ = AddDouble("flush_mm", "mm", -5, 5, 0.001);
    time_ = AddDouble("inspection_time", "ms", 0, 5000, 0.1);
    good_ = AddInt("parts_good", "count", true);
    scrap_ = AddInt("parts_scrap", "count", true);
    ambient_ = AddDouble("ambient_temperature", "degC", -20, 60, 0.1);
    AddPower("power", 5, "energy");
    AttachStation(22.0, 0.02, in, nullptr, 0.0);
    gap_mm_ = 4.0;
    Set(gap_, gap_mm_);
    Set(time_, 1850.0);
  }

  bool JudgePart() override {
    const double spread = 1.0 + 0.15 * (WearFactor(now_) - 1.0);
    gap_mm_ = 4.0 + spread * Noise(0.18);
    flush_mm_ = 0.1 + spread * Noise(0.22);
    time_ms_ = 1850.0 + Noise(60.0);
    return std::abs(gap_mm_ - 4.0) <= 0.5 && std::abs(flush_mm_) <= 0.6;
  }

  void Physics(const Tick& t) override {
    Set(gap_, gap_mm_);
    Set(flush_, flush_mm_);
    Set(time_, time_ms_);
    Set(ambient_, t.ambient + 1.0 + Noise(0.05));
    PublishPower(station()->working() ? 2.4 + Noise(0.05) : 1.1, t.dt);
    plant_->signals->SetInt(good_, station()->good());
    plant_->signals->SetInt(scrap_, station()->scrap());
  }

 private:
  int gap_, flush_, time_, good_, scrap_, ambient_;
  double gap_mm_ = 4.0, flush_mm_ = 0.0, time_ms_ = 1850.0;
};

}  // namespace

void BuildBodyLine(PlantContext* plant, core::Timestamp /*now*/, Lines* lines) {
  Buffer* after_press = NewBuffer(lines, 6);
  Buffer* between_robots = NewBuffer(lines, 2);
  Buffer* after_robots = NewBuffer(lines, 3);
  Buffer* before_vision = NewBuffer(lines, 4);
  lines->machines.push_back(std::make_unique<Press>(plant, after_press));
  lines->machines.push_back(std::make_unique<Robot>(plant, "robot-1", 38.0, 150, 0.45, after_press, between_robots));
  lines->machines.push_back(std::make_unique<Robot>(plant, "robot-2", 40.0, 180, 0.35, between_robots, after_robots));
  lines->machines.push_back(std::make_unique<Conveyor>(plant, after_robots, before_vision));
  lines->machines.push_back(std::make_unique<Vision>(plant, before_vision));
  for (size_t i = lines->machines.size() - 5; i < lines->machines.size(); ++i) {
    lines->body.push_back(lines->machines[i].get());
  }
}

}  // namespace shopfloor::sim
