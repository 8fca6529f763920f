// An in-memory storage::Storage for server tests (a legitimate test double: the real
// engine has its own tests). Thread-safe; Write is all or nothing and checks types;
// `fail_writes` makes Write return a chosen error.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/glob.h"
#include "storage/storage.h"

namespace shopfloor::server::testing {

class FakeStorage : public storage::Storage {
 public:
  core::Result<core::SeriesId> GetOrCreateSeries(std::string_view key, core::ValueType type) override {
    std::lock_guard lock(mu_);
    ++lookups_;
    auto it = by_key_.find(std::string(key));
    if (it != by_key_.end()) {
      const storage::SeriesInfo& info = series_[core::ToU64(it->second)];
      if (info.type != type) {
        return core::Status::InvalidArgument("series " + info.key + " has type " +
                                             std::string(core::ValueTypeName(info.type)));
      }
      return it->second;
    }
    core::SeriesId id{series_.size()};
    series_.push_back(storage::SeriesInfo{id, std::string(key), type});
    samples_.emplace_back();
    by_key_.emplace(std::string(key), id);
    return id;
  }
  core::Result<storage::SeriesInfo> FindSeries(std::string_view key) const override {
    std::lock_guard lock(mu_);
    auto it = by_key_.find(std::string(key));
    if (it == by_key_.end()) return core::Status::NotFound("no series " + std::string(key));
    return series_[core::ToU64(it->second)];
  }
  core::Result<storage::SeriesInfo> GetSeries(core::SeriesId id) const override {
    std::lock_guard lock(mu_);
    if (core::ToU64(id) >= series_.size()) return core::Status::NotFound("no such id");
    return series_[core::ToU64(id)];
  }
  std::vector<storage::SeriesInfo> MatchSeries(std::string_view glob) const override {
    std::lock_guard lock(mu_);
    std::vector<storage::SeriesInfo> out;
    for (const auto& [key, id] : by_key_) {
      if (core::GlobMatch(glob, key)) out.push_back(series_[core::ToU64(id)]);
    }
    return out;
  }
  core::Status Write(const core::SampleBatch& batch) override {
    std::lock_guard lock(mu_);
    ++write_calls_;
    if (!fail_writes.ok()) return fail_writes;
    for (const auto& e : batch.entries) {
      if (core::ToU64(e.series) >= series_.size()) return core::Status::InvalidArgument("unknown series");
      if (series_[core::ToU64(e.series)].type != e.value.type()) return core::Status::InvalidArgument("type");
    }
    for (const auto& e : batch.entries) {
      auto& v = samples_[core::ToU64(e.series)];
      auto it = std::find_if(v.begin(), v.end(), [&](const core::Sample& s) { return s.ts == e.ts; });
      if (it != v.end()) {
        *it = core::Sample{e.ts, e.value, e.quality};
      } else {
        v.push_back(core::Sample{e.ts, e.value, e.quality});
      }
    }
    return core::Status::OK();
  }
  core::Result<std::unique_ptr<storage::SampleIterator>> ReadRaw(core::SeriesId id, core::Timestamp from,
                                                                 core::Timestamp to) const override {
    std::lock_guard lock(mu_);
    std::vector<core::Sample> out;
    for (const auto& s : samples_.at(core::ToU64(id))) {
      if (s.ts >= from && s.ts < to) out.push_back(s);
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ts < b.ts; });
    return std::unique_ptr<storage::SampleIterator>(new VectorIterator(std::move(out)));
  }
  core::Result<std::unique_ptr<storage::AggregateIterator>> Aggregate(
      core::SeriesId id, const storage::AggregateQuery& q) const override {
    auto raw = ReadRaw(id, q.from, q.to);
    std::vector<storage::AggregateRow> rows;
    core::Duration step = q.step > 0 ? q.step : std::max<core::Duration>(1, (q.to - q.from) / int64_t(q.max_points));
    core::Sample s;
    while ((*raw)->Next(&s)) {
      double v = 0;
      if (!s.value.ToNumber(&v)) return core::Status::InvalidArgument("series is not numeric");
      core::Timestamp start = q.from + (s.ts - q.from) / step * step;
      if (rows.empty() || rows.back().start != start) {
        rows.push_back(storage::AggregateRow{start, 0, v, v, 0, v, v});
      }
      auto& r = rows.back();
      r.count++;
      r.min = std::min(r.min, v);
      r.max = std::max(r.max, v);
      r.sum += v;
      r.last = v;
      r.avg = r.sum / double(r.count);
      r.twa = r.avg;  // good enough for transport tests
    }
    return std::unique_ptr<storage::AggregateIterator>(new RowIterator(std::move(rows)));
  }
  std::vector<std::optional<core::Sample>> Latest(std::span<const core::SeriesId> ids) const override {
    std::lock_guard lock(mu_);
    std::vector<std::optional<core::Sample>> out(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      if (core::ToU64(ids[i]) >= samples_.size()) continue;
      for (const core::Sample& s : samples_[core::ToU64(ids[i])]) {
        if (!out[i] || s.ts >= out[i]->ts) out[i] = s;
      }
    }
    return out;
  }
  core::Status Flush() override { return core::Status::OK(); }
  core::Status Compact() override { return core::Status::OK(); }
  storage::StorageStats stats() const override {
    std::lock_guard lock(mu_);
    storage::StorageStats st;
    st.series = series_.size();
    for (const auto& v : samples_) st.samples_written += v.size();
    return st;
  }

  size_t total_samples() const { return stats().samples_written; }
  int lookups() const {
    std::lock_guard lock(mu_);
    return lookups_;
  }
  int write_calls() const {
    std::lock_guard lock(mu_);
    return write_calls_;
  }

  core::Status fail_writes;  // set by tests before requests are made

 private:
  class VectorIterator : public storage::SampleIterator {
   public:
    explicit VectorIterator(std::vector<core::Sample> v) : v_(std::move(v)) {}
    bool Next(core::Sample* out) override {
      if (i_ >= v_.size()) return false;
      *out = v_[i_++];
      return true;
    }
    core::Status status() const override { return core::Status::OK(); }

   private:
    std::vector<core::Sample> v_;
    size_t i_ = 0;
  };
  class RowIterator : public storage::AggregateIterator {
   public:
    explicit RowIterator(std::vector<storage::AggregateRow> v) : v_(std::move(v)) {}
    bool Next(storage::AggregateRow* out) override {
      if (i_ >= v_.size()) return false;
      *out = v_[i_++];
      return true;
    }
    core::Status status() const override { return core::Status::OK(); }
    storage::Resolution resolution() const override { return storage::Resolution::kRaw; }

   private:
    std::vector<storage::AggregateRow> v_;
    size_t i_ = 0;
  };

  mutable std::mutex mu_;
  std::vector<storage::SeriesInfo> series_;
  std::vector<std::vector<core::Sample>> samples_;
  std::map<std::string, core::SeriesId, std::less<>> by_key_;
  int lookups_ = 0;
  int write_calls_ = 0;
};

}  // namespace shopfloor::server::testing
