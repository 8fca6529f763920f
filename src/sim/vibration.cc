#include "sim/vibration.h"

#include <algorithm>
#include <cmath>

namespace shopfloor::sim {

namespace {
constexpr double kPi = 3.14159265358979323846;
constexpr double kGrowth = 5.0;           // k of the exponential defect growth
constexpr double kDefectRms = 10.0;       // mm/s added at D = 1
constexpr double kImpactPeak = 4.0;       // g at D = 1
constexpr double kResonanceHz = 2600.0;   // structural resonance rung by each impact
constexpr double kRingDecay = 0.0006;     // s
constexpr double kWeibullShape = 3.0;
constexpr double kGammaOnePlusThird = 0.8929795115692492;  // Gamma(1 + 1/3)
}  // namespace

double Bpfo(const BearingGeometry& g, double shaft_hz) {
  const double ratio = g.ball_diameter_mm / g.pitch_diameter_mm * std::cos(g.contact_angle_deg * kPi / 180.0);
  return g.balls / 2.0 * shaft_hz * (1.0 - ratio);
}

double Bpfi(const BearingGeometry& g, double shaft_hz) {
  const double ratio = g.ball_diameter_mm / g.pitch_diameter_mm * std::cos(g.contact_angle_deg * kPi / 180.0);
  return g.balls / 2.0 * shaft_hz * (1.0 + ratio);
}

Bearing::Bearing(std::string machine, BearingGeometry geometry, double nominal_shaft_hz, double baseline_rms,
                 const FactoryOptions& options, core::Timestamp now)
    : machine_(std::move(machine)),
      geometry_(geometry),
      nominal_shaft_hz_(nominal_shaft_hz),
      baseline_rms_(baseline_rms),
      options_(options),
      life_rng_(options.seed, "bearing-life/" + machine_),
      burst_rng_(options.seed, "bearing-burst/" + machine_) {
  Install(now);
}

void Bearing::Install(core::Timestamp now) {
  const double mean = static_cast<double>(options_.bearing_life);
  const double life = std::clamp(life_rng_.Weibull(kWeibullShape, mean / kGammaOnePlusThird), 0.35 * mean, 2.0 * mean);
  installed_ = now;
  end_of_life_ = now + std::max<core::Duration>(1, static_cast<core::Duration>(life));
  onset_ = life_rng_.Uniform(0.6, 0.8);
  inner_race_ = life_rng_.Bernoulli(0.4);
}

double Bearing::Degradation(core::Timestamp now) const {
  const double life = static_cast<double>(end_of_life_ - installed_);
  const double tau = std::clamp(static_cast<double>(now - installed_) / life, 0.0, 1.0);
  if (tau >= 1.0) return 1.0;
  const double wear = 0.1 * std::min(tau, onset_) / onset_;
  const double x = std::max(0.0, (tau - onset_) / (1.0 - onset_));
  const double defect = 0.9 * std::expm1(kGrowth * x) / std::expm1(kGrowth);
  return std::min(1.0, wear + defect);
}

double Bearing::VelocityRms(core::Timestamp now, double running, Rng* rng) const {
  const double d = Degradation(now);
  const double machine = baseline_rms_ * running;
  const double defect = kDefectRms * d * running;
  const double rms = std::sqrt(machine * machine + defect * defect) * (1.0 + 0.04 * rng->Normal());
  return std::max(0.0, rms + 0.05);
}

void Bearing::FillBurst(core::Timestamp now, double shaft_hz, double running, Burst* burst) {
  const double fs = options_.burst_sample_rate;
  const size_t n = static_cast<size_t>(std::llround(fs * static_cast<double>(options_.burst_length) / core::kSecond));
  burst->machine = machine_;
  burst->start = now;
  burst->sample_rate = fs;
  burst->samples.assign(n, 0.0f);
  if (n == 0 || fs <= 0) return;

  if (ring_.empty()) {
    const double f_res = std::min(kResonanceHz, 0.4 * fs);
    const size_t len = std::max<size_t>(2, static_cast<size_t>(std::ceil(4.6 * kRingDecay * fs)));
    ring_.resize(len);
    for (size_t i = 0; i < len; ++i) {
      const double t = static_cast<double>(i) / fs;
      ring_[i] = static_cast<float>(std::exp(-t / kRingDecay) * std::cos(2 * kPi * f_res * t));
    }
  }

  const double d = Degradation(now);
  const double fr = shaft_hz * running;
  // Peak acceleration (g) of the 1x tone for the baseline velocity: a = 2 pi f v.
  const double a1 = fr > 0 ? std::sqrt(2.0) * 2 * kPi * fr * baseline_rms_ * 1e-3 / 9.81 : 0.0;
  const double defect_hz = inner_race_ ? Bpfi(geometry_, fr) : Bpfo(geometry_, fr);
  const double tone = 0.3 * d * running;
  const double noise = 0.01 + 0.02 * d * running;
  const double impact = kImpactPeak * std::pow(d, 1.3) * running;

  // Tones by rotating phasors (no sin/cos per sample).
  const double w1 = 2 * kPi * fr / fs;
  const double wd = 2 * kPi * defect_hz / fs;
  double c1 = std::cos(w1), s1 = std::sin(w1), cd = std::cos(wd), sd = std::sin(wd);
  double p1r = std::cos(burst_rng_.Uniform(0, 2 * kPi)), p1i = std::sqrt(1 - p1r * p1r);
  double pdr = 1.0, pdi = 0.0;
  float* out = burst->samples.data();
  for (size_t i = 0; i < n; ++i) {
    const double p2r = p1r * p1r - p1i * p1i;  // 2x tone = phasor squared
    out[i] = static_cast<float>(a1 * p1r + 0.5 * a1 * p2r + tone * pdr + noise * burst_rng_.Normal());
    double r = p1r * c1 - p1i * s1;
    p1i = p1r * s1 + p1i * c1;
    p1r = r;
    r = pdr * cd - pdi * sd;
    pdi = pdr * sd + pdi * cd;
    pdr = r;
  }
  if (impact > 1e-6 && defect_hz > 0.5) {
    const double period = 1.0 / defect_hz;
    double t = burst_rng_.Uniform(0, period);
    const double duration = static_cast<double>(n) / fs;
    while (t < duration) {
      double amp = impact * (0.8 + 0.4 * burst_rng_.Uniform());
      if (inner_race_) amp *= 0.6 + 0.4 * std::cos(2 * kPi * fr * t);  // load zone passes
      const size_t start = static_cast<size_t>(t * fs);
      const size_t len = std::min(ring_.size(), n - start);
      for (size_t k = 0; k < len; ++k) out[start + k] += static_cast<float>(amp) * ring_[k];
      t += period * (1.0 + 0.01 * burst_rng_.Normal());  // 1% slip
    }
  }
}

BearingTruth Bearing::Truth(core::Timestamp now) const {
  BearingTruth t;
  t.machine = machine_;
  t.health = Health(now);
  t.installed = installed_;
  t.end_of_life = end_of_life_;
  t.remaining = std::max<core::Duration>(0, end_of_life_ - now);
  t.failures = failures_;
  t.defect = inner_race_ ? "inner_race" : "outer_race";
  t.bearing = geometry_.designation;
  t.shaft_hz = nominal_shaft_hz_;
  t.bpfo_hz = Bpfo(geometry_, nominal_shaft_hz_);
  t.bpfi_hz = Bpfi(geometry_, nominal_shaft_hz_);
  return t;
}

}  // namespace shopfloor::sim
