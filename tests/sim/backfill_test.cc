// Backfill: a stretch of simulated history written into a sink under the live series keys,
// at the sources' poll intervals, with bursts, ground truth and events.
#include "sim/backfill.h"

#include <gtest/gtest.h>

#include <map>

#include "model/plant_config.h"

namespace shopfloor::sim {
namespace {

struct Recorded {
  core::ValueType type;
  std::vector<std::pair<core::Timestamp, core::Value>> samples;
};

class RecordingSink : public BackfillSink {
 public:
  core::Status Append(const std::string& key, core::ValueType type, core::Timestamp ts, const core::Value& value,
                      core::Quality quality) override {
    if (value.type() != type) return core::Status::InvalidArgument(key + ": value of the wrong type");
    Recorded& r = series[key];
    r.type = type;
    if (!r.samples.empty() && ts <= r.samples.back().first && key.find("vibration_waveform") == std::string::npos) {
      return core::Status::InvalidArgument(key + ": timestamps not increasing");
    }
    if (quality.good()) r.samples.emplace_back(ts, value);
    return core::Status::OK();
  }
  core::Status Flush() override {
    ++flushes;
    return core::Status::OK();
  }
  std::map<std::string, Recorded> series;
  int flushes = 0;
};

TEST(BackfillTest, SixHoursOfHistoryUnderTheLiveKeys) {
  std::vector<core::Status> problems;
  auto config = model::LoadPlantConfigFile(core::Env::Posix(),
                                           std::string(SHOPFLOOR_SOURCE_DIR) + "/config/demo-works.yaml", &problems);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const core::Timestamp end = 1'800'000'000 * core::kSecond;
  FactoryOptions options;
  options.seed = 5;
  options.start = end - 6 * core::kHour;
  options.step = core::kSecond;
  options.burst_interval = 30 * core::kMinute;
  auto factory = Factory::Create(options);
  RecordingSink sink;
  double last_progress = 0;
  auto stats = Backfill(*config, factory.get(), end, &sink, [&](double p) {
    EXPECT_GE(p, last_progress);
    last_progress = p;
  });
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(factory->now(), end);
  EXPECT_GT(last_progress, 0.7);
  EXPECT_EQ(sink.flushes, 1);

  // Every bound tag has history across the whole stretch.
  for (const auto& series : model::ListSeries(*config)) {
    auto it = sink.series.find(series.series_key);
    ASSERT_NE(it, sink.series.end()) << series.series_key;
    EXPECT_EQ(it->second.type, series.tag->type) << series.series_key;
    ASSERT_FALSE(it->second.samples.empty()) << series.series_key;
    EXPECT_LT(it->second.samples.front().first, options.start + 5 * core::kMinute) << series.series_key;
  }
  // A 1 s poll source without deadband: one sample per second; counters never fall.
  const auto& pressure = sink.series.at("demo-works/stuttgart/utilities/compressor-1/oil_temperature").samples;
  EXPECT_GT(pressure.size(), 6u * 3600 / 2);
  const auto& energy = sink.series.at("demo-works/stuttgart/utilities/main-meter/energy_import").samples;
  for (size_t i = 1; i < energy.size(); ++i) ASSERT_GE(energy[i].second.as_double(), energy[i - 1].second.as_double());
  EXPECT_GT(energy.back().second.as_double(), energy.front().second.as_double() + 100) << "6 h of a plant's load";
  // Bursts, ground truth and events.
  EXPECT_GE(stats->bursts, 5u * 6);  // five machines with bearings, every 30 min
  EXPECT_GE(sink.series.at("demo-works/stuttgart/body-shop/body-line/press-1/vibration_waveform").samples.size(), 6400u * 6);
  EXPECT_GE(sink.series.at("sim/press-1/bearing_health").samples.size(), 6u * 60 - 1);
  EXPECT_GT(stats->events, 0u);
  size_t tag_samples = 0;
  for (const auto& series : model::ListSeries(*config)) tag_samples += sink.series.at(series.series_key).samples.size();
  EXPECT_LE(tag_samples, stats->samples) << "stats count every tag sample (bad ones too)";
  EXPECT_GT(tag_samples, 100'000u);
}

}  // namespace
}  // namespace shopfloor::sim
