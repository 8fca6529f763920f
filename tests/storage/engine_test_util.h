// Shared fixtures for the engine tests: an engine on MemEnv (or a given Env) and SimClock,
// with background maintenance off so tests decide when to flush and compact.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "core/core.h"
#include "storage/storage.h"

namespace shopfloor::storage::testing {


inline constexpr core::Timestamp kHourAligned = 1'699'999'200LL * core::kSecond;  // multiple of 2 h

class EngineFixture : public ::testing::Test {
 protected:
  EngineFixture() : mem_env_(core::NewMemEnv()), clock_(kHourAligned + 10 * core::kDay) {}

  Options MakeOptions() {
    Options o;
    o.env = env();
    o.clock = &clock_;
    o.dir = "/db";
    o.durability.mode = DurabilityPolicy::Mode::kNone;
    o.background_maintenance = false;
    o.block_duration = 2 * core::kHour;  // small partitions exercise partition boundaries
    return o;
  }
  virtual core::Env* env() { return mem_env_.get(); }

  void Open(const Options& o) {
    db_.reset();
    auto r = Storage::Open(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    db_ = std::move(r).value();
  }
  void Open() { Open(MakeOptions()); }
  void Reopen() {
    Options o = options_ ? *options_ : MakeOptions();
    Open(o);
  }

  SeriesId Series(std::string_view key, ValueType type = ValueType::kDouble) {
    auto r = db_->GetOrCreateSeries(key, type);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SeriesId{};
  }

  std::vector<Sample> ReadAll(SeriesId id, Timestamp from = INT64_MIN / 4, Timestamp to = INT64_MAX / 4) {
    auto it = db_->ReadRaw(id, from, to);
    EXPECT_TRUE(it.ok()) << it.status().ToString();
    std::vector<Sample> out;
    if (!it.ok()) return out;
    Sample s;
    while ((*it)->Next(&s)) out.push_back(s);
    EXPECT_TRUE((*it)->status().ok()) << (*it)->status().ToString();
    return out;
  }

  std::vector<AggregateRow> Agg(SeriesId id, const AggregateQuery& q, Resolution* res = nullptr) {
    auto it = db_->Aggregate(id, q);
    EXPECT_TRUE(it.ok()) << it.status().ToString();
    std::vector<AggregateRow> out;
    if (!it.ok()) return out;
    AggregateRow row;
    while ((*it)->Next(&row)) out.push_back(row);
    EXPECT_TRUE((*it)->status().ok()) << (*it)->status().ToString();
    if (res) *res = (*it)->resolution();
    return out;
  }

  std::unique_ptr<core::Env> mem_env_;
  core::SimClock clock_;
  std::optional<Options> options_;
  std::unique_ptr<Storage> db_;
};

}  // namespace shopfloor::storage::testing
