// SampleBatch: the unit every reading travels in, from a connector to storage and the bus.
#pragma once

#include <vector>

#include "core/types.h"

namespace shopfloor::core {

struct SampleBatch {
  struct Entry {
    SeriesId series;
    Timestamp ts;
    Value value;
    Quality quality;
  };

  void Add(SeriesId series, Timestamp ts, Value value, Quality quality = Quality::Good()) {
    entries.push_back(Entry{series, ts, std::move(value), quality});
  }
  void Clear() { entries.clear(); }
  size_t size() const { return entries.size(); }
  bool empty() const { return entries.empty(); }

  std::vector<Entry> entries;
};

}  // namespace shopfloor::core
