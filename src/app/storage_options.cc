#include "app/storage_options.h"

namespace shopfloor::app {

core::Result<storage::Options> MakeStorageOptions(const model::PlantConfig* config, const std::string& dir,
                                                  const std::string& durability_override) {
  storage::Options o;
  o.env = core::Env::Posix();
  o.clock = core::Clock::System();
  o.dir = dir;
  if (config != nullptr) {
    const model::StorageConfig& sc = config->storage;
    switch (sc.durability) {
      case model::DurabilityMode::kAlways: o.durability.mode = storage::DurabilityPolicy::Mode::kAlways; break;
      case model::DurabilityMode::kNone: o.durability.mode = storage::DurabilityPolicy::Mode::kNone; break;
      case model::DurabilityMode::kInterval:
        o.durability.mode = storage::DurabilityPolicy::Mode::kInterval;
        o.durability.interval = sc.durability_interval;
        break;
    }
    o.head_memory_limit = sc.head_memory;
    o.disk_quota_bytes = sc.disk_quota;
    for (const auto& rule : sc.retention) o.retention.push_back(storage::RetentionRule{rule.match, rule.max_age});
  }
  if (!durability_override.empty()) {
    SF_ASSIGN_OR_RETURN(o.durability, storage::DurabilityPolicy::Parse(durability_override));
  }
  return o;
}

}  // namespace shopfloor::app
