// TwinStore: the digital twin of every asset: reported state (the latest sample of each
// tag), desired state (setpoints requested through the API), their delta, and a version.
//
// Reported is fed from sample batches (OnSamples, normally subscribed to the ingest bus by
// the server). Each tag's series is found once through the resolver given at Open (the
// server passes storage FindSeries) and kept in a SeriesId -> (twin, tag) hash map, so a
// sample costs one hash lookup and one per-twin mutex; no allocation when the value is not
// a string. Tags whose series does not exist yet are resolved again, at most once per
// unknown SeriesId, when a sample with an unknown SeriesId arrives. After a model change
// (AssetStore listener) call Rebuild(); reported and desired values carry over by tag id.
//
// Desired values are validated (tag exists, writable, value type matches the tag's type -
// an int64 is accepted for a double tag - finite and within the tag's range) and persisted
// in the metadata database (component "twin"), so they survive a restart. Each change
// emits a ModelEvent (kind "twin.desired" or "twin.desired_cleared", data {"before",
// "after", "version"}) to the listener, after the change committed, on the caller's thread.
//
// Delta: the desired tags whose reported value is missing or differs. Numbers compare
// within max(deadband, 1e-6 * max(1, |desired|)), so a float32 register reading back a
// double setpoint counts as equal; other types compare exactly.
//
// Versions: every change of a twin (reported sample, desired set or cleared, staleness)
// gives it the next value of one global counter. The counter never repeats across
// restarts, crashes included: a high-water mark is persisted in blocks of
// TwinOptions::version_block ahead of use (like a database sequence cache), and a reopen
// continues above it. At open every twin gets a fresh version above all earlier ones.
//
// Thread safety: all methods are thread-safe. OnSamples may run concurrently from many
// threads; Rebuild excludes them briefly.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/clock.h"
#include "core/sample_batch.h"
#include "core/status.h"
#include "meta/db.h"
#include "model/asset_store.h"

namespace shopfloor::model {

struct ReportedValue {
  core::Timestamp ts = 0;
  core::Value value;
  core::Quality quality;
};

struct DesiredValue {
  core::Value value;
  std::string by;        // actor
  core::Timestamp at = 0;
};

struct TwinSnapshot {
  int64_t asset_id = 0;
  std::string path;
  std::map<std::string, std::string> attributes;
  std::map<std::string, ReportedValue> reported;  // tags with a sample only
  std::map<std::string, DesiredValue> desired;
  std::vector<std::string> delta;  // sorted tag names
  uint64_t version = 0;
};

struct TwinOptions {
  uint64_t version_block = 1 << 16;  // versions reserved per persisted high-water mark
};

class TwinStore {
 public:
  using SeriesResolver = std::function<std::optional<core::SeriesId>(std::string_view series_key)>;
  using Listener = std::function<void(const ModelEvent&)>;

  // db, assets and clock must outlive the store.
  static core::Result<std::unique_ptr<TwinStore>> Open(meta::Db* db, AssetStore* assets, core::Clock* clock,
                                                       SeriesResolver resolver, TwinOptions options = {});
  ~TwinStore();

  // Re-reads the asset model (call after every model change).
  core::Status Rebuild();

  // Updates reported values from samples of known series; others are counted and ignored.
  void OnSamples(const core::SampleBatch& batch);
  // Seeds one reported value by series key (boot: latest values from storage). False when
  // no tag has that series key.
  bool SeedReported(std::string_view series_key, const core::Sample& sample);

  core::Result<TwinSnapshot> Get(int64_t asset_id) const;
  core::Result<TwinSnapshot> SetDesired(std::string_view actor, int64_t asset_id,
                                        const std::map<std::string, core::Value>& values);
  // Clears the named desired values (all when `tags` is empty).
  core::Result<TwinSnapshot> ClearDesired(std::string_view actor, int64_t asset_id,
                                          const std::vector<std::string>& tags);
  // Sets the quality of the reported values of the named tags (all when empty), keeping
  // value and timestamp (e.g. Sparkplug death: BadNoCommunication).
  core::Status MarkStale(int64_t asset_id, const std::vector<std::string>& tags, core::Quality quality);

  void SetListener(Listener listener);
  uint64_t unmatched_samples() const { return unmatched_.load(std::memory_order_relaxed); }

 private:
  struct TagSlot;
  struct Twin;
  struct SlotRef {
    Twin* twin;
    size_t index;
  };

  TwinStore(meta::Db* db, AssetStore* assets, core::Clock* clock, SeriesResolver resolver, TwinOptions options);
  core::Status LoadVersionMark();
  uint64_t NextVersion();
  core::Status LoadDesired();
  // Resolves unresolved tags again; returns true when the map changed.
  bool ResolvePending();  // REQUIRES: structure_mu_ held exclusively
  void Notify(const ModelEvent& event);

  meta::Db* db_;
  AssetStore* assets_;
  core::Clock* clock_;
  SeriesResolver resolver_;
  TwinOptions options_;

  std::atomic<uint64_t> next_version_{0};
  std::atomic<uint64_t> version_limit_{0};
  std::mutex version_mu_;  // serializes reserving the next block

  mutable std::shared_mutex structure_mu_;
  std::map<int64_t, std::unique_ptr<Twin>> twins_;                 // GUARDED_BY(structure_mu_)
  std::unordered_map<uint64_t, SlotRef> by_series_;                // GUARDED_BY(structure_mu_)
  std::unordered_map<std::string, SlotRef> by_series_key_;         // GUARDED_BY(structure_mu_)
  std::vector<SlotRef> pending_;                                   // unresolved tags
  std::unordered_set<uint64_t> foreign_;  // SeriesIds known to belong to no tag

  std::mutex write_mu_;  // serializes desired-state writers
  std::mutex listener_mu_;
  Listener listener_;
  std::atomic<uint64_t> unmatched_{0};
};

}  // namespace shopfloor::model
