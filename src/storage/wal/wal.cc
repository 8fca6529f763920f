#include "storage/wal/wal.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include <fmt/format.h>

#include "core/metrics.h"

namespace shopfloor::storage {

using core::Status;
using Mode = DurabilityPolicy::Mode;

namespace {

// A leader writes at most this many payload bytes for its followers (its own payload may
// be larger), bounding the latency a small append pays for a big group.
constexpr size_t kMaxGroupBytes = 1u << 20;
// The sync thread re-reads the Clock at least this often, so a simulated clock that is
// advanced by a test is noticed promptly. With the system clock it sleeps to the deadline.
constexpr int64_t kSyncPollSlice = 10 * core::kMillisecond;
// A scratch buffer grown by a huge payload is released rather than kept.
constexpr size_t kMaxRetainedScratch = 4 * kMaxGroupBytes;

Status ClosedStatus() { return Status::Aborted("WAL is closed"); }

}  // namespace

struct Wal::Request {
  enum class Kind { kAppend, kExclusive };
  explicit Request(Kind k, std::string_view p = {}) : kind(k), payload(p) {}

  const Kind kind;
  const std::string_view payload;
  Status status;
  uint64_t segment = 0;
  bool done = false;  // set by a leader that handled this append
  std::condition_variable cv;
};

Wal::Wal(const WalOptions& options) : options_(options) {}

Wal::~Wal() { Close().IgnoreError(); }

core::Result<std::unique_ptr<Wal>> Wal::Open(const WalOptions& options) {
  if (options.env == nullptr || options.clock == nullptr) {
    return Status::InvalidArgument("WalOptions: env and clock are required");
  }
  if (options.dir.empty()) return Status::InvalidArgument("WalOptions: dir is empty");
  if (options.segment_bytes == 0) return Status::InvalidArgument("WalOptions: segment_bytes must be > 0");
  if (options.durability.mode == Mode::kInterval && options.durability.interval <= 0) {
    return Status::InvalidArgument(
        fmt::format("WalOptions: sync interval must be > 0 ns, got {}", options.durability.interval));
  }
  Status s = options.env->CreateDirs(options.dir);
  if (!s.ok()) return s.WithPrefix("creating WAL directory " + options.dir);
  SF_ASSIGN_OR_RETURN(std::vector<uint64_t> segments, ListWalSegments(options.env, options.dir));
  const uint64_t next = segments.empty() ? 1 : segments.back() + 1;

  std::unique_ptr<Wal> wal(new Wal(options));
  SF_RETURN_IF_ERROR(wal->OpenSegment(next));
  if (options.durability.mode == Mode::kInterval) {
    // The first deadline is taken now, not when the thread gets to run.
    const int64_t first_deadline = options.clock->Steady() + options.durability.interval;
    wal->sync_thread_ = std::thread([raw = wal.get(), first_deadline] { raw->SyncLoop(first_deadline); });
  }
  return wal;
}

Status Wal::OpenSegment(uint64_t number) {
  std::string path = core::JoinPath(options_.dir, wal_format::SegmentFileName(number));
  auto file = options_.env->NewWritableFile(path);
  if (!file.ok()) return file.status().WithPrefix("creating WAL segment " + path);
  // The new file's directory entry must survive a power loss before anything in it counts.
  Status s = options_.env->SyncDir(options_.dir);
  if (!s.ok()) return s.WithPrefix("syncing WAL directory " + options_.dir);
  file_ = std::move(file).value();
  file_path_ = std::move(path);
  segment_size_ = 0;
  good_size_ = 0;
  encoder_ = wal_format::RecordEncoder(0);
  current_segment_.store(number, std::memory_order_release);
  return Status::OK();
}

Status Wal::SyncSegment() {
  const int64_t start = options_.fsync_seconds ? options_.clock->Steady() : 0;
  Status s = file_->Sync();
  if (options_.fsync_seconds) {
    options_.fsync_seconds->Observe(static_cast<double>(options_.clock->Steady() - start) / core::kSecond);
  }
  if (!s.ok()) return s.WithPrefix("syncing WAL segment " + file_path_);
  syncs_.fetch_add(1, std::memory_order_relaxed);
  return s;
}

Status Wal::CloseSegment() {
  if (!file_) return Status::OK();
  Status s = SyncSegment();
  Status c = file_->Close();
  file_.reset();
  if (!s.ok()) return s;
  if (!c.ok()) return c.WithPrefix("closing WAL segment " + file_path_);
  return Status::OK();
}

void Wal::SetError(const Status& s) {
  if (error_.ok()) error_ = s;
}

core::Result<uint64_t> Wal::Append(std::string_view payload) {
  if (payload.size() > wal_format::kMaxPayloadBytes) {
    return Status::InvalidArgument(fmt::format("WAL payload of {} bytes exceeds the limit of {}",
                                               payload.size(), wal_format::kMaxPayloadBytes));
  }
  Request self(Request::Kind::kAppend, payload);
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(&self);
  while (!self.done && queue_.front() != &self) self.cv.wait(lock);
  if (self.done) {
    if (!self.status.ok()) return self.status;
    return self.segment;
  }

  // This request leads: it writes its own payload and those of the appends queued behind.
  std::vector<Request*> group;
  Status s = closed_ ? ClosedStatus() : error_;
  if (!s.ok() && !closed_ && error_recoverable_) {
    // The disk was full. Try again: if space has come back, writing continues without a
    // restart; if not, the append fails with the same clear kNoSpace.
    lock.unlock();
    Status recovered = RecoverFromNoSpace();
    lock.lock();
    if (recovered.ok()) {
      error_ = Status::OK();
      error_recoverable_ = false;
      s = Status::OK();
    }
  }
  uint64_t segment = 0;
  if (s.ok()) {
    size_t group_bytes = 0;
    for (Request* request : queue_) {
      if (request->kind != Request::Kind::kAppend) break;
      if (!group.empty() && group_bytes + request->payload.size() > kMaxGroupBytes) break;
      group.push_back(request);
      group_bytes += request->payload.size();
    }
    lock.unlock();
    bool recoverable = false;
    s = WriteGroup(group, &segment, &recoverable);
    lock.lock();
    if (s.ok()) {
      dirty_ = dirty_ || options_.durability.mode != Mode::kAlways;
    } else {
      SetError(s);
      error_recoverable_ = recoverable;
    }
  } else {
    group.push_back(&self);
  }

  // The group is a prefix of queue_.
  for (Request* request : group) {
    queue_.pop_front();
    request->status = s;
    request->segment = segment;
    request->done = true;
    if (request != &self) request->cv.notify_one();
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();
  if (!s.ok()) return s;
  return segment;
}

Status Wal::WriteGroup(const std::vector<Request*>& group, uint64_t* segment, bool* recoverable) {
  // A full disk while writing (not while syncing: a failed fsync may have lost data that was
  // already acknowledged) leaves whole records behind good_size_, so it can be recovered.
  auto write_failed = [&](const Status& s) {
    *recoverable = s.IsNoSpace();
    return s;
  };
  if (segment_size_ >= options_.segment_bytes) {
    const uint64_t next = current_segment() + 1;
    SF_RETURN_IF_ERROR(CloseSegment());
    Status opened = OpenSegment(next);
    if (!opened.ok()) return write_failed(opened);
  }
  scratch_.clear();
  for (const Request* request : group) encoder_.Add(request->payload, &scratch_);
  Status s = file_->Append(scratch_);
  if (!s.ok()) return write_failed(s.WithPrefix("appending to WAL segment " + file_path_));
  segment_size_ += scratch_.size();
  bytes_written_.fetch_add(scratch_.size(), std::memory_order_relaxed);
  if (scratch_.capacity() > kMaxRetainedScratch) std::string().swap(scratch_);

  switch (options_.durability.mode) {
    case Mode::kAlways:
      SF_RETURN_IF_ERROR(SyncSegment());
      break;
    case Mode::kInterval:
      s = file_->Flush();
      if (!s.ok()) return write_failed(s.WithPrefix("flushing WAL segment " + file_path_));
      break;
    case Mode::kNone:
      break;
  }
  good_size_ = segment_size_;
  *segment = current_segment();
  return Status::OK();
}

Status Wal::RecoverFromNoSpace() {
  // The failed write may have left part of a group at the end of the segment. Cut it back
  // to the last whole record, make the cut durable, and continue in a new segment, so the
  // cut one is never appended to again and replays cleanly.
  file_.reset();  // the writer dropped its buffer when the write failed
  // Nothing good in this segment (e.g. a retry while the disk is still full): start it again
  // rather than leaving an empty segment behind for every retry.
  if (good_size_ == 0) return OpenSegment(current_segment());
  SF_ASSIGN_OR_RETURN(uint64_t size, options_.env->GetFileSize(file_path_));
  if (size > good_size_) {
    SF_RETURN_IF_ERROR(options_.env->TruncateFile(file_path_, good_size_));
    SF_ASSIGN_OR_RETURN(auto cut, options_.env->NewAppendableFile(file_path_));
    SF_RETURN_IF_ERROR(cut->Sync());
    SF_RETURN_IF_ERROR(cut->Close());
  }
  return OpenSegment(current_segment() + 1);
}

Status Wal::RunExclusive(ExclusiveKind kind, const std::function<Status()>& fn) {
  Request self(Request::Kind::kExclusive);
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(&self);
  while (queue_.front() != &self) self.cv.wait(lock);

  Status s;
  if (kind == ExclusiveKind::kWrite && closed_) {
    s = ClosedStatus();
  } else if (kind == ExclusiveKind::kWrite && !error_.ok()) {
    s = error_;
  } else {
    lock.unlock();
    s = fn();
    lock.lock();
    if (!s.ok()) SetError(s);
  }
  if (kind == ExclusiveKind::kClose) closed_ = true;
  queue_.pop_front();
  if (!queue_.empty()) queue_.front()->cv.notify_one();
  return s;
}

core::Result<uint64_t> Wal::Rotate() {
  uint64_t number = 0;
  SF_RETURN_IF_ERROR(RunExclusive(ExclusiveKind::kWrite, [&]() -> Status {
    const uint64_t next = current_segment() + 1;
    SF_RETURN_IF_ERROR(CloseSegment());
    SF_RETURN_IF_ERROR(OpenSegment(next));
    number = next;
    return Status::OK();
  }));
  return number;
}

Status Wal::Sync() {
  return RunExclusive(ExclusiveKind::kWrite, [&]() -> Status {
    {
      std::lock_guard<std::mutex> guard(mu_);
      dirty_ = false;  // nothing can be written while this request owns the file
    }
    return SyncSegment();
  });
}

Status Wal::Close() {
  {
    std::lock_guard<std::mutex> guard(mu_);
    if (closing_) return Status::OK();
    closing_ = true;
    stopping_ = true;
  }
  sync_cv_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();

  Status error_before;
  {
    std::lock_guard<std::mutex> guard(mu_);
    error_before = error_;
  }
  Status s = RunExclusive(ExclusiveKind::kClose, [&]() -> Status {
    if (!error_before.ok()) {
      file_.reset();  // nothing after the failure may be made to look durable
      return error_before;
    }
    return CloseSegment();
  });
  return s;
}

Status Wal::RemoveSegmentsBefore(uint64_t segment) {
  const uint64_t current = current_segment();
  if (segment > current) {
    return Status::InvalidArgument(
        fmt::format("cannot remove WAL segments before {}: segment {} is still being written", segment, current));
  }
  SF_ASSIGN_OR_RETURN(std::vector<uint64_t> segments, ListWalSegments(options_.env, options_.dir));
  bool removed = false;
  for (uint64_t number : segments) {
    if (number >= segment) break;
    std::string path = core::JoinPath(options_.dir, wal_format::SegmentFileName(number));
    Status s = options_.env->RemoveFile(path);
    if (!s.ok() && !s.IsNotFound()) return s.WithPrefix("removing WAL segment " + path);
    removed = true;
  }
  if (!removed) return Status::OK();
  Status s = options_.env->SyncDir(options_.dir);
  if (!s.ok()) return s.WithPrefix("syncing WAL directory " + options_.dir);
  return s;
}

void Wal::SyncLoop(int64_t first_deadline) {
  const int64_t interval = options_.durability.interval;
  core::Clock* clock = options_.clock;
  std::unique_lock<std::mutex> lock(mu_);
  int64_t deadline = first_deadline;
  while (!stopping_) {
    const int64_t now = clock->Steady();
    if (now < deadline) {
      sync_cv_.wait_for(lock, std::chrono::nanoseconds(std::min(deadline - now, kSyncPollSlice)));
      continue;
    }
    deadline = now + interval;
    if (!dirty_ || !error_.ok()) continue;
    lock.unlock();
    // A failure becomes the sticky error that the next Append reports.
    Sync().IgnoreError();
    lock.lock();
  }
}

core::Result<std::vector<uint64_t>> ListWalSegments(core::Env* env, const std::string& dir) {
  auto children = env->GetChildren(dir);
  if (!children.ok()) {
    if (children.status().IsNotFound()) return std::vector<uint64_t>{};
    return children.status().WithPrefix("listing WAL directory " + dir);
  }
  std::vector<uint64_t> segments;
  for (const std::string& name : *children) {
    uint64_t number = 0;
    if (wal_format::ParseSegmentFileName(name, &number)) segments.push_back(number);
  }
  std::sort(segments.begin(), segments.end());
  return segments;
}

}  // namespace shopfloor::storage
