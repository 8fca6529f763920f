// The examples of docs/rules.md compile against the demo plant's model (a resolver built
// from config/demo-works.yaml), appear verbatim in the document, and one runs end to end.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "core/clock.h"
#include "core/env.h"
#include "model/plant_config.h"
#include "rules/expr.h"

namespace shopfloor::rules {
namespace {

constexpr const char* kCompressor = "demo-works/stuttgart/utilities/compressor-1";
constexpr const char* kPasteuriser = "demo-works/stuttgart/bottling/bottling-line/pasteuriser";

class DemoRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<core::Status> problems;
    auto config = model::LoadPlantConfigFile(core::Env::Posix(),
                                             std::string(SHOPFLOOR_SOURCE_DIR) + "/config/demo-works.yaml", &problems);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    for (const model::SeriesTag& series : model::ListSeries(*config)) types_[series.series_key] = series.tag->type;
    resolver_ = [this](std::string_view key) -> std::optional<core::ValueType> {
      auto it = types_.find(key);
      if (it == types_.end()) return std::nullopt;
      return it->second;
    };
    std::ifstream doc(std::string(SHOPFLOOR_SOURCE_DIR) + "/docs/rules.md");
    std::stringstream text;
    text << doc.rdbuf();
    doc_ = text.str();
  }

  std::map<std::string, core::ValueType, std::less<>> types_;
  Resolver resolver_;
  std::string doc_;
};

TEST_F(DemoRulesTest, DocumentedExamplesCompileAgainstTheDemoModel) {
  const std::pair<const char*, const char*> examples[] = {
      {kCompressor, "on_delay(avg($discharge_pressure, 1m) > 8.5, 30s)"},
      {kCompressor, "hysteresis(avg($vibration_rms, 5m), 4.0, 4.5)"},
      {kCompressor, "rate($discharge_pressure, 1m) < -0.05 and $state == 6"},
      {kCompressor, "time_in_state($state == 6, 1h) / 3600"},
      {kCompressor, "stale($discharge_pressure, 30s) or not good($discharge_pressure)"},
      {kPasteuriser, "max(abs($zone1_temperature - $zone2_temperature), abs($zone2_temperature - $zone3_temperature)) > 5"},
      {kPasteuriser, "off_delay(min($zone3_temperature, 2m) < 70, 5m)"},
      {kPasteuriser, "stddev($pump_vibration_rms, 10m) > 0.8"},
      {"", "demo-works/stuttgart/utilities/compressor-1/discharge_pressure > 9"},
  };
  for (const auto& [base, text] : examples) {
    EXPECT_NE(doc_.find(text), std::string::npos) << "not in docs/rules.md: " << text;
    auto expr = Compile(text, base, resolver_);
    EXPECT_TRUE(expr.ok()) << text << ": " << expr.status().ToString();
  }
  auto typo = Compile("$zone4_temperature > 70", kPasteuriser, resolver_);
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.status().message(),
            "1:1: unknown tag 'demo-works/stuttgart/bottling/bottling-line/pasteuriser/zone4_temperature'");
}

TEST_F(DemoRulesTest, SustainedOverPressureOnASimulatedClock) {
  auto expr = Compile("on_delay(avg($discharge_pressure, 1m) > 8.5, 30s)", kCompressor, resolver_);
  ASSERT_TRUE(expr.ok()) << expr.status().ToString();
  ASSERT_EQ(expr->inputs(), std::vector<std::string>{std::string(kCompressor) + "/discharge_pressure"});
  Evaluator eval(*expr);
  core::SimClock clock;
  // 1 Hz samples: 7.5 bar for a minute, then 9.5 bar.
  std::string fired_at;
  const core::Timestamp start = clock.Now();
  for (int second = 0; second < 180; ++second) {
    const double bar = second < 60 ? 7.5 : 9.5;
    eval.OnSample(0, core::Sample{clock.Now(), bar, core::Quality::Good()});
    const EvalResult r = eval.Evaluate(clock.Now());
    ASSERT_TRUE(r.known);
    if (r.value.as_bool() && fired_at.empty()) fired_at = std::to_string((clock.Now() - start) / core::kSecond);
    clock.Advance(core::kSecond);
  }
  // The 1-minute mean passes 8.5 bar once more than half of the window is at 9.5 bar: at
  // 90 s the window (30 s, 90 s] holds 29 samples of 7.5 and 31 of 9.5 (mean 8.53).
  // 30 s later the delay has run out.
  EXPECT_EQ(fired_at, "120");
}

}  // namespace
}  // namespace shopfloor::rules
