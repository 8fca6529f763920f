// Evaluation against hand-computed values, driven by a simulated clock: every function,
// windows expiring, delays and hysteresis at their boundaries, validity propagation and
// the memory bound.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "core/clock.h"
#include "rules/expr.h"

namespace shopfloor::rules {
namespace {

using core::kMillisecond;
using core::kSecond;

constexpr const char* kBase = "demo-works/stuttgart/utilities/compressor-1";

class Rig {
 public:
  explicit Rig(std::string_view text, EvaluatorOptions options = {}, const Resolver& resolver = {})
      : expr_(Compile(text, kBase, resolver)),
        eval_(expr_.ok() ? *expr_ : *Compile("0", ""), options) {
    EXPECT_TRUE(expr_.ok()) << text << ": " << expr_.status().ToString();
  }
  core::Timestamp t0() const { return t0_; }
  // Moves the simulated clock to t0 + offset.
  void At(core::Duration offset) { clock_.Advance(t0_ + offset - clock_.Now()); }
  // A sample of $tag at the clock's current time.
  void Put(std::string_view tag, core::Value value, core::Quality quality = core::Quality::Good()) {
    core::Sample sample{clock_.Now(), std::move(value), quality};
    EXPECT_TRUE(eval_.OnSample(std::string(kBase) + "/" + std::string(tag), sample)) << tag;
  }
  EvalResult Eval() { return eval_.Evaluate(clock_.Now()); }
  // The number, or NaN when unknown.
  double Num() {
    const EvalResult r = Eval();
    return r.known ? r.value.as_double() : std::nan("");
  }
  // "true", "false" or "unknown".
  std::string Bool() {
    const EvalResult r = Eval();
    return !r.known ? "unknown" : r.value.as_bool() ? "true" : "false";
  }
  Evaluator& evaluator() { return eval_; }

 private:
  core::Result<Expression> expr_;
  core::SimClock clock_;
  core::Timestamp t0_ = clock_.Now();
  Evaluator eval_;
};

double Const(std::string_view text) { return Rig(text).Num(); }
std::string ConstBool(std::string_view text) { return Rig(text).Bool(); }

TEST(EvalTest, ArithmeticAndFunctionsOfValues) {
  EXPECT_EQ(Const("1 + 2 * 3"), 7);
  EXPECT_EQ(Const("(1 + 2) * 3 - 10 / 4"), 6.5);
  EXPECT_EQ(Const("7 % 4"), 3);
  EXPECT_EQ(Const("-7.5 % 2"), -1.5);
  EXPECT_EQ(Const("abs(-2.5)"), 2.5);
  EXPECT_EQ(Const("min(3, 1, 2)"), 1);
  EXPECT_EQ(Const("max(3, 1, 7, 2)"), 7);
  EXPECT_EQ(Const("clamp(15, 0, 10)"), 10);
  EXPECT_EQ(Const("clamp(-1, 0, 10)"), 0);
  EXPECT_EQ(Const("clamp(4, 0, 10)"), 4);
  EXPECT_TRUE(std::isnan(Const("clamp(4, 10, 0)")));  // an empty range: unknown
  EXPECT_EQ(Const("if(2 > 1, 10, 20)"), 10);
  EXPECT_EQ(Const("if(0, 10, 20)"), 20);  // numbers as conditions: non-zero is true
  EXPECT_TRUE(std::isnan(Const("1 / 0")));
  EXPECT_TRUE(std::isnan(Const("5 % 0")));
  EXPECT_TRUE(std::isnan(Const("1e308 * 10")));
  EXPECT_EQ(ConstBool("known(1 / 0)"), "false");
  EXPECT_EQ(ConstBool("known(1 / 2)"), "true");
  EXPECT_EQ(ConstBool("1 < 2 and 2 <= 2 and 3 > 2 and 3 >= 3 and 1 == 1 and 1 != 2"), "true");
  EXPECT_EQ(ConstBool("\"a\" == \"a\" and \"a\" != \"b\""), "true");
  EXPECT_EQ(ConstBool("not (1 < 2) or false"), "false");
  EXPECT_EQ(ConstBool("true == 1"), "true");
}

TEST(EvalTest, LatestValueValidity) {
  Rig rig("$p * 2");
  EXPECT_TRUE(std::isnan(rig.Num()));  // no data yet
  rig.Put("p", 4.0);
  EXPECT_EQ(rig.Num(), 8);
  rig.Put("p", 5.0, core::Quality::UncertainLastUsableValue());
  EXPECT_EQ(rig.Num(), 10);  // uncertain is usable
  rig.Put("p", 6.0, core::Quality::BadSensorFailure());
  EXPECT_TRUE(std::isnan(rig.Num()));  // bad is not
  rig.Put("p", true);
  EXPECT_EQ(rig.Num(), 2);  // a bool sample reads as 1
  rig.Put("p", int64_t{21});
  EXPECT_EQ(rig.Num(), 42);
  rig.Put("p", "text");
  EXPECT_TRUE(std::isnan(rig.Num()));  // a string is not a number
}

TEST(EvalTest, ThreeValuedLogic) {
  Rig rig("$a > 1 and $b > 1");
  EXPECT_EQ(rig.Bool(), "unknown");
  rig.Put("a", 0.0);
  EXPECT_EQ(rig.Bool(), "false");  // false and unknown = false
  rig.Put("a", 5.0);
  EXPECT_EQ(rig.Bool(), "unknown");  // true and unknown = unknown
  rig.Put("b", 5.0);
  EXPECT_EQ(rig.Bool(), "true");

  Rig any("$a > 1 or $b > 1");
  any.Put("a", 5.0);
  EXPECT_EQ(any.Bool(), "true");  // true or unknown = true
  any.Put("a", 0.0);
  EXPECT_EQ(any.Bool(), "unknown");
  EXPECT_EQ(Rig("not ($a > 1)").Bool(), "unknown");
  EXPECT_EQ(Rig("if($a > 1, 1, 2) == 1").Bool(), "unknown");
  Rig comparison("$a + 1 > 0");
  comparison.Put("a", 1.0, core::Quality::Bad());
  EXPECT_EQ(comparison.Bool(), "unknown");
}

TEST(EvalTest, WindowFunctionsAndExpiry) {
  Rig avg("avg($p, 25s)"), min("min($p, 25s)"), max("max($p, 25s)"), sd("stddev($p, 25s)"),
      rate("rate($p, 25s)"), delta("delta($p, 25s)"), count("count($p, 25s)");
  Rig* all[] = {&avg, &min, &max, &sd, &rate, &delta, &count};
  for (Rig* rig : all) {
    EXPECT_TRUE(std::isnan(rig->Num()) || rig == &count);
    EXPECT_EQ(count.Num(), 0);
  }
  const double values[] = {1, 2, 4, 8};  // at 0, 10, 20, 30 s
  for (int i = 0; i < 4; ++i) {
    for (Rig* rig : all) {
      rig->At(i * 10 * kSecond);
      rig->Put("p", values[i]);
    }
  }
  // now = 30 s: the window (5 s, 30 s] holds 2, 4, 8.
  EXPECT_DOUBLE_EQ(avg.Num(), 14.0 / 3);
  EXPECT_EQ(min.Num(), 2);
  EXPECT_EQ(max.Num(), 8);
  EXPECT_DOUBLE_EQ(sd.Num(), std::sqrt((4.0 * 4 + 2.0 * 2 + 8.0 * 8) / 3 - (14.0 / 3) * (14.0 / 3)));
  EXPECT_DOUBLE_EQ(rate.Num(), (8.0 - 2.0) / 20);  // per second, first to last sample
  EXPECT_EQ(delta.Num(), 6);
  EXPECT_EQ(count.Num(), 3);
  // now = 45 s: the sample at 20 s is exactly at the cutoff and is out; only 8 remains.
  for (Rig* rig : all) rig->At(45 * kSecond - 1);
  EXPECT_EQ(count.Num(), 2);
  EXPECT_EQ(min.Num(), 4);
  for (Rig* rig : all) rig->At(45 * kSecond);
  EXPECT_EQ(count.Num(), 1);
  EXPECT_EQ(avg.Num(), 8);
  EXPECT_EQ(min.Num(), 8);
  EXPECT_EQ(sd.Num(), 0);
  EXPECT_EQ(delta.Num(), 0);
  EXPECT_TRUE(std::isnan(rate.Num()));  // one sample has no slope
  // now = 55 s: empty. count is 0, the others unknown.
  for (Rig* rig : all) rig->At(55 * kSecond);
  EXPECT_EQ(count.Num(), 0);
  EXPECT_TRUE(std::isnan(avg.Num()));
  EXPECT_TRUE(std::isnan(max.Num()));
  EXPECT_TRUE(std::isnan(delta.Num()));
}

TEST(EvalTest, BadQualityInWindows) {
  Rig rig("avg($p, 1m)");
  Rig n("count($p, 1m)");
  for (Rig* r : {&rig, &n}) {
    r->Put("p", 10.0);
    r->At(1 * kSecond);
    r->Put("p", 20.0);
    r->At(2 * kSecond);
    r->Put("p", 1000.0, core::Quality::Bad());
  }
  EXPECT_TRUE(std::isnan(rig.Num()));  // the latest sample is bad
  EXPECT_TRUE(std::isnan(n.Num()));
  for (Rig* r : {&rig, &n}) {
    r->At(3 * kSecond);
    r->Put("p", 30.0);
  }
  EXPECT_EQ(rig.Num(), 20);  // the bad sample never entered the window
  EXPECT_EQ(n.Num(), 3);
}

TEST(EvalTest, TimeInState) {
  Rig rig("time_in_state($state == 6, 60s)");
  rig.Put("state", 6);
  EXPECT_EQ(rig.Num(), 0);
  rig.At(10 * kSecond);
  rig.Put("state", 1);
  EXPECT_EQ(rig.Num(), 10);
  rig.At(30 * kSecond);
  rig.Put("state", 6);
  EXPECT_EQ(rig.Num(), 10);
  rig.At(50 * kSecond);
  EXPECT_EQ(rig.Num(), 30);  // [0, 10) + [30, 50)
  rig.At(70 * kSecond);
  EXPECT_EQ(rig.Num(), 40);  // window (10, 70]: [30, 70)
  rig.At(80 * kSecond);
  rig.Put("state", 2, core::Quality::Bad());  // unknown does not count as holding
  EXPECT_EQ(rig.Num(), 50);
  rig.At(100 * kSecond);
  EXPECT_EQ(rig.Num(), 40);  // window (40, 100]: [40, 80)
}

TEST(EvalTest, OnDelayBoundaries) {
  Rig rig("on_delay($p > 8, 10s)");
  rig.Put("p", 9.0);
  EXPECT_EQ(rig.Bool(), "false");
  rig.At(10 * kSecond - 1);
  EXPECT_EQ(rig.Bool(), "false");
  rig.At(10 * kSecond);
  EXPECT_EQ(rig.Bool(), "true");  // held exactly 10 s
  rig.At(12 * kSecond);
  rig.Put("p", 7.0);
  EXPECT_EQ(rig.Bool(), "false");
  rig.At(13 * kSecond);
  rig.Put("p", 9.0);
  EXPECT_EQ(rig.Bool(), "false");  // the timer restarted
  rig.At(23 * kSecond - 1);
  EXPECT_EQ(rig.Bool(), "false");
  rig.At(23 * kSecond);
  EXPECT_EQ(rig.Bool(), "true");
  rig.Put("p", 9.0, core::Quality::Bad());
  EXPECT_EQ(rig.Bool(), "unknown");  // unknown interrupts the hold
  rig.At(24 * kSecond);
  rig.Put("p", 9.0);
  EXPECT_EQ(rig.Bool(), "false");
  rig.At(34 * kSecond);
  EXPECT_EQ(rig.Bool(), "true");
}

TEST(EvalTest, OffDelayBoundaries) {
  Rig rig("off_delay($p > 8, 10s)");
  EXPECT_EQ(rig.Bool(), "unknown");
  rig.Put("p", 7.0);
  EXPECT_EQ(rig.Bool(), "false");
  rig.Put("p", 9.0);
  EXPECT_EQ(rig.Bool(), "true");
  rig.At(5 * kSecond);
  rig.Put("p", 7.0);
  EXPECT_EQ(rig.Bool(), "true");  // falls at 5 s, held until 15 s
  rig.At(15 * kSecond - 1);
  EXPECT_EQ(rig.Bool(), "true");
  rig.At(15 * kSecond);
  EXPECT_EQ(rig.Bool(), "false");
  rig.At(20 * kSecond);
  rig.Put("p", 9.0);
  EXPECT_EQ(rig.Bool(), "true");
  rig.At(21 * kSecond);
  rig.Put("p", 0.0, core::Quality::Bad());
  EXPECT_EQ(rig.Bool(), "true");  // within the hold the answer is true whatever p is
  rig.At(31 * kSecond);
  EXPECT_EQ(rig.Bool(), "unknown");  // after it, it depends on the unknown p
}

TEST(EvalTest, HysteresisBoundaries) {
  Rig rig("hysteresis($p, 7.5, 8.5)");
  const std::pair<double, const char*> steps[] = {
      {8.0, "false"}, {8.5, "false"}, {8.6, "true"}, {8.0, "true"}, {7.5, "true"}, {7.4, "false"}, {8.5, "false"},
  };
  for (const auto& [value, expected] : steps) {
    rig.Put("p", value);
    EXPECT_EQ(rig.Bool(), expected) << value;
  }
  rig.Put("p", 9.0);
  EXPECT_EQ(rig.Bool(), "true");
  rig.Put("p", 0.0, core::Quality::Bad());
  EXPECT_EQ(rig.Bool(), "unknown");
  rig.Put("p", 8.0);
  EXPECT_EQ(rig.Bool(), "true");  // the state survived the unknown

  Rig bounds("hysteresis($p, $lo, $hi)");
  bounds.Put("p", 5.0);
  bounds.Put("lo", 6.0);
  bounds.Put("hi", 4.0);
  EXPECT_EQ(bounds.Bool(), "unknown");  // low above high
}

TEST(EvalTest, GoodAndStale) {
  Rig good("good($p)"), stale("stale($p, 30s)");
  EXPECT_EQ(good.Bool(), "false");
  EXPECT_EQ(stale.Bool(), "true");  // never seen is stale
  good.Put("p", 1.0);
  stale.Put("p", 1.0);
  EXPECT_EQ(good.Bool(), "true");
  EXPECT_EQ(stale.Bool(), "false");
  stale.At(30 * kSecond - 1);
  EXPECT_EQ(stale.Bool(), "false");
  stale.At(30 * kSecond);
  EXPECT_EQ(stale.Bool(), "true");
  good.Put("p", 1.0, core::Quality::UncertainSensorNotAccurate());
  EXPECT_EQ(good.Bool(), "false");
}

TEST(EvalTest, StatefulOperatorsFollowTimeInUntakenBranches) {
  Rig rig("if($select > 0, on_delay($p > 8, 10s), false)");
  rig.Put("select", 0.0);
  rig.Put("p", 9.0);
  EXPECT_EQ(rig.Bool(), "false");
  rig.At(10 * kSecond);
  rig.Put("select", 1.0);
  EXPECT_EQ(rig.Bool(), "true");  // the delay ran while its branch was not selected
}

TEST(EvalTest, TimeNeverRunsBackwards) {
  Rig rig("on_delay($p > 8, 10s)");
  rig.Put("p", 9.0);
  EXPECT_EQ(rig.Bool(), "false");  // the hold starts at t0
  EXPECT_EQ(rig.evaluator().Evaluate(rig.t0() + 10 * kSecond).value.as_bool(), true);
  EXPECT_EQ(rig.evaluator().Evaluate(rig.t0() + 5 * kSecond).value.as_bool(), true);  // read as 10 s
}

TEST(EvalTest, OutOfOrderSamplesAreDropped) {
  Rig rig("count($p, 1m)");
  rig.At(10 * kSecond);
  rig.Put("p", 1.0);
  rig.Put("p", 2.0);  // equal timestamps are accepted
  core::Sample old{rig.t0() + 5 * kSecond, 3.0, core::Quality::Good()};
  rig.evaluator().OnSample(0, old);
  EXPECT_EQ(rig.Num(), 2);
  EXPECT_EQ(rig.evaluator().stats().out_of_order, 1u);
  EXPECT_EQ(rig.evaluator().stats().samples, 2u);
  EXPECT_FALSE(rig.evaluator().OnSample("plant/x/y", old));
}

TEST(EvalTest, StringTagsWithResolver) {
  Resolver resolver = [](std::string_view key) -> std::optional<core::ValueType> {
    if (key.ends_with("/mode")) return core::ValueType::kString;
    return std::nullopt;
  };
  Rig rig("$mode == \"auto\"", {}, resolver);
  EXPECT_EQ(rig.Bool(), "unknown");
  rig.Put("mode", "auto");
  EXPECT_EQ(rig.Bool(), "true");
  rig.Put("mode", "manual");
  EXPECT_EQ(rig.Bool(), "false");
}

TEST(EvalTest, WindowMemoryIsBounded) {
  EvaluatorOptions options;
  options.max_window_samples = 100;
  Rig rig("count($p, 10s) + min($p, 10s) * 0 + time_in_state($p > -1, 10s) * 0", options);
  for (int i = 0; i < 1000; ++i) {
    rig.At(i * kMillisecond);
    rig.Put("p", static_cast<double>(i % 7));
    rig.Eval();
  }
  EXPECT_EQ(rig.evaluator().stats().window_overflow, 900u);
  // 100 samples in the sample buffer and its min deque, one interval.
  EXPECT_LT(rig.evaluator().MemoryBytes(), 2 * 100 * 24 + 1024);
  // Samples up to 899 ms were dropped: unknown until they would have left the window.
  rig.At(10 * kSecond + 899 * kMillisecond - 1);
  EXPECT_TRUE(std::isnan(rig.Num()));
  rig.At(10 * kSecond + 899 * kMillisecond);
  EXPECT_EQ(rig.Num(), 100);
}

}  // namespace
}  // namespace shopfloor::rules
