#include "sim/factory.h"

#include <cmath>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "core/env.h"
#include "model/plant_config.h"

namespace shopfloor::sim {
namespace {

using core::kHour;
using core::kMinute;
using core::kSecond;

constexpr core::Timestamp kStart = 1'767'225'600LL * kSecond;  // 2026-01-01T00:00:00Z

FactoryOptions Options(core::Duration step, bool random_faults) {
  FactoryOptions o;
  o.seed = 42;
  o.start = kStart;
  o.step = step;
  o.random_faults = random_faults;
  return o;
}

double Num(const Factory& f, const char* machine, const char* signal) {
  auto r = f.Read(machine, signal);
  EXPECT_TRUE(r.has_value()) << machine << "/" << signal;
  if (!r) return NAN;
  double v = NAN;
  EXPECT_TRUE(r->value.ToNumber(&v)) << machine << "/" << signal;
  return v;
}

void CollectMachines(const model::AssetConfig& asset, std::vector<const model::AssetConfig*>* out) {
  if (asset.level == model::AssetLevel::kMachine) out->push_back(&asset);
  for (const auto& child : asset.children) CollectMachines(child, out);
}

TEST(FactoryTest, EveryConfigTagIsASignalOfItsTypeWithinRangeForAnHour) {
  std::vector<core::Status> problems;
  auto config = model::LoadPlantConfigFile(core::Env::Posix(), SHOPFLOOR_SOURCE_DIR "/config/demo-works.yaml",
                                           &problems);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  std::vector<const model::AssetConfig*> machines;
  CollectMachines(config->enterprise, &machines);
  ASSERT_EQ(machines.size(), 12u);

  auto factory = Factory::Create(Options(kSecond, false));
  std::map<std::pair<std::string, std::string>, SignalInfo> infos;
  for (const SignalInfo& s : factory->Signals()) infos[{s.machine, s.name}] = s;
  int tags = 0;
  for (const auto* machine : machines) {
    EXPECT_TRUE(infos.count({machine->name, "fault_code"})) << machine->name;
    for (const auto& tag : machine->tags) {
      ++tags;
      auto it = infos.find({machine->name, tag.name});
      ASSERT_NE(it, infos.end()) << machine->name << "/" << tag.name;
      EXPECT_EQ(it->second.type, tag.type) << machine->name << "/" << tag.name;
      EXPECT_EQ(it->second.writable, tag.writable) << machine->name << "/" << tag.name;
      EXPECT_EQ(it->second.unit, tag.unit) << machine->name << "/" << tag.name;
    }
  }
  EXPECT_GT(tags, 100);
  // The Modbus demo's extra signals.
  auto type_of = [&](const std::string& machine, const std::string& name) {
    auto it = infos.find({machine, name});
    return it == infos.end() ? std::string("missing") : std::string(core::ValueTypeName(it->second.type));
  };
  for (const char* m : {"press-1", "robot-1", "robot-2", "conveyor-1", "vision-station"}) {
    EXPECT_EQ(type_of(m, "running"), "bool") << m;
    EXPECT_EQ(type_of(m, "faulted"), "bool") << m;
  }
  EXPECT_EQ(type_of("vision-station", "ambient_temperature"), "double");
  EXPECT_EQ(factory->Read("press-1", "die_id")->value.type(), core::ValueType::kString);

  const std::set<int64_t> packml = {2, 3, 4, 5, 6, 9, 11};
  EXPECT_EQ(factory->Read("press-1", "state")->value.as_int(), 4);  // Idle before the first step
  for (int minute = 1; minute <= 60; ++minute) {
    factory->AdvanceTo(kStart + minute * kMinute);
    for (const auto* machine : machines) {
      for (const auto& tag : machine->tags) {
        auto r = factory->Read(machine->name, tag.name);
        ASSERT_TRUE(r.has_value());
        EXPECT_TRUE(r->available);
        ASSERT_EQ(r->value.type(), tag.type) << machine->name << "/" << tag.name;
        double v = 0;
        if (tag.range && r->value.ToNumber(&v)) {
          EXPECT_GE(v, tag.range->min) << machine->name << "/" << tag.name << " at minute " << minute;
          EXPECT_LE(v, tag.range->max) << machine->name << "/" << tag.name << " at minute " << minute;
        }
        if (tag.name == "state") {
          EXPECT_TRUE(packml.count(r->value.as_int())) << machine->name;
        }
      }
    }
  }
  // After an hour everything is producing or waiting, at believable values.
  EXPECT_EQ(factory->Read("compressor-1", "state")->value.as_int(), 6);
  EXPECT_NEAR(Num(*factory, "filler", "fill_volume"), 501, 4);
  EXPECT_NEAR(Num(*factory, "pasteuriser", "zone3_temperature"), 62, 1);
  EXPECT_NEAR(Num(*factory, "compressor-1", "discharge_pressure"), 7, 0.5);
  EXPECT_NEAR(Num(*factory, "main-meter", "frequency"), 50, 0.2);
  EXPECT_GT(Num(*factory, "filler", "bottles_good"), 20000);
  EXPECT_GT(Num(*factory, "vision-station", "parts_good"), 60);
  EXPECT_GT(Num(*factory, "robot-1", "welds_good"), 400);
  EXPECT_GT(Num(*factory, "main-meter", "active_power"), 300);
}

TEST(FactoryTest, SameSeedSamePlantDifferentSeedDifferentPlant) {
  FactoryOptions o = Options(100 * core::kMillisecond, true);
  auto a = Factory::Create(o);
  auto b = Factory::Create(o);
  o.seed = 43;
  auto c = Factory::Create(o);
  // b advances in uneven slices: only the fixed steps matter.
  for (core::Timestamp t = kStart; t < kStart + kHour; t += 7 * kMinute + 333 * core::kMillisecond) b->AdvanceTo(t);
  a->AdvanceTo(kStart + kHour);
  b->AdvanceTo(kStart + kHour);
  c->AdvanceTo(kStart + kHour);
  const auto ra = a->ReadAll(), rb = b->ReadAll(), rc = c->ReadAll();
  const auto signals = a->Signals();
  ASSERT_EQ(ra.size(), signals.size());
  int differ = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    EXPECT_TRUE(ra[i].value.IdenticalTo(rb[i].value)) << signals[i].machine << "/" << signals[i].name;
    EXPECT_EQ(ra[i].available, rb[i].available);
    differ += ra[i].value.IdenticalTo(rc[i].value) ? 0 : 1;
    EXPECT_TRUE(ra[i].value.IdenticalTo(a->Read(signals[i].machine, signals[i].name)->value));
  }
  EXPECT_GT(differ, static_cast<int>(ra.size()) / 2);
  const auto ea = a->TakeEvents(), eb = b->TakeEvents();
  ASSERT_EQ(ea.size(), eb.size());
  for (size_t i = 0; i < ea.size(); ++i) {
    EXPECT_EQ(ea[i].ts, eb[i].ts);
    EXPECT_EQ(ea[i].detail, eb[i].detail);
  }
  const auto ba = a->TakeBursts(), bb = b->TakeBursts();
  ASSERT_EQ(ba.size(), bb.size());
  ASSERT_FALSE(ba.empty());
  EXPECT_EQ(ba.back().samples, bb.back().samples);
}

TEST(FactoryTest, CountersAreMonotonicWithRandomFaults) {
  auto f = Factory::Create(Options(kSecond, true));
  std::vector<std::pair<std::string, std::string>> counters;
  for (const SignalInfo& s : f->Signals()) {
    const std::string& n = s.name;
    if (n.find("good") != std::string::npos || n.find("scrap") != std::string::npos ||
        n.find("energy") != std::string::npos || n == "running_hours" || n == "skids_transported" ||
        n == "labels_applied") {
      counters.emplace_back(s.machine, s.name);
    }
  }
  ASSERT_GE(counters.size(), 25u);
  std::vector<double> last(counters.size(), -1.0);
  for (int minute = 1; minute <= 6 * 60; ++minute) {
    f->AdvanceTo(kStart + minute * kMinute);
    for (size_t i = 0; i < counters.size(); ++i) {
      const double v = Num(*f, counters[i].first.c_str(), counters[i].second.c_str());
      EXPECT_GE(v, last[i]) << counters[i].first << "/" << counters[i].second;
      last[i] = v;
    }
  }
}

}  // namespace
}  // namespace shopfloor::sim
