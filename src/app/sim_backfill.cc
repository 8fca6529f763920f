#include "app/sim_backfill.h"

#include <cstdio>
#include <unordered_map>

#include <fmt/format.h>

#include "app/storage_options.h"
#include "core/clock.h"
#include "core/log.h"
#include "sim/backfill.h"
#include "storage/storage.h"

namespace shopfloor::app {

namespace {

// Batches samples into Storage::Write calls, resolving each key once.
class StorageSink : public sim::BackfillSink {
 public:
  explicit StorageSink(storage::Storage* storage) : storage_(storage) {}

  core::Status Append(const std::string& key, core::ValueType type, core::Timestamp ts, const core::Value& value,
                      core::Quality quality) override {
    auto it = ids_.find(key);
    if (it == ids_.end()) {
      SF_ASSIGN_OR_RETURN(core::SeriesId id, storage_->GetOrCreateSeries(key, type));
      it = ids_.emplace(key, id).first;
    }
    batch_.Add(it->second, ts, value, quality);
    return batch_.size() >= 65536 ? Flush() : core::Status::OK();
  }

  core::Status Flush() override {
    if (batch_.empty()) return core::Status::OK();
    core::Status s = storage_->Write(batch_);
    batch_.Clear();
    return s;
  }

 private:
  storage::Storage* const storage_;
  std::unordered_map<std::string, core::SeriesId> ids_;
  core::SampleBatch batch_;
};

}  // namespace

core::Result<std::unique_ptr<sim::Factory>> BackfillDataDir(const model::PlantConfig& config,
                                                            const std::string& data_dir, core::Duration duration,
                                                            sim::FactoryOptions factory_options) {
  SF_ASSIGN_OR_RETURN(storage::Options options, MakeStorageOptions(&config, data_dir, "none"));
  SF_ASSIGN_OR_RETURN(std::unique_ptr<storage::Storage> storage, storage::Storage::Open(options));
  const core::Timestamp end = core::Clock::System()->Now();
  factory_options.start = end - duration;
  std::unique_ptr<sim::Factory> factory = sim::Factory::Create(factory_options);
  StorageSink sink(storage.get());
  std::fprintf(stderr, "backfill: simulating the plant from %s to now into %s\n",
               core::FormatTimestamp(factory_options.start).c_str(), data_dir.c_str());
  int last_percent = -1;
  SF_ASSIGN_OR_RETURN(sim::BackfillStats stats, sim::Backfill(config, factory.get(), end, &sink, [&](double done) {
                        const int percent = static_cast<int>(done * 100);
                        if (percent / 10 != last_percent / 10) {
                          last_percent = percent;
                          std::fprintf(stderr, "backfill: %d%%\n", percent);
                        }
                      }));
  SF_RETURN_IF_ERROR(storage->Flush());
  SF_LOG(info, "sim.backfill_done", "samples={} bursts={} events={} seconds={:.1f} samples_per_s={:.0f}", stats.samples,
         stats.bursts, stats.events, stats.seconds, stats.seconds > 0 ? stats.samples / stats.seconds : 0.0);
  return factory;
}

}  // namespace shopfloor::app
