// The storage engine's write-ahead log.
//
// The WAL stores opaque payloads (the engine encodes series creations and sample batches
// into them) in numbered segment files "<dir>/<16-digit number>.wal". The byte layout and
// the recovery rules are specified in docs/format/wal.md.
//
// Lifecycle: the engine calls ReplayWal() first (which also cuts a torn tail off the last
// segment), then Wal::Open(), which always starts a new segment after the existing ones,
// so a segment is never appended to by two processes. After a checkpoint the engine calls
// Rotate() and later RemoveSegmentsBefore() with the number Rotate() returned.
// Only one Wal may be open on a directory at a time; the engine's directory lock ensures it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/env.h"
#include "core/status.h"
#include "storage/storage.h"
#include "storage/wal/wal_format.h"

namespace shopfloor::storage {

struct WalOptions {
  core::Env* env = nullptr;      // required
  core::Clock* clock = nullptr;  // required (drives the kInterval sync thread)
  std::string dir;               // created if missing
  DurabilityPolicy durability;
  // A segment is rotated before a write once it holds at least this many bytes.
  uint64_t segment_bytes = 64 << 20;
  // Observes each segment fsync's duration in seconds (by clock->Steady()); may be null.
  core::Histogram* fsync_seconds = nullptr;
};

class Wal {
 public:
  // Creates dir if needed and starts a NEW segment numbered after the existing ones.
  static core::Result<std::unique_ptr<Wal>> Open(const WalOptions& options);

  // Closes (see Close()); errors are dropped, so call Close() to see them.
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Appends one payload (at most wal_format::kMaxPayloadBytes). Thread-safe. Returns the
  // number of the segment the payload landed in, once it is durable under the policy:
  //  kAlways:   after an fsync covering it. Concurrent appenders queue; the one at the
  //             front writes everyone's payloads and fsyncs once (group commit).
  //  kInterval: handed to the OS; a background thread fsyncs every interval.
  //  kNone:     in the segment file's user-space buffer.
  // After any write or fsync failure the Wal is in an error state and every later call
  // fails with that first error (an fsync failure may have lost data the OS held, so
  // nothing after it may be acknowledged). The one exception is a full disk while writing
  // (kNoSpace from a write, not from an fsync): payloads acknowledged before it remain
  // replayable, and the next Append cuts the partial group off the segment and continues in
  // a new one once space is back (Rotate and Sync keep failing until an Append succeeds).
  // Aborted after Close().
  core::Result<uint64_t> Append(std::string_view payload);

  // Syncs and closes the current segment and starts the next; returns the new number.
  core::Result<uint64_t> Rotate();
  // Deletes segments numbered below `segment` (which must not exceed the current one).
  core::Status RemoveSegmentsBefore(uint64_t segment);
  // Makes everything appended so far durable.
  core::Status Sync();
  // Stops the sync thread, syncs and closes the segment. Idempotent. Later calls fail.
  core::Status Close();

  uint64_t current_segment() const { return current_segment_.load(std::memory_order_acquire); }
  // Bytes written to segment files (headers and padding included) and fsyncs done.
  uint64_t bytes_written() const { return bytes_written_.load(std::memory_order_relaxed); }
  uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }

 private:
  // One queued request. The request at the front of queue_ owns the segment file.
  struct Request;

  explicit Wal(const WalOptions& options);

  core::Status OpenSegment(uint64_t number);  // requires: file ownership
  core::Status CloseSegment();                // requires: file ownership
  core::Status SyncSegment();                 // requires: file ownership
  // *recoverable is set when the failure is a full disk while writing (see RecoverFromNoSpace).
  core::Status WriteGroup(const std::vector<Request*>& group, uint64_t* segment, bool* recoverable);
  // After a kNoSpace write failure: cuts the segment back to good_size_ and opens the next
  // segment. Fails (still kNoSpace, typically) while the disk is full.
  core::Status RecoverFromNoSpace();
  // How RunExclusive treats the Wal's state.
  enum class ExclusiveKind {
    kWrite,  // refused when closed or failed; a failure of fn becomes the sticky error
    kClose,  // always runs; marks the Wal closed before the next request runs
  };
  // Runs fn while owning the file (at the front of the queue, mu_ released).
  core::Status RunExclusive(ExclusiveKind kind, const std::function<core::Status()>& fn);
  void SyncLoop(int64_t first_deadline);  // Steady() time of the first sync
  void SetError(const core::Status& s);  // requires: mu_ held

  const WalOptions options_;

  std::mutex mu_;
  std::deque<Request*> queue_;   // guarded by mu_
  core::Status error_;           // guarded by mu_: the first write/sync failure
  bool error_recoverable_ = false;  // guarded by mu_: error_ is a full disk while writing
  bool closed_ = false;          // guarded by mu_
  bool closing_ = false;         // guarded by mu_: Close() has started
  bool stopping_ = false;        // guarded by mu_
  bool dirty_ = false;           // guarded by mu_: written since the last sync
  std::condition_variable sync_cv_;  // wakes the sync thread on Close
  std::thread sync_thread_;

  // Owned by whichever request is at the front of queue_.
  std::unique_ptr<core::WritableFile> file_;
  std::string file_path_;
  uint64_t segment_size_ = 0;
  uint64_t good_size_ = 0;  // bytes of whole, successfully written groups in the segment
  wal_format::RecordEncoder encoder_;
  std::string scratch_;

  std::atomic<uint64_t> current_segment_{0};
  std::atomic<uint64_t> bytes_written_{0};
  std::atomic<uint64_t> syncs_{0};
};

struct WalReplayReport {
  uint64_t segments = 0;
  uint64_t records = 0;
  uint64_t truncated_bytes = 0;
  // Each is a Status::Corruption naming the segment file and byte offset.
  std::vector<core::Status> corruptions;
};

// Replays every segment in dir in order, calling fn(segment, payload) per payload.
// A torn or partial record at the END of the LAST segment (damage with no good record
// after it) is cut away: the file is truncated to the last good record and the bytes
// removed are counted in truncated_bytes. Damage anywhere else is reported in
// report->corruptions and replay resumes at the next good record (at the latest, the
// next block). A gap in the segment numbers is reported too. fn returning non-OK stops
// replay with that status; I/O errors stop it too. A missing dir replays nothing.
core::Status ReplayWal(core::Env* env, const std::string& dir,
                       const std::function<core::Status(uint64_t segment, std::string_view payload)>& fn,
                       WalReplayReport* report);

// Segment numbers present in dir, ascending.
core::Result<std::vector<uint64_t>> ListWalSegments(core::Env* env, const std::string& dir);

}  // namespace shopfloor::storage
