// Internal to sf_model: the per-asset state behind TwinStore.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/twin.h"

namespace shopfloor::model {

struct TwinStore::TagSlot {
  Tag tag;
  bool has_reported = false;
  ReportedValue reported;
  std::optional<DesiredValue> desired;
};

struct TwinStore::Twin {
  mutable std::mutex mu;
  int64_t asset_id = 0;
  std::string path;
  std::map<std::string, std::string> attributes;
  std::vector<TagSlot> tags;  // GUARDED_BY(mu) for reported/desired
  uint64_t version = 0;       // GUARDED_BY(mu)

  TagSlot* Find(std::string_view name) {
    for (TagSlot& slot : tags) {
      if (slot.tag.name == name) return &slot;
    }
    return nullptr;
  }

  // REQUIRES: mu held.
  TwinSnapshot Snapshot() const;
};

}  // namespace shopfloor::model
