// Writer: the one door every reading goes through on its way in. It makes a batch durable
// in storage and then publishes it on the bus, so nothing downstream (twins, live views,
// rules) ever sees a sample that a crash could take back.
//
// Thread safety: thread-safe; concurrent writers share storage's group commit.
#pragma once

#include <atomic>

#include "core/core.h"
#include "ingest/bus.h"

namespace shopfloor::storage {
class Storage;
}

namespace shopfloor::ingest {

class Writer {
 public:
  // Neither is owned; both must outlive the Writer. bus may be null (no fan-out).
  Writer(storage::Storage* storage, Bus* bus) : storage_(storage), bus_(bus) {}

  // Durable under the storage policy when OK; published on the bus only then.
  core::Status Write(const core::SampleBatch& batch);

  storage::Storage* storage() const { return storage_; }
  Bus* bus() const { return bus_; }
  uint64_t batches_written() const { return batches_.load(std::memory_order_relaxed); }
  uint64_t samples_written() const { return samples_.load(std::memory_order_relaxed); }
  uint64_t batches_failed() const { return failed_.load(std::memory_order_relaxed); }

 private:
  storage::Storage* const storage_;
  Bus* const bus_;
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> samples_{0};
  std::atomic<uint64_t> failed_{0};
};

}  // namespace shopfloor::ingest
