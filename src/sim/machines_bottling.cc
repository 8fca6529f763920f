// The bottling line: filler -> capper -> labeler -> pasteuriser -> cold-room (palletised
// into store). Rated 24,000 bottles/h at the filler, the bottleneck by design.
#include <algorithm>
#include <cmath>

#include "sim/machine.h"

namespace shopfloor::sim {

namespace {

bool On(int state) { return state != kStateStopped && state != kStateAborted; }
double RatePerHour(const Station& s, double dt) { return s.finished_in_step() * 3600.0 / dt; }

class Filler : public Machine {
 public:
  Filler(PlantContext* plant, Buffer* out) : Machine(plant, "filler", true) {
    volume_ = AddDouble("fill_volume", "ml", 0, 600, 0.1);
    product_ = AddDouble("product_temperature", "degC", 0, 40, 0.1);
    bowl_ = AddDouble("bowl_level", "%", 0, 100, 0.1);
    speed_ = AddDouble("speed", "bottles/h", 0, 36000, 1);
    AddVibration("pump_vibration_rms", 20, BearingGeometry{"6309", 8, 17.462, 72.5, 0.0}, 49.17, 1.2);
    AddPower("power", 75, "energy");
    good_ = AddInt("bottles_good", "count", true);
    scrap_ = AddInt("bottles_scrap", "count", true);
    AttachStation(3600.0 / 24000.0, 0.01, nullptr, out, 0.0);
    mean_ = 501.0;
    level_ = 60.0;
    product_temp_ = 12.0;
  }

  // Each bottle: nominal 501 ml plus the valves' slow drift plus scatter; a checkweigher
  // rejects under 495 ml and over 512 ml.
  bool JudgePart() override {
    const double spread = 1.6 * (1.0 + 0.1 * (WearFactor(now_) - 1.0));
    const double v = 501.0 + drift_ + spread * rng_.Normal();
    mean_ += (v - mean_) / 60.0;  // mean of about the last 60 bottles
    return v >= 495.0 && v <= 512.0;
  }

  void Physics(const Tick& t) override {
    drift_ = Ou(drift_, 1.5, 2 * 3600.0, t.dt);
    Set(volume_, mean_);
    product_temp_ = Lag(product_temp_, 12.0 + 1.5 * std::sin(2 * 3.14159265 * (t.hour_of_day - 14) / 24), 3600, t.dt);
    Set(product_, product_temp_ + Noise(0.03));
    // Level control at 60%; without product supply the bowl drains to its low level.
    level_ = Lag(level_, supply_cut(t.now) ? 5.0 : 60.0, supply_cut(t.now) ? 60.0 : 20.0, t.dt);
    Set(bowl_, level_ + Noise(0.4));
    rate_ = Lag(rate_, RatePerHour(*station(), t.dt), 30.0, t.dt);
    Set(speed_, rate_);
    const int s = state();
    PublishPower(s == kStateExecute ? 28.0 + Noise(0.4) : On(s) ? 9.0 + Noise(0.2) : 2.0, t.dt);
    PublishVibration(t.now, 49.17, On(s) ? 1.0 : 0.0);
    plant_->signals->SetInt(good_, station()->good());
    plant_->signals->SetInt(scrap_, station()->scrap());
  }

 private:
  int volume_, product_, bowl_, speed_, good_, scrap_;
  double mean_, drift_ = 0.0, level_, product_temp_, rate_ = 0.0;
};

class Capper : public Machine {
 public:
  Capper(PlantContext* plant, Buffer* in, Buffer* out) : Machine(plant, "capper", true) {
    torque_ = AddDouble("cap_torque", "Ncm", 0, 400, 0.1);
    feed_ = AddDouble("cap_feed_level", "%", 0, 100, 0.1);
    current_ = AddDouble("motor_current", "A", 0, 25, 0.01);
    good_ = AddInt("bottles_good", "count", true);
    scrap_ = AddInt("bottles_scrap", "count", true);
    AddPower("power", 15, "energy");
    AttachStation(3600.0 / 26000.0, 0.01, in, out, 0.0);
    level_ = 80.0;
  }

  // Application torque per bottle; a worn chuck scatters it; out of 155..205 Ncm is scrap.
  bool JudgePart() override {
    torque_ncm_ = 180.0 + 7.0 * (1.0 + 0.2 * (WearFactor(now_) - 1.0)) * rng_.Normal();
    level_ -= 0.005;  // a full hopper holds 20,000 caps
    return torque_ncm_ >= 155.0 && torque_ncm_ <= 205.0 && !rng_.Bernoulli(0.001);
  }

  void Physics(const Tick& t) override {
    Set(torque_, torque_ncm_);
    if (level_ < 25.0) refilling_ = true;
    if (refilling_) level_ += 1.5 * t.dt;
    if (level_ >= 95.0) refilling_ = false;
    Set(feed_, level_);
    const int s = state();
    const double amps = s == kStateExecute ? 11.0 + Noise(0.2) : On(s) ? 4.5 + Noise(0.1) : 0.0;
    Set(current_, amps);
    PublishPower(0.3 + 0.55 * amps, t.dt);
    plant_->signals->SetInt(good_, station()->good());
    plant_->signals->SetInt(scrap_, station()->scrap());
  }

 private:
  int torque_, feed_, current_, good_, scrap_;
  double torque_ncm_ = 180.0, level_;
  bool refilling_ = false;
};

class Labeler : public Machine {
 public:
  Labeler(PlantContext* plant, Buffer* in, Buffer* out) : Machine(plant, "labeler", true) {
    glue_ = AddDouble("glue_temperature", "degC", 0, 220, 0.1);
    tension_ = AddDouble("web_tension", "N", 0, 150, 0.1);
    applied_ = AddInt("labels_applied", "count", true);
    scrap_ = AddInt("bottles_scrap", "count", true);
    AddPower("power", 20, "energy");
    AttachStation(3600.0 / 25000.0, 0.01, in, out, 0.0015);
    glue_temp_ = 168.0;
  }

  void Physics(const Tick& t) override {
    const int s = state();
    glue_temp_ = Lag(glue_temp_, On(s) ? 170.0 : t.ambient, 600.0, t.dt);
    Set(glue_, glue_temp_ + Noise(0.3));
    tension_n_ = Lag(tension_n_, s == kStateExecute ? 62.0 : 25.0, 2.0, t.dt);
    Set(tension_, tension_n_ + Noise(1.2));
    PublishPower(s == kStateExecute ? 8.0 + Noise(0.2) : On(s) ? 4.5 : 0.5, t.dt);
    plant_->signals->SetInt(applied_, station()->good());
    plant_->signals->SetInt(scrap_, station()->scrap());
  }

 private:
  int glue_, tension_, applied_, scrap_;
  double glue_temp_, tension_n_ = 25.0;
};

// A tunnel pasteuriser: three spray zones heated by steam toward (setpoint - 20, setpoint
// - 8, setpoint). Pasteurisation units PU = 8 min * 1.393^(T - 60) at the holding zone's
// product temperature; a bottle under 5 PU is scrap. A process upset is a steam loss.
class Pasteuriser : public Machine {
 public:
  Pasteuriser(PlantContext* plant, Buffer* in, Buffer* out) : Machine(plant, "pasteuriser", true) {
    zone_[0] = AddDouble("zone1_temperature", "degC", 0, 100, 0.1);
    zone_[1] = AddDouble("zone2_temperature", "degC", 0, 100, 0.1);
    zone_[2] = AddDouble("zone3_temperature", "degC", 0, 100, 0.1);
    setpoint_ = AddSetpoint("temperature_setpoint", "degC", 55, 75, 62);
    pu_ = AddDouble("pasteurisation_units", "PU", 0, 50, 0.01);
    steam_ = AddDouble("steam_pressure", "bar", 0, 10, 0.01);
    AddVibration("pump_vibration_rms", 20, BearingGeometry{"6308", 8, 15.875, 65.0, 0.0}, 24.58, 1.1);
    AddPower("power", 60, "energy");
    AttachStation(3600.0 / 26000.0, 0.01, in, out, 0.0005);
    temps_[0] = 42.0, temps_[1] = 54.0, temps_[2] = 62.0, product_ = 61.5;
    steam_bar_ = 3.2;
  }

  bool SupportsProcessUpset() const override { return true; }

  bool JudgePart() override { return PasteurisationUnits() >= 5.0 && !rng_.Bernoulli(base_scrap_); }

  void Physics(const Tick& t) override {
    const int s = state();
    const bool steam = On(s) && !process_upset(t.now);
    const double sp = Setpoint(setpoint_);
    const double target[3] = {sp - 20.0, sp - 8.0, sp};
    for (int z = 0; z < 3; ++z) {
      temps_[z] = steam ? Lag(temps_[z], target[z], 480.0, t.dt) : Lag(temps_[z], t.ambient + 10.0, 900.0, t.dt);
      Set(zone_[z], temps_[z] + Noise(0.04));
    }
    product_ = Lag(product_, temps_[2] - 0.5, 120.0, t.dt);
    Set(pu_, PasteurisationUnits());
    steam_bar_ = Lag(steam_bar_, steam ? 3.2 : 0.4, 20.0, t.dt);
    Set(steam_, steam_bar_ + Noise(0.02));
    PublishPower(On(s) ? 21.0 + (s == kStateExecute ? 3.0 : 0.0) + Noise(0.3) : 1.0, t.dt);
    PublishVibration(t.now, 24.58, On(s) ? 1.0 : 0.0);
  }

 private:
  double PasteurisationUnits() const { return 8.0 * std::pow(1.393, product_ - 60.0); }

  int zone_[3], setpoint_, pu_, steam_;
  double temps_[3], product_, steam_bar_;
};

// The cold room: a thermostat (+-0.8 K around the setpoint) switches the refrigeration
// (20 K/h); heat leaks in through the walls (time constant 4 h) and faster through the
// open door (30 min, the stored goods' mass buffering the air; forklifts every ~8 min
// for 15..180 s), which also brings in humid air. Bottles
// are palletised into it (the line's sink). A process upset is a refrigeration fault.
class ColdRoom : public Machine {
 public:
  ColdRoom(PlantContext* plant, Buffer* in) : Machine(plant, "cold-room", true) {
    air_ = AddDouble("air_temperature", "degC", -10, 20, 0.1);
    setpoint_ = AddSetpoint("temperature_setpoint", "degC", 0, 8, 4);
    humidity_ = AddDouble("humidity", "%RH", 0, 100, 0.1);
    door_ = AddBool("door_open");
    refrigeration_ = AddBool("refrigeration_running");
    AddPower("power", 30, "energy");
    AttachStation(3600.0 / 28000.0, 0.01, in, nullptr, 0.0);
    air_temp_ = 4.0, rh_ = 80.0;
    next_door_ = plant->options->start + static_cast<core::Duration>(rng_.Exponential(480.0) * core::kSecond);
  }

  bool SupportsProcessUpset() const override { return true; }

  void Physics(const Tick& t) override {
    if (!door_open_ && t.now >= next_door_) {
      door_open_ = true;
      door_close_ = t.now + static_cast<core::Duration>((15.0 + std::min(165.0, rng_.Exponential(30.0))) * core::kSecond);
    } else if (door_open_ && t.now >= door_close_) {
      door_open_ = false;
      next_door_ = t.now + static_cast<core::Duration>(rng_.Exponential(480.0) * core::kSecond);
    }
    const double sp = Setpoint(setpoint_);
    if (air_temp_ > sp + 0.8) cooling_ = true;
    if (air_temp_ < sp - 0.8) cooling_ = false;
    const bool running = cooling_ && !process_upset(t.now);
    const double hall = t.ambient + 2.0;
    double rate = (hall - air_temp_) / 14400.0 - (running ? 20.0 / 3600.0 : 0.0);
    if (door_open_) rate += (hall - air_temp_) / 1800.0;
    air_temp_ += rate * t.dt;
    Set(air_, air_temp_ + Noise(0.03));
    rh_ = door_open_ ? Lag(rh_, 92.0, 60.0, t.dt) : Lag(rh_, running ? 72.0 : 85.0, running ? 1800.0 : 3600.0, t.dt);
    Set(humidity_, rh_ + Noise(0.2));
    plant_->signals->SetBool(door_, door_open_);
    plant_->signals->SetBool(refrigeration_, running);
    PublishPower(running ? 11.0 + Noise(0.15) : 1.2, t.dt);
  }

 private:
  int air_, setpoint_, humidity_, door_, refrigeration_;
  double air_temp_, rh_;
  bool door_open_ = false, cooling_ = false;
  core::Timestamp next_door_ = 0, door_close_ = 0;
};

}  // namespace

void BuildBottlingLine(PlantContext* plant, core::Timestamp /*now*/, Lines* lines) {
  Buffer* after_filler = NewBuffer(lines, 60);
  Buffer* after_capper = NewBuffer(lines, 200);
  Buffer* after_labeler = NewBuffer(lines, 400);
  Buffer* after_pasteuriser = NewBuffer(lines, 600);
  lines->machines.push_back(std::make_unique<Filler>(plant, after_filler));
  lines->machines.push_back(std::make_unique<Capper>(plant, after_filler, after_capper));
  lines->machines.push_back(std::make_unique<Labeler>(plant, after_capper, after_labeler));
  lines->machines.push_back(std::make_unique<Pasteuriser>(plant, after_labeler, after_pasteuriser));
  lines->machines.push_back(std::make_unique<ColdRoom>(plant, after_pasteuriser));
  for (size_t i = lines->machines.size() - 5; i < lines->machines.size(); ++i) {
    lines->bottling.push_back(lines->machines[i].get());
  }
}

}  // namespace shopfloor::sim
