// The engine's query iterators. Both walk a series' time partitions in order and hold at
// most one partition of one series in memory, so memory stays bounded however long the range.
#pragma once

#include <memory>
#include <vector>

#include "storage/aggregate.h"
#include "storage/engine.h"

namespace shopfloor::storage {

// Partitions (starts) in [from, to) where the snapshot has raw data for its series.
std::vector<core::Timestamp> RawPartitions(const SeriesSnapshot& snap, core::Duration width, core::Timestamp from,
                                           core::Timestamp to);

class RawIterator final : public SampleIterator {
 public:
  RawIterator(const Engine* engine, SeriesSnapshot snap, std::vector<core::Timestamp> partitions,
              core::Timestamp from, core::Timestamp to);
  bool Next(Sample* out) override;
  Status status() const override { return status_; }

 private:
  const Engine* engine_;
  SeriesSnapshot snap_;
  std::vector<core::Timestamp> partitions_;
  size_t next_partition_ = 0;
  core::Timestamp from_, to_;
  ChunkColumns buffer_;
  size_t pos_ = 0;
  Status status_;
};

class AggIterator final : public AggregateIterator {
 public:
  AggIterator(const Engine* engine, SeriesSnapshot snap, std::vector<core::Timestamp> partitions,
              const AggregateQuery& query, bool use_1h, bool use_1m);
  bool Next(AggregateRow* out) override;
  Status status() const override { return status_; }
  Resolution resolution() const override { return resolution_; }

 private:
  // Feeds one partition to the aggregator, from a valid rollup when possible.
  void ProcessPartition(core::Timestamp partition_start);
  bool TryRollup(core::Timestamp partition_start, const std::vector<std::shared_ptr<BlockReader>>& level,
                 core::Duration res, bool memory_has_data);

  const Engine* engine_;
  SeriesSnapshot snap_;
  std::vector<core::Timestamp> partitions_;
  size_t next_partition_ = 0;
  AggregateQuery query_;
  bool use_1h_, use_1m_;
  WindowAggregator aggregator_;
  bool finished_ = false;
  Resolution resolution_ = Resolution::kRaw;
  Status status_;
};

}  // namespace shopfloor::storage
