#include "ingest/writer.h"

#include "storage/storage.h"

namespace shopfloor::ingest {

core::Status Writer::Write(const core::SampleBatch& batch) {
  if (batch.empty()) return core::Status::OK();
  core::Status s = storage_->Write(batch);
  if (!s.ok()) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    return s;
  }
  batches_.fetch_add(1, std::memory_order_relaxed);
  samples_.fetch_add(batch.size(), std::memory_order_relaxed);
  if (bus_ != nullptr) bus_->PublishSamples(batch);
  return core::Status::OK();
}

}  // namespace shopfloor::ingest
