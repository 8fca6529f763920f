#include "sim/backfill.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include <fmt/format.h>

namespace shopfloor::sim {

namespace {

struct Point {
  std::string key;
  std::string machine;
  std::string signal;
  core::ValueType type;
  double deadband = 0;
  core::Duration interval = core::kSecond;
  core::Timestamp next = 0;
  core::Timestamp last_stored = 0;
  std::optional<core::Value> last;
  core::Quality last_quality;
};

void CollectPoints(const model::PlantConfig& config, const model::AssetConfig& asset, std::vector<Point>* out,
                   std::map<std::string, std::string>* machine_paths) {
  if (asset.level == model::AssetLevel::kMachine) (*machine_paths)[asset.name] = asset.path;
  for (const auto& tag : asset.tags) {
    if (!tag.binding) continue;
    const model::SourceConfig* source = config.FindSource(tag.binding->source);
    Point p;
    p.key = asset.path + "/" + tag.name;
    p.machine = asset.name;
    p.signal = tag.name;
    p.type = tag.type;
    p.deadband = tag.type == core::ValueType::kDouble ? tag.deadband : 0;
    if (source != nullptr && source->poll_interval > 0) p.interval = source->poll_interval;
    out->push_back(std::move(p));
  }
  for (const auto& child : asset.children) CollectPoints(config, child, out, machine_paths);
}


}  // namespace

core::Result<BackfillStats> Backfill(const model::PlantConfig& config, Factory* factory, core::Timestamp end,
                                     BackfillSink* sink, const std::function<void(double)>& progress) {
  const auto wall_start = std::chrono::steady_clock::now();
  std::vector<Point> points;
  std::map<std::string, std::string> machine_paths;
  CollectPoints(config, config.enterprise, &points, &machine_paths);
  BackfillStats stats;
  const core::Timestamp begin = factory->now();
  if (end <= begin) return stats;
  core::Timestamp next_truth = begin;
  std::map<std::string, core::Timestamp> last_event;
  core::Timestamp next_progress = begin + core::kHour;
  // Sampling granularity: the factory's own step (a simulated second at most).
  const core::Duration step = std::min<core::Duration>(core::kSecond, std::max<core::Duration>(end - begin, 1));
  for (auto& p : points) {
    p.interval = std::max(p.interval, step);
    p.next = begin;
  }
  for (core::Timestamp t = begin; t <= end; t += step) {
    factory->AdvanceTo(t);
    const core::Timestamp now = factory->now();
    for (auto& p : points) {
      if (now < p.next) continue;
      p.next += p.interval;
      if (p.next <= now) p.next = now + p.interval;
      core::Value value;
      core::Quality quality = core::Quality::Good();
      if (!factory->Reachable(p.machine)) {
        quality = core::Quality::BadNoCommunication();
      } else {
        auto reading = factory->Read(p.machine, p.signal);
        if (!reading) continue;
        if (!reading->available) {
          quality = core::Quality::BadSensorFailure();
        } else if (reading->value.type() == p.type) {
          value = reading->value;
        } else {
          auto converted = core::ConvertLossless(reading->value, p.type);
          if (!converted.ok()) continue;
          value = *converted;
        }
      }
      if (!quality.good()) {
        if (p.last_quality == quality) continue;  // one sample per outage
        value = p.type == core::ValueType::kString ? core::Value(std::string()) :
                p.type == core::ValueType::kBool   ? core::Value(false) :
                p.type == core::ValueType::kInt64  ? core::Value(int64_t{0}) : core::Value(0.0);
      } else if (p.last && p.last_quality.good() && now - p.last_stored < core::kMinute) {
        double a = 0, b = 0;
        if (p.deadband > 0 && value.ToNumber(&a) && p.last->ToNumber(&b) && std::abs(a - b) <= p.deadband) continue;
        if (p.deadband == 0 && p.type != core::ValueType::kDouble && value == *p.last) continue;
      }
      SF_RETURN_IF_ERROR(sink->Append(p.key, p.type, now, value, quality));
      p.last = value;
      p.last_quality = quality;
      p.last_stored = now;
      ++stats.samples;
    }
    for (const Burst& b : factory->TakeBursts()) {
      auto path = machine_paths.find(b.machine);
      if (path == machine_paths.end() || !(b.sample_rate > 0)) continue;
      const double period = 1e9 / b.sample_rate;
      for (size_t i = 0; i < b.samples.size(); ++i) {
        SF_RETURN_IF_ERROR(sink->Append(path->second + "/vibration_waveform", core::ValueType::kDouble,
                                        b.start + static_cast<core::Timestamp>(period * static_cast<double>(i)),
                                        core::Value(static_cast<double>(b.samples[i])), core::Quality::Good()));
      }
      ++stats.bursts;
    }
    for (const Event& e : factory->TakeEvents()) {
      // Several events of a machine in one step keep their order 1 ns apart.
      core::Timestamp& last = last_event[e.machine];
      last = std::max(e.ts, last + 1);
      SF_RETURN_IF_ERROR(sink->Append(fmt::format("sim/{}/event", e.machine), core::ValueType::kString, last,
                                      core::Value(fmt::format("{}: {}", e.kind, e.detail)),
                                      core::Quality::Good()));
      ++stats.events;
    }
    if (now >= next_truth) {
      next_truth = now + core::kMinute;
      for (const BearingTruth& b : factory->Bearings()) {
        const std::string base = "sim/" + b.machine + "/bearing_";
        SF_RETURN_IF_ERROR(sink->Append(base + "health", core::ValueType::kDouble, now, core::Value(b.health),
                                        core::Quality::Good()));
        SF_RETURN_IF_ERROR(sink->Append(base + "rul_h", core::ValueType::kDouble, now,
                                        core::Value(static_cast<double>(b.remaining) / core::kHour),
                                        core::Quality::Good()));
        SF_RETURN_IF_ERROR(sink->Append(base + "end_of_life", core::ValueType::kInt64, now,
                                        core::Value(static_cast<int64_t>(b.end_of_life / core::kMillisecond)),
                                        core::Quality::Good()));
        SF_RETURN_IF_ERROR(sink->Append(base + "failures", core::ValueType::kInt64, now,
                                        core::Value(static_cast<int64_t>(b.failures)), core::Quality::Good()));
      }
    }
    if (progress && now >= next_progress) {
      next_progress = now + core::kHour;
      progress(static_cast<double>(now - begin) / static_cast<double>(end - begin));
    }
  }
  SF_RETURN_IF_ERROR(sink->Flush());
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return stats;
}

}  // namespace shopfloor::sim
