// Collector: polls one Modbus TCP source's bound tags into ingest::Writer, and writes
// setpoints through the same connection (docs/modbus.md).
//
// Polling. Start() runs one thread per source (device), with one Link (link.h: libmodbus,
// the source's unit id and timeout). The tags are planned into poll groups and read requests
// (plan.h). Each group is due every interval on the Clock's steady time; a group that falls
// behind skips the polls it missed (counted as overruns) rather than bursting. Every sample
// of one poll is stamped with the poll's Clock::Now() and the poll is one SampleBatch, handed
// in poll order to a writer thread (so a slow storage write never delays a poll; at most 16
// batches wait, then the polls wait: back-pressure). Values
// are decoded with address.h Decode (the source's word_order; byte_order little swaps bytes
// as bytes=little does). A tag with a deadband (> 0, numeric) is stored only when it moved
// more than the deadband from the last stored value, its quality changed, or
// deadband_heartbeat passed since it was last stored; other tags are stored every poll.
//
// Failures. A request that fails is tried again up to the source's `retries` times, waiting
// retry_backoff, doubling, between attempts (a working connection found closed, as devices
// close idle ones, is re-opened and asked again at once without spending a retry). Then:
//  - no answer (timeout): its tags get one sample BadCommunicationError (value zero);
//  - the connection is gone (refused, reset, closed) and cannot be re-opened: a connection
//    loss: every tag of the source gets one sample BadNoCommunication at the poll's time, and
//    the thread reconnects with exponential backoff (the source's backoff doubling up to
//    max_backoff), polling nothing meanwhile;
//  - an exception response (a definite answer, never retried): its tags get one sample with
//    the exception's quality (link.h ExceptionQuality). An IllegalDataAddress for a merged
//    request splits it into one request per tag for the collector's lifetime, so that one
//    bad address does not take its neighbours down;
//  - a value that does not fit its tag (decode error): one sample BadTypeMismatch.
// Each of these is written once per outage (not once per poll), and the last good value is
// never stored again as if fresh; the next good read is stored at once. A late reply is never
// matched to a newer request (link.h).
//
// Writes (setpoints). Write() hands the write to the collector's thread, which runs it
// between requests, so writes and polls on one device are serialized on one connection. It
// reads the current value (the audit's "previous"), writes (a coil FC 5; one register FC 6;
// several FC 16; a register bit: read-modify-write FC 3 + FC 6), and reads back. Outcomes:
// kOk; kFailed when nothing was sent (not connected, value does not fit, reading the current
// value failed), refused (exception) or read back different; kUnknown when the write was sent
// and no answer came (timeout, connection lost) or the read-back got none: the device may or
// may not have applied it. A write is never retried once sent.
//
// Threading: the public methods are thread-safe. Write() blocks until the write is done or
// the collector stops. The Writer, Clock and storage must outlive the Collector.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "connect/modbus/address.h"
#include "connect/modbus/plan.h"
#include "core/core.h"
#include "model/plant_config.h"

namespace shopfloor::ingest {
class Writer;
}

namespace shopfloor::connect::modbus {

class Link;

// One bound tag: the series it feeds and its binding address (address.h grammar).
struct CollectorTag {
  std::string series_key;
  std::string address;
  core::ValueType type = core::ValueType::kDouble;
  double deadband = 0;  // absolute, in the tag's unit; 0 = every poll is stored
};

struct CollectorOptions {
  core::Duration max_backoff = 30 * core::kSecond;
  core::Duration retry_backoff = 50 * core::kMillisecond;  // before the first retry of a request
  core::Duration deadband_heartbeat = 60 * core::kSecond;
};

struct CollectorStats {
  uint64_t connects = 0;           // connections opened (including after a timeout)
  uint64_t connection_losses = 0;  // outages recorded as a gap (BadNoCommunication)
  uint64_t failed_attempts = 0;    // connects that failed
  uint64_t polls = 0;              // poll group cycles completed
  uint64_t overruns = 0;           // polls skipped because the previous one ran late
  uint64_t requests = 0;           // read requests sent, retries included
  uint64_t registers_read = 0;     // registers and bits received
  uint64_t retries = 0;            // attempts after the first
  uint64_t timeouts = 0;           // requests without an answer in time
  uint64_t exceptions = 0;         // exception responses
  uint64_t failed_requests = 0;    // requests given up after every attempt
  uint64_t samples_written = 0;    // including bad-quality samples
  uint64_t write_failures = 0;     // batches the Writer refused
  uint64_t setpoints_ok = 0, setpoints_failed = 0, setpoints_unknown = 0;
  std::string last_error;             // the latest failure, empty if none
  core::Timestamp last_error_at = 0;  // Clock::Now() of last_error
};

struct WriteOutcome {
  enum Result { kOk, kFailed, kUnknown };
  Result result = kFailed;
  std::string error;                    // empty when kOk
  std::optional<core::Value> previous;  // the device's value before the write, when read
};

class Collector {
 public:
  // Checks the source is Modbus, parses every address (and CheckBinding against the tag's
  // type) and resolves every series once with GetOrCreateSeries. InvalidArgument naming the
  // tag for the first bad one; at least one tag is needed.
  static core::Result<std::unique_ptr<Collector>> Create(const model::SourceConfig& source,
                                                         std::vector<CollectorTag> tags, ingest::Writer* writer,
                                                         core::Clock* clock, CollectorOptions options = {});
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  void Start();
  void Stop();
  CollectorStats stats() const;
  // True while the connection is open and the latest request on it was answered.
  bool connected() const { return connected_.load(std::memory_order_acquire); }
  // The poll groups as planned, and as split since (for tests and the benchmark).
  std::vector<PollGroup> plan() const;

  // Writes `value` to `address` (co or hr; see the header comment), as a tag of `type`.
  WriteOutcome Write(const std::string& address, const core::Value& value, core::ValueType type);

 private:
  struct Bound {
    CollectorTag tag;
    Address address;
    core::SeriesId series{};
    // Run thread only: what was stored last.
    bool stored = false;
    core::Quality quality;
    core::Value value;
    core::Timestamp stored_at = 0;
  };
  struct WriteJob {
    Address address;
    core::Value value;
    core::ValueType type = core::ValueType::kDouble;
    WriteOutcome outcome;
    bool done = false;  // GUARDED_BY(mu_)
  };
  Collector(const model::SourceConfig& source, std::vector<Bound> tags, ingest::Writer* writer, core::Clock* clock,
            CollectorOptions options);

  void Run();
  // One poll of group `index`; false when the connection was lost.
  bool Poll(size_t index);
  // One request with its retries.
  core::Status Read(const ReadRequest& request, std::vector<uint16_t>* words, std::vector<uint8_t>* bits);
  core::Status Reconnect();
  void Decode(const ReadRequest& request, const std::vector<uint16_t>& words, const std::vector<uint8_t>& bits,
              core::Timestamp ts, core::SampleBatch* batch);
  // A bad sample for each tag not already in `quality`.
  void MarkBad(const std::vector<size_t>& tags, core::Quality quality, core::Timestamp ts, core::SampleBatch* batch);
  void Store(Bound* b, core::Timestamp ts, core::Value value, core::Quality quality, core::SampleBatch* batch);
  // Hands the batch to the writer thread (waiting while 16 are pending) and clears it.
  void Flush(core::SampleBatch* batch);
  void WriterLoop();
  // Waits until the Clock's steady time reaches `until`, running queued writes; false when
  // stopping.
  bool WaitUntil(int64_t until);
  void RunWrites();
  WriteOutcome ExecuteWrite(const WriteJob& job);  // write.cc
  void Error(const core::Status& s);
  void Count(uint64_t CollectorStats::*field, uint64_t n = 1);
  bool stopping() const { return stop_.load(std::memory_order_acquire); }

  const std::string name_;
  const std::string endpoint_;
  const model::SourceOptions source_options_;
  std::vector<Bound> tags_;  // run thread only after Start
  std::vector<PollGroup> groups_;  // written by the run thread only, under mu_ (a split)
  ingest::Writer* const writer_;
  core::Clock* const clock_;
  const CollectorOptions options_;
  std::unique_ptr<Link> link_;  // run thread only
  int64_t last_overrun_log_ = 0;  // Clock::Steady() of the last modbus.falling_behind; run thread only
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::atomic<bool> running_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable write_done_;
  std::condition_variable wake_;  // the run thread's waits: Stop() and Write() end them
  // Polled batches on their way to the Writer, in poll order, on a thread of their own so
  // that a storage write (an fsync under durability always) never delays the next poll.
  std::thread writer_thread_;
  std::deque<core::SampleBatch> pending_;  // GUARDED_BY(mu_)
  bool writer_stop_ = false;               // GUARDED_BY(mu_)
  std::condition_variable pending_cv_;
  std::deque<WriteJob*> writes_;  // GUARDED_BY(mu_)
  CollectorStats stats_;          // GUARDED_BY(mu_)
};

}  // namespace shopfloor::connect::modbus
