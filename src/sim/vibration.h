// Bearing: run-to-failure degradation of a rolling-element bearing and the vibration it
// produces (docs/simulator.md, "Vibration and bearings").
//
// Life. At installation a life L is drawn (Weibull, shape 3, mean FactoryOptions::
// bearing_life, kept within 0.35..2 times the mean) and a defect onset tau0 in [0.6, 0.8]
// of it, and whether the defect grows on the outer or the inner race. With tau the
// fraction of life used, the degradation is
//   D(tau) = 0.1 * min(tau, tau0) / tau0 + 0.9 * (exp(k x) - 1) / (exp(k) - 1),
//   x = max(0, (tau - tau0) / (1 - tau0)), k = 5,
// (slow wear, then exponential growth of the defect), health = 1 - D, and the bearing
// fails at tau = 1 (health 0), i.e. at end_of_life = installed + L. Ageing runs on
// calendar time, so end_of_life is known at installation (the ground truth).
//
// Vibration. Velocity RMS (mm/s) = sqrt((v0 r)^2 + (10 D r)^2) * (1 + 4% noise) with v0
// the machine's baseline (ISO 10816 zone A/B) and r its running factor (0 stopped .. 1
// full speed), plus a 0.05 mm/s background. Bursts (acceleration, g) sum the 1x and 2x
// shaft tones, a tone at the defect frequency growing with D, broadband noise and
// impacts at BPFO or BPFI (inner race impacts modulated by the shaft rotation), each
// ringing a 2.6 kHz structural resonance; the impacts grow with D^1.3, so the burst's
// kurtosis rises from about 3 towards 10 and more near the end of life.
//   BPFO = n/2 fr (1 - d/D cos a), BPFI = n/2 fr (1 + d/D cos a)
#pragma once

#include <string>
#include <vector>

#include "core/types.h"
#include "sim/factory.h"
#include "sim/rng.h"

namespace shopfloor::sim {

struct BearingGeometry {
  const char* designation;  // e.g. "6309"
  int balls;
  double ball_diameter_mm;
  double pitch_diameter_mm;
  double contact_angle_deg;
};

double Bpfo(const BearingGeometry& g, double shaft_hz);
double Bpfi(const BearingGeometry& g, double shaft_hz);

class Bearing {
 public:
  Bearing(std::string machine, BearingGeometry geometry, double nominal_shaft_hz, double baseline_rms,
          const FactoryOptions& options, core::Timestamp now);

  // A new bearing (installation or maintenance renewal): draws its life from the seed.
  void Install(core::Timestamp now);
  void Fail() { ++failures_; }

  double Degradation(core::Timestamp now) const;
  double Health(core::Timestamp now) const { return 1.0 - Degradation(now); }
  core::Timestamp end_of_life() const { return end_of_life_; }

  // Velocity RMS in mm/s for a running factor in [0, 1] (process noise from `rng`).
  double VelocityRms(core::Timestamp now, double running, Rng* rng) const;
  // Fills burst->samples (sample rate and length from the options) for the shaft speed.
  void FillBurst(core::Timestamp now, double shaft_hz, double running, Burst* burst);

  BearingTruth Truth(core::Timestamp now) const;

 private:
  std::string machine_;
  BearingGeometry geometry_;
  double nominal_shaft_hz_;
  double baseline_rms_;
  const FactoryOptions& options_;
  Rng life_rng_;   // lives, onsets, defect kinds
  Rng burst_rng_;  // waveform noise: bursts on or off leave the other streams unchanged
  core::Timestamp installed_ = 0;
  core::Timestamp end_of_life_ = 0;
  double onset_ = 0.7;
  bool inner_race_ = false;
  int failures_ = 0;
  std::vector<float> ring_;  // impact response, cached for the sample rate
};

}  // namespace shopfloor::sim
