// A model of what a recovered engine may hold, for the crash tests: every acknowledged write
// must be there with its exact value (last acknowledged write wins), and a write that
// failed may or may not be there. Keyed by series key, so it survives a reopen.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/core.h"
#include "storage/storage.h"

namespace shopfloor::storage::testing {

class RecoveryModel {
 public:
  // What one (series, ts) may read back as after recovery.
  struct Cell {
    std::optional<Sample> acked;  // the last acknowledged write
    std::vector<Sample> maybe;    // failed writes issued after it
  };

  void SeriesCreated(const std::string& key, SeriesId id, ValueType type, bool acked) {
    auto& s = series_[key];
    s.id = id;
    s.type = type;
    s.acked = s.acked || acked;
    keys_[id] = key;
  }

  // Records a batch whose Write() returned `acked`.
  void BatchWritten(const SampleBatch& batch, bool acked) {
    for (const auto& e : batch.entries) {
      Cell& cell = cells_[{keys_.at(e.series), e.ts}];
      Sample sample{e.ts, e.value, e.quality};
      if (acked) {
        cell.acked = sample;
        cell.maybe.clear();
      } else {
        cell.maybe.push_back(sample);
      }
    }
  }

  // Checks `db` against the model: acknowledged series exist with their id and type,
  // acknowledged samples read back exactly, and nothing is read that was never written.
  // Returns the number of problems (each reported as a test failure with `where`).
  int Verify(Storage* db, const std::string& where) const {
    int problems = 0;
    for (const auto& [key, spec] : series_) {
      auto info = db->FindSeries(key);
      if (!info.ok()) {
        if (spec.acked) {
          ADD_FAILURE() << where << ": acknowledged series " << key << " is gone: " << info.status().ToString();
          ++problems;
        }
        continue;
      }
      if (info->id != spec.id || info->type != spec.type) {
        ADD_FAILURE() << where << ": series " << key << " came back as id " << core::ToU64(info->id) << " type "
                      << core::ValueTypeName(info->type);
        ++problems;
        continue;
      }
      problems += VerifySeries(db, key, spec.id, where);
    }
    return problems;
  }

  bool series_acked(const std::string& key) const {
    auto it = series_.find(key);
    return it != series_.end() && it->second.acked;
  }
  size_t acked_samples() const {
    size_t n = 0;
    for (const auto& [at, cell] : cells_) n += cell.acked ? 1 : 0;
    return n;
  }

 private:
  struct SeriesSpec {
    SeriesId id{};
    ValueType type = ValueType::kDouble;
    bool acked = false;
  };

  static bool Same(const Sample& a, const Sample& b) {
    return a.ts == b.ts && a.value.IdenticalTo(b.value) && a.quality == b.quality;
  }

  static std::string Describe(const Sample& s) { return s.value.ToString() + " " + s.quality.ToString(); }

  int VerifySeries(Storage* db, const std::string& key, SeriesId id, const std::string& where) const {
    int problems = 0;
    auto it = db->ReadRaw(id, INT64_MIN / 4, INT64_MAX / 4);
    if (!it.ok()) {
      ADD_FAILURE() << where << ": ReadRaw(" << key << "): " << it.status().ToString();
      return 1;
    }
    std::map<Timestamp, Sample> read;
    Sample s;
    while ((*it)->Next(&s)) read.emplace(s.ts, s);
    if (!(*it)->status().ok()) {
      ADD_FAILURE() << where << ": reading " << key << ": " << (*it)->status().ToString();
      ++problems;
    }
    for (auto c = cells_.lower_bound({key, INT64_MIN}); c != cells_.end() && c->first.first == key; ++c) {
      const Cell& cell = c->second;
      auto r = read.find(c->first.second);
      if (r == read.end()) {
        if (cell.acked) {
          ADD_FAILURE() << where << ": acknowledged sample " << key << " @" << c->first.second << " = "
                        << cell.acked->value.ToString() << " is missing";
          ++problems;
        }
        continue;
      }
      bool allowed = cell.acked && Same(*cell.acked, r->second);
      for (const Sample& m : cell.maybe) allowed = allowed || Same(m, r->second);
      if (!allowed) {
        ADD_FAILURE() << where << ": " << key << " @" << c->first.second << " reads " << Describe(r->second)
                      << ", expected " << (cell.acked ? Describe(*cell.acked) : std::string("(absent)"))
                      << " or one of " << cell.maybe.size() << " failed writes";
        ++problems;
      }
      read.erase(r);
    }
    for (const auto& [ts, sample] : read) {
      ADD_FAILURE() << where << ": " << key << " @" << ts << " = " << sample.value.ToString()
                    << " was never written";
      ++problems;
    }
    return problems;
  }

  std::map<std::string, SeriesSpec> series_;
  std::map<SeriesId, std::string> keys_;
  std::map<std::pair<std::string, Timestamp>, Cell> cells_;
};

}  // namespace shopfloor::storage::testing
