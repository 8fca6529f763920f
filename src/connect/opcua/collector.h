// Collector: feeds one OPC UA source's bound tags into ingest::Writer through a
// subscription, and keeps doing so across connection losses.
//
// Start() runs one thread that connects, creates a subscription with one monitored item
// per tag (absolute deadband from the tag when set), and publishes in a loop: each
// DataChangeNotification becomes a sample (source timestamp, else server timestamp, else
// the Clock's Now(); the StatusCode becomes the Quality bit for bit) and each Publish
// response one SampleBatch written through the Writer. A tag the server refuses (e.g.
// BadNodeIdUnknown) gets one sample with that code per session, so the reason is stored.
//
// Connection loss: the collector first tries to resume the session it had, so that no data
// is lost: a new SecureChannel with ActivateSession for the existing session; if the server
// no longer knows the session, a new session and TransferSubscriptions (initial values
// sent). Either way the NotificationMessages sent while it was away are fetched with
// Republish (Client::Publish reports them as missing_sequence_numbers). Attempts repeat with
// exponential backoff (initial_backoff doubling up to max_backoff) while the subscription
// can still be alive on the server (its revised lifetime since the loss).
// A gap - one sample per tag at the loss time with quality BadNoCommunication, never a
// value carried forward as good - is written only when data was actually lost: when the
// subscription could not be resumed (the server lost it, e.g. after a restart; the transfer
// failed; or its lifetime passed), and then the subscription is re-created; or when a
// resumed subscription reports messages that are neither received nor available for
// Republish (lost_messages, or Republish answers BadMessageNotAvailable). Stopping while a
// resume is pending also records the gap. And so that a live view does not show a dead
// link's last values as current for the whole lifetime, the gap is also written once the
// outage has lasted gap_grace without a resume; if the session is resumed later and nothing
// was lost, the recovered values follow the gap sample (communication was lost then; the
// data was not). A loss is recorded once, not once per attempt.
//
// Re-stamping: after a re-create (or a transfer with initial values) the server delivers
// every item's current value again, with the source timestamp it had before the loss.
// Stored as is, that sample would land before the gap sample and Latest() would stay
// BadNoCommunication until the value changed. So a value whose timestamp is not after the recorded gap is stored at the
// server timestamp when that is after the gap, else at the time it was received: "this
// value was current when we reconnected". Only that first value per item is considered;
// data recovered by reactivation or Republish keeps its own timestamps, even when they
// fall before the gap sample. History before the gap is never rewritten.
//
// Threading: the public methods are thread-safe. Stop() returns once the thread has ended:
// at once when it is waiting between attempts, otherwise after the Publish or connect in
// progress (at most the keep-alive period, publishing_interval_ms * max_keep_alive_count,
// or the client timeout). The Writer, Clock and storage must outlive the Collector.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "connect/opcua/client.h"
#include "core/core.h"
#include "model/plant_config.h"

namespace shopfloor::ingest {
class Writer;
}

namespace shopfloor::connect::opcua {

// One bound tag: the series it feeds and the NodeId (text form) it reads.
struct CollectorTag {
  std::string series_key;
  std::string node_id;
  core::ValueType type = core::ValueType::kDouble;
  double deadband = 0;  // absolute, in the tag's unit; 0 = every change
};

struct CollectorOptions {
  ClientOptions client;  // endpoint_url and clock are taken from the source and Create()
  double publishing_interval_ms = 1000;
  double sampling_interval_ms = -1;  // -1: the publishing interval
  uint32_t max_keep_alive_count = 5;
  uint32_t queue_size = 10;
  // Publishing intervals without a Publish before the server drops the subscription; also
  // how long after a loss the collector tries to resume it. 0: max(3 * keep-alive, 30).
  uint32_t lifetime_count = 0;
  core::Duration initial_backoff = 500 * core::kMillisecond;
  core::Duration max_backoff = 30 * core::kSecond;
  // How long an outage may last before the gap is written even though the session might
  // still be resumed (see the header comment): a blip shorter than this leaves no gap.
  core::Duration gap_grace = 3 * core::kSecond;
};

struct CollectorStats {
  uint64_t connects = 0;           // sessions that got as far as a subscription
  uint64_t connection_losses = 0;  // each recorded as a gap
  uint64_t failed_attempts = 0;    // connects or subscriptions that failed
  uint64_t samples_written = 0;    // including gap and refused-tag samples
  uint64_t write_failures = 0;     // batches the Writer refused
  // Recovery without data loss (see the header comment). Losses that were resumed are
  // connection_losses - gaps_recorded.
  uint64_t reactivations = 0;         // sessions activated again on a new channel
  uint64_t transfers = 0;             // subscriptions transferred to a new session
  uint64_t republished_messages = 0;  // NotificationMessages fetched with Republish
  uint64_t gaps_recorded = 0;         // losses where data was lost (BadNoCommunication written)
  uint64_t restamped = 0;          // re-delivered values stamped after the gap (see Restamp)
  std::string last_error;          // the latest failure, empty if none
  core::Timestamp last_error_at = 0;  // Clock::Now() of last_error; 0 if none
};

class Collector {
 public:
  // Checks the source is OPC UA, parses every NodeId and resolves every series once with
  // GetOrCreateSeries. "host:port" endpoints get the opc.tcp:// scheme.
  static core::Result<std::unique_ptr<Collector>> Create(const model::SourceConfig& source,
                                                         std::vector<CollectorTag> tags, ingest::Writer* writer,
                                                         core::Clock* clock, CollectorOptions options = {});
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  void Start();
  void Stop();
  CollectorStats stats() const;
  // True while a subscription is delivering.
  bool connected() const { return connected_.load(std::memory_order_acquire); }

 private:
  struct Bound {
    CollectorTag tag;
    NodeId node;
    core::SeriesId series{};
  };
  Collector(std::vector<Bound> tags, ingest::Writer* writer, core::Clock* clock, CollectorOptions options);
  // What survives a connection loss while the collector tries to resume it.
  struct Live {
    std::unique_ptr<Client> client;
    SubscriptionInfo subscription;
    bool recovering = false;        // lost; not yet resumed nor given up
    core::Timestamp lost_at{};      // Clock::Now() at the loss: the gap's timestamp
    int64_t lost_steady = 0;        // Clock::Steady() at the loss; 0 once resumed and delivering
    bool gap_written = false;       // this loss's gap is in storage
  };
  void Run();
  // One session: returns why it ended. *delivered is set once the subscription is up.
  core::Status RunSession(Live* live, bool* delivered);
  // Resumes live->client's session and subscription (reactivate, or new session +
  // transfer). kNotFound when the subscription is gone for good.
  core::Status Resume(Live* live);
  // The publish loop; returns why it ended.
  core::Status Deliver(Live* live);
  // `may_restamp`: false for republished messages (recovered data, never re-stamped).
  void WritePublished(const PublishResult& published, bool may_restamp);
  void RecordGap(core::Timestamp at);
  // Records the gap of the loss in *live unless it already is.
  void GapOnce(Live* live);
  void Count(uint64_t CollectorStats::*field, uint64_t n = 1);
  void Write(const core::SampleBatch& batch);
  // Waits up to d (Clock time, in slices so that Stop() is noticed within 20 ms); false
  // when stopping.
  bool WaitFor(core::Duration d);
  bool stopping() const { return stop_.load(std::memory_order_acquire); }

  const std::vector<Bound> tags_;
  ingest::Writer* const writer_;
  core::Clock* const clock_;
  const CollectorOptions options_;
  core::Timestamp gap_at_ = 0;  // the latest recorded gap; touched by the run thread only
  // Per tag: no value received yet from the current subscription (new or transferred), so
  // the next one is its initial value. Run thread only.
  std::vector<bool> fresh_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  CollectorStats stats_;  // GUARDED_BY(mu_)
};

// Maps one DataValue to a sample of `type`: the timestamp as described above, the
// StatusCode as the Quality bit for bit. A value that does not fit `type` (or a Good value
// that is missing) is stored as the type's zero value with BadTypeMismatch; a Bad value
// without a value is the zero value with the server's code.
core::Sample SampleFromDataValue(const DataValue& value, core::ValueType type, core::Timestamp now);

}  // namespace shopfloor::connect::opcua
