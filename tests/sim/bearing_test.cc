// Bearings run to failure over accelerated days: vibration rises, bursts turn impulsive,
// the machine fails at the end of life recorded at installation, maintenance renews it.
#include <algorithm>
#include <cmath>
#include <complex>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sim/factory.h"
#include "sim/vibration.h"

namespace shopfloor::sim {
namespace {

using core::kDay;
using core::kHour;
using core::kMinute;
using core::kSecond;

constexpr core::Timestamp kStart = 1'767'225'600LL * kSecond;

double Kurtosis(const std::vector<float>& x) {
  double mean = 0;
  for (float v : x) mean += v;
  mean /= static_cast<double>(x.size());
  double m2 = 0, m4 = 0;
  for (float v : x) {
    const double d = v - mean;
    m2 += d * d;
    m4 += d * d * d * d;
  }
  m2 /= static_cast<double>(x.size());
  m4 /= static_cast<double>(x.size());
  return m4 / (m2 * m2);
}

// Magnitude of the squared signal's (envelope) spectrum at frequency f.
double EnvelopeAt(const Burst& b, double f) {
  double mean_sq = 0;
  for (float v : b.samples) mean_sq += static_cast<double>(v) * v;
  mean_sq /= static_cast<double>(b.samples.size());
  std::complex<double> sum = 0;
  for (size_t n = 0; n < b.samples.size(); ++n) {
    const double e = static_cast<double>(b.samples[n]) * b.samples[n] - mean_sq;
    sum += e * std::polar(1.0, -2 * 3.14159265358979323846 * f * static_cast<double>(n) / b.sample_rate);
  }
  return std::abs(sum);
}

TEST(BearingTest, DefectFrequenciesFromGeometry) {
  // 6205: 9 balls of 7.94 mm on a 39.04 mm pitch circle: BPFO 3.585 x, BPFI 5.415 x.
  const BearingGeometry g{"6205", 9, 7.94, 39.04, 0.0};
  EXPECT_NEAR(Bpfo(g, 25.0), 25.0 * 3.585, 0.05);
  EXPECT_NEAR(Bpfi(g, 25.0), 25.0 * 5.415, 0.05);
  EXPECT_NEAR(Bpfo(g, 25.0) + Bpfi(g, 25.0), 9 * 25.0, 1e-9);
}

TEST(BearingTest, RunToFailureOverAcceleratedDays) {
  FactoryOptions o;
  o.seed = 11;
  o.start = kStart;
  o.step = kSecond;
  o.bearing_life = 2 * kDay;
  o.repair_time = 2 * kHour;
  o.burst_interval = 10 * kMinute;
  o.random_faults = false;
  auto f = Factory::Create(o);

  const std::map<std::string, std::string> rms_signal = {
      {"press-1", "vibration_rms"},  {"conveyor-1", "vibration_rms"},  {"filler", "pump_vibration_rms"},
      {"pasteuriser", "pump_vibration_rms"}, {"compressor-1", "vibration_rms"}};
  const std::vector<BearingTruth> initial = f->Bearings();
  ASSERT_EQ(initial.size(), rms_signal.size());
  const auto first = std::min_element(initial.begin(), initial.end(), [](const auto& a, const auto& b) {
    return a.end_of_life < b.end_of_life;
  });
  const BearingTruth truth = *first;
  const std::string machine = truth.machine;
  const double life = static_cast<double>(truth.end_of_life - truth.installed);
  EXPECT_EQ(truth.installed, kStart);
  EXPECT_EQ(truth.health, 1.0);
  EXPECT_GE(life, 0.35 * 2 * kDay);
  EXPECT_LE(life, 2.0 * 2 * kDay);
  EXPECT_NEAR(truth.bpfo_hz + truth.bpfi_hz, 8 * truth.shaft_hz, 1e-9);  // all five have 8 balls

  struct Sample {
    double tau;
    double rms;
  };
  std::vector<Sample> rms;
  std::vector<Sample> kurtosis;
  const Burst* last_burst = nullptr;
  std::vector<Burst> kept;
  double last_health = 1.0;
  core::Timestamp failed_at = 0, renewed_at = 0;
  const core::Timestamp end = truth.end_of_life + o.repair_time + 30 * kMinute;
  for (core::Timestamp t = kStart + kSecond; t <= end; t += kSecond) {
    f->AdvanceTo(t);
    const double tau = static_cast<double>(t - kStart) / life;
    if (failed_at == 0) {
      if (f->Read(machine, "state")->value.as_int() == 6) {
        rms.push_back({tau, f->Read(machine, rms_signal.at(machine))->value.as_double()});
      }
      if ((t - kStart) % (10 * kMinute) == 0) {
        const BearingTruth now = f->Bearings()[first - initial.begin()];
        EXPECT_LE(now.health, last_health);
        EXPECT_EQ(now.remaining, truth.end_of_life - t);
        last_health = now.health;
        if (tau > 0.5 && tau < 0.55) {
          EXPECT_GT(now.health, 0.9);  // convex: the decline comes late
        }
      }
    }
    for (Burst& b : f->TakeBursts()) {
      if (b.machine != machine || failed_at != 0) continue;
      EXPECT_EQ(b.samples.size(), 6400u);
      kurtosis.push_back({static_cast<double>(b.start - kStart) / life, Kurtosis(b.samples)});
      kept.push_back(std::move(b));
    }
    for (const Event& e : f->TakeEvents()) {
      if (e.machine != machine) continue;
      if (e.kind == "failure") {
        failed_at = e.ts;
        EXPECT_EQ(e.code, kFaultBearing);
        EXPECT_EQ(f->Read(machine, "state")->value.as_int(), 9);
        EXPECT_EQ(f->Read(machine, "fault_code")->value.as_int(), kFaultBearing);
        EXPECT_EQ(f->Bearings()[first - initial.begin()].health, 0.0);
        EXPECT_EQ(f->Bearings()[first - initial.begin()].failures, 1);
      }
      if (e.kind == "maintenance") renewed_at = e.ts;
    }
  }
  if (!kept.empty()) last_burst = &kept.back();

  auto mean = [](const std::vector<Sample>& v, double lo, double hi) {
    double sum = 0;
    int n = 0;
    for (const Sample& s : v) {
      if (s.tau >= lo && s.tau < hi) sum += s.rms, ++n;
    }
    EXPECT_GT(n, 0) << lo << ".." << hi;
    return n > 0 ? sum / n : 0.0;
  };
  const double early = mean(rms, 0.05, 0.15), late = mean(rms, 0.85, 0.95);
  std::printf("%s: life %.2f d, RMS %.2f -> %.2f mm/s, kurtosis %.2f -> %.2f\n", machine.c_str(), life / kDay, early,
              late, mean(kurtosis, 0.0, 0.3), mean(kurtosis, 0.9, 1.0));
  EXPECT_LT(early, 2.5);  // ISO 10816 zone A/B when new
  EXPECT_GT(late, 1.4 * early);
  EXPECT_GT(mean(rms, 0.98, 1.0), 4.5);  // zone C/D just before failure
  EXPECT_LT(mean(kurtosis, 0.0, 0.3), 4.0);
  EXPECT_GT(mean(kurtosis, 0.9, 1.0), mean(kurtosis, 0.0, 0.3) + 1.0);

  // The failure comes at the end of life recorded at installation; maintenance renews.
  ASSERT_NE(failed_at, 0);
  EXPECT_GE(failed_at, truth.end_of_life);
  EXPECT_LE(failed_at, truth.end_of_life + kSecond);
  ASSERT_NE(renewed_at, 0);
  EXPECT_LE(std::abs(renewed_at - (failed_at + o.repair_time)), kSecond);
  const BearingTruth renewed = f->Bearings()[first - initial.begin()];
  EXPECT_EQ(renewed.installed, renewed_at);
  EXPECT_GT(renewed.end_of_life, end);
  EXPECT_GT(renewed.health, 0.99);
  EXPECT_EQ(renewed.failures, 1);
  EXPECT_EQ(f->Read(machine, "state")->value.as_int(), 6);
  EXPECT_EQ(f->Read(machine, "fault_code")->value.as_int(), 0);

  // The last burst before the failure carries the defect's impact rate in its envelope.
  ASSERT_NE(last_burst, nullptr);
  const double fd = truth.defect == "inner_race" ? truth.bpfi_hz : truth.bpfo_hz;
  ASSERT_GT(fd, 0);
  const double at = EnvelopeAt(*last_burst, fd);
  const double off = (EnvelopeAt(*last_burst, fd * 0.71) + EnvelopeAt(*last_burst, fd * 1.37) +
                      EnvelopeAt(*last_burst, fd * 1.61)) / 3;
  EXPECT_GT(at, 3 * off) << truth.defect << " at " << fd << " Hz";
}

}  // namespace
}  // namespace shopfloor::sim
