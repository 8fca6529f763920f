// The incremental evaluator against a naive one that recomputes every window function
// from the full sample history, on random streams (gaps, equal timestamps, bad quality,
// out-of-order samples), with and without the capacity limit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "rules/expr.h"

namespace shopfloor::rules {
namespace {

using core::kSecond;

struct Case {
  const char* text;
  const char* fn;   // avg, min, max, stddev, rate, delta, count, time_in_state
  int input;        // index of the tag in kTags
  core::Duration window;
};

constexpr const char* kTags[] = {"a", "b", "c"};
const Case kCases[] = {
    {"avg($a, 30s)", "avg", 0, 30 * kSecond},       {"min($a, 30s)", "min", 0, 30 * kSecond},
    {"max($b, 10s)", "max", 1, 10 * kSecond},       {"stddev($a, 30s)", "stddev", 0, 30 * kSecond},
    {"rate($b, 20s)", "rate", 1, 20 * kSecond},     {"delta($c, 15s)", "delta", 2, 15 * kSecond},
    {"count($a, 30s)", "count", 0, 30 * kSecond},   {"time_in_state($c > 0, 25s)", "tis", 2, 25 * kSecond},
};

// Recomputes a window function from scratch. `history` holds the accepted samples of the
// tag in order; `conditions` the (time, holds) of earlier evaluations for time_in_state.
std::optional<double> Naive(const Case& c, const std::vector<core::Sample>& history,
                            const std::vector<std::pair<core::Timestamp, bool>>& conditions, core::Timestamp now) {
  const core::Timestamp cutoff = now - c.window;
  if (std::string(c.fn) == "tis") {
    core::Duration held = 0;
    for (size_t i = 0; i + 1 < conditions.size(); ++i) {
      if (!conditions[i].second) continue;
      const core::Timestamp begin = std::max(conditions[i].first, cutoff);
      const core::Timestamp end = conditions[i + 1].first;
      if (end > begin) held += end - begin;
    }
    return static_cast<double>(held) / kSecond;
  }
  if (!history.empty() && history.back().quality.bad()) return std::nullopt;
  std::vector<core::Sample> in;
  for (const core::Sample& s : history) {
    if (!s.quality.bad() && s.ts > cutoff) in.push_back(s);
  }
  const std::string fn = c.fn;
  if (fn == "count") return static_cast<double>(in.size());
  if (in.empty()) return std::nullopt;
  double sum = 0, lo = INFINITY, hi = -INFINITY;
  for (const core::Sample& s : in) {
    sum += s.value.as_double();
    lo = std::min(lo, s.value.as_double());
    hi = std::max(hi, s.value.as_double());
  }
  const double mean = sum / in.size();
  if (fn == "avg") return mean;
  if (fn == "min") return lo;
  if (fn == "max") return hi;
  if (fn == "stddev") {
    double m2 = 0;
    for (const core::Sample& s : in) m2 += (s.value.as_double() - mean) * (s.value.as_double() - mean);
    return std::sqrt(m2 / in.size());
  }
  const double first = in.front().value.as_double(), last = in.back().value.as_double();
  if (fn == "delta") return last - first;
  if (in.back().ts == in.front().ts) return std::nullopt;
  return (last - first) / (static_cast<double>(in.back().ts - in.front().ts) / kSecond);
}

void RunRandom(uint32_t seed, size_t capacity, bool expect_always_known_when_naive_is) {
  std::mt19937 rng(seed);
  const std::string base = "plant/site/machine";
  std::vector<Evaluator> evals;
  for (const Case& c : kCases) {
    auto expr = Compile(c.text, base);
    ASSERT_TRUE(expr.ok()) << expr.status().ToString();
    EvaluatorOptions options;
    options.max_window_samples = capacity;
    evals.emplace_back(*expr, options);
  }
  std::vector<core::Sample> history[3];
  std::vector<std::pair<core::Timestamp, bool>> conditions;
  core::Timestamp ts = 1'700'000'000LL * kSecond;
  core::Timestamp now = ts;
  double level[3] = {50, 0, 0};
  size_t compared = 0, known = 0;
  for (int step = 0; step < 20000; ++step) {
    const int input = static_cast<int>(rng() % 3);
    ts += static_cast<core::Duration>(rng() % 4) * 250'000'000;  // 0..750 ms, equal stamps too
    level[input] += std::uniform_real_distribution<double>(-3, 3)(rng);
    core::Sample sample{ts, level[input], rng() % 20 == 0 ? core::Quality::Bad() : core::Quality::Good()};
    if (rng() % 50 == 0) sample.ts -= kSecond;  // out of order: dropped by both
    const bool accepted = history[input].empty() || sample.ts >= history[input].back().ts;
    if (accepted) history[input].push_back(sample);
    for (Evaluator& eval : evals) (void)eval.OnSample(base + "/" + kTags[input], sample);
    if (rng() % 3 != 0) continue;  // evaluate after about a third of the samples
    now = std::max(now, ts + static_cast<core::Duration>(rng() % 3) * 100'000'000);
    // The time_in_state condition c > 0 as evaluated now (unknown counts as not holding).
    const auto& hc = history[2];
    conditions.emplace_back(now, !hc.empty() && !hc.back().quality.bad() && hc.back().value.as_double() > 0);
    for (size_t i = 0; i < evals.size(); ++i) {
      const Case& c = kCases[i];
      const EvalResult got = evals[i].Evaluate(now);
      const std::optional<double> want = Naive(c, history[c.input], conditions, now);
      ++compared;
      if (!got.known) {
        if (expect_always_known_when_naive_is) {
          ASSERT_FALSE(want.has_value()) << c.text << " step " << step << " want " << *want;
        }
        continue;
      }
      ASSERT_TRUE(want.has_value()) << c.text << " step " << step << " got " << got.value.as_double();
      ++known;
      const double tolerance = 1e-9 * std::max(1.0, std::fabs(*want));
      ASSERT_NEAR(got.value.as_double(), *want, c.fn == std::string("stddev") ? 1e-6 : tolerance)
          << c.text << " step " << step;
    }
  }
  EXPECT_GT(known, compared / 2);  // the comparison is not vacuous
  uint64_t overflow = 0;
  for (const Evaluator& eval : evals) overflow += eval.stats().window_overflow;
  if (!expect_always_known_when_naive_is) {
    EXPECT_GT(overflow, 0u);  // the capacity was reached
  }
}

TEST(CrossCheckTest, IncrementalEqualsNaiveOnRandomStreams) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(seed);
    RunRandom(seed, 100'000, true);
  }
}

TEST(CrossCheckTest, WithCapacityLimitAnswersAreRightOrUnknown) {
  for (uint32_t seed : {4u, 5u}) {
    SCOPED_TRACE(seed);
    // About 27 samples of one tag fit a 30 s window on average; 24 forces drops.
    RunRandom(seed, 24, false);
  }
}

}  // namespace
}  // namespace shopfloor::rules
