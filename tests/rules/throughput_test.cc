// A throughput micro-check: 1e6 samples through 1000 compiled expressions, evaluating the
// receiving expression after every sample (what an engine does on each bus delivery).
// Prints the measured rate; the bound is loose enough for a loaded 2-core machine in an
// optimised build and is not asserted under sanitizers.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "rules/expr.h"

namespace shopfloor::rules {
namespace {

#if defined(__SANITIZE_ADDRESS__) || !defined(NDEBUG)
constexpr bool kTimed = false;
#else
constexpr bool kTimed = true;
#endif

TEST(ThroughputTest, MillionSamplesThroughThousandExpressions) {
  constexpr int kExpressions = 1000;
  constexpr int kSamples = 1'000'000;
  std::vector<Evaluator> evals;
  evals.reserve(kExpressions);
  for (int i = 0; i < kExpressions; ++i) {
    auto expr = Compile(
        "on_delay(avg($p, 1m) > 50 and hysteresis(max($p, 5m), 40, 60), 30s) or stddev($p, 1m) > 10 "
        "or time_in_state($p < 5, 10m) > 60",
        "plant/site/machine-" + std::to_string(i));
    ASSERT_TRUE(expr.ok()) << expr.status().ToString();
    evals.emplace_back(*expr);
  }
  core::Timestamp ts = 1'700'000'000LL * core::kSecond;
  uint64_t true_count = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int k = 0; k < kSamples; ++k) {
    ts += core::kMillisecond;  // each expression's tag gets one sample a second
    Evaluator& eval = evals[k % kExpressions];
    const double value = 50.0 + 30.0 * ((k / kExpressions) % 17) / 17.0 - (k % 7);
    eval.OnSample(0, core::Sample{ts, value, core::Quality::Good()});
    const EvalResult r = eval.Evaluate(ts);
    true_count += r.known && r.value.as_bool();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("rules throughput: %d samples (OnSample + Evaluate) through %d expressions in %.3f s: %.0f samples/s; "
              "%llu true\n",
              kSamples, kExpressions, seconds, kSamples / seconds, static_cast<unsigned long long>(true_count));
  EXPECT_GT(true_count, 0u);
  EXPECT_LT(true_count, static_cast<uint64_t>(kSamples));
  if (kTimed) {
    EXPECT_LT(seconds, 5.0);
  }
}

}  // namespace
}  // namespace shopfloor::rules
