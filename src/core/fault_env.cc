// FaultEnv: fault injection and simulated power loss over any base Env.
//
// Invariants (all GUARDED_BY(State::mu); every operation holds mu across its base calls,
// so tracking and the base file system never disagree):
//  - tracks maps a normalized path to the synced size of the file now at that path. A
//    track belongs to the file, not the name: renames move it, writers hold it. A path
//    without a track is a file that existed before FaultEnv saw it and counts as durable.
//  - pending lists, oldest first, the directory-entry changes not yet made durable by a
//    SyncDir of `dir`; DropUnsyncedData undoes them newest first, which restores every
//    intermediate name before an older change is undone.
#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "core/env.h"

namespace shopfloor::core {

namespace {

struct FileTrack {
  uint64_t synced_size = 0;
};

struct PendingOp {
  enum class Kind { kCreate, kRenameFile, kRenameDir };
  Kind kind;
  std::string dir;   // the directory whose SyncDir makes this change durable
  std::string path;  // the created path, or the rename destination
  std::string src;   // rename source
  std::optional<std::string> replaced;  // file rename: durable content of the replaced dst
  bool replaced_dir = false;            // dir rename: dst was an (empty) directory
};

// A fault armed to fire on the nth future operation of its kind.
struct Countdown {
  uint64_t remaining = 0;  // 0: disarmed
  Status error;
  // Counts one operation; true when this is the one to fail (then disarms).
  bool Fires() {
    if (remaining == 0) return false;
    return --remaining == 0;
  }
};

// The whole of FaultEnv's state; FaultEnv::State (private in the header) is this type,
// named here so the file wrappers below can reach it.
struct FaultState {
  explicit FaultState(Env* base_env) : base(base_env) {}

  Env* const base;
  std::mutex mu;
  uint64_t writes = 0;
  uint64_t syncs = 0;
  uint64_t renames = 0;
  uint64_t mutations = 0;
  Countdown fail_write;
  Countdown fail_sync;
  Countdown fail_rename;
  bool no_space = false;
  uint64_t crash_countdown = 0;  // 0: disarmed
  bool crashed = false;
  uint64_t generation = 0;  // bumped by DropUnsyncedData; older write handles are dead
  std::map<std::string, std::shared_ptr<FileTrack>> tracks;
  std::vector<PendingOp> pending;

  // Counts one mutating operation; fails it if the process has "crashed". The operation
  // that reaches the crash point still succeeds: the crash happens right after it.
  Status BeginMutationLocked(const std::string& path) {
    ++mutations;
    if (crashed) return Status::IOError("simulated crash", path);
    if (crash_countdown > 0 && --crash_countdown == 0) crashed = true;
    return Status::OK();
  }

  // Moves the tracks of `from` and everything under it to `to`.
  void MoveTracksLocked(const std::string& from, const std::string& to) {
    std::map<std::string, std::shared_ptr<FileTrack>> moved;
    for (auto it = tracks.begin(); it != tracks.end();) {
      if (it->first == from || it->first.starts_with(from + "/")) {
        moved[to + it->first.substr(from.size())] = std::move(it->second);
        it = tracks.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [path, track] : moved) tracks[path] = std::move(track);
  }
};

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultState* state, std::string path, std::unique_ptr<WritableFile> base,
                    std::shared_ptr<FileTrack> track)
      : state_(state), path_(std::move(path)), base_(std::move(base)), track_(std::move(track)),
        generation_(state->generation) {}

  // Every append is flushed to the base at once: FaultEnv models loss of unsynced data
  // (power loss), and an empty base buffer means nothing reaches the base after a drop.
  Status Append(std::string_view data) override {
    std::lock_guard<std::mutex> lock(state_->mu);
    SF_RETURN_IF_ERROR(CheckAliveLocked());
    ++state_->writes;
    SF_RETURN_IF_ERROR(state_->BeginMutationLocked(path_));
    if (state_->fail_write.Fires()) return state_->fail_write.error;
    if (state_->no_space) return Status::NoSpace("simulated ENOSPC: no space left on device", path_);
    SF_RETURN_IF_ERROR(base_->Append(data));
    return base_->Flush();
  }

  Status Flush() override {
    std::lock_guard<std::mutex> lock(state_->mu);
    SF_RETURN_IF_ERROR(CheckAliveLocked());
    return base_->Flush();
  }

  Status Sync() override {
    std::lock_guard<std::mutex> lock(state_->mu);
    SF_RETURN_IF_ERROR(CheckAliveLocked());
    ++state_->syncs;
    SF_RETURN_IF_ERROR(state_->BeginMutationLocked(path_));
    if (state_->fail_sync.Fires()) return state_->fail_sync.error;
    SF_RETURN_IF_ERROR(base_->Sync());
    track_->synced_size = base_->Size();
    return Status::OK();
  }

  Status Close() override {
    std::lock_guard<std::mutex> lock(state_->mu);
    return base_->Close();
  }

  uint64_t Size() const override { return base_->Size(); }

 private:
  Status CheckAliveLocked() const {
    if (generation_ != state_->generation) {
      return Status::IOError("write handle opened before a simulated power loss", path_);
    }
    return Status::OK();
  }

  FaultState* const state_;
  const std::string path_;
  const std::unique_ptr<WritableFile> base_;
  const std::shared_ptr<FileTrack> track_;
  const uint64_t generation_;
};

// Writes `content` as the whole of `path` on `base`, durably.
Status RestoreFile(Env* base, const std::string& path, const std::string& content) {
  SF_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, base->NewWritableFile(path));
  SF_RETURN_IF_ERROR(file->Append(content));
  SF_RETURN_IF_ERROR(file->Sync());
  return file->Close();
}

}  // namespace

struct FaultEnv::State : FaultState {
  using FaultState::FaultState;
};

FaultEnv::FaultEnv(Env* base) : state_(std::make_unique<State>(base)) {}
FaultEnv::~FaultEnv() = default;

void FaultEnv::FailNthWrite(uint64_t n, Status error) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->fail_write = Countdown{n, std::move(error)};
}

void FaultEnv::FailNthSync(uint64_t n, Status error) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->fail_sync = Countdown{n, std::move(error)};
}

void FaultEnv::FailNthRename(uint64_t n, Status error) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->fail_rename = Countdown{n, std::move(error)};
}

void FaultEnv::SetNoSpace(bool no_space) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->no_space = no_space;
}

void FaultEnv::CrashAfterNthMutation(uint64_t n) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->crash_countdown = n;
}

bool FaultEnv::crashed() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->crashed;
}

void FaultEnv::ResetCounters() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->writes = state_->syncs = state_->renames = state_->mutations = 0;
}

void FaultEnv::ClearFaults() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->fail_write = {};
  state_->fail_sync = {};
  state_->fail_rename = {};
  state_->no_space = false;
  state_->crash_countdown = 0;
  state_->crashed = false;
}

uint64_t FaultEnv::write_count() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->writes;
}
uint64_t FaultEnv::sync_count() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->syncs;
}
uint64_t FaultEnv::rename_count() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->renames;
}
uint64_t FaultEnv::mutation_count() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->mutations;
}

Status FaultEnv::DropUnsyncedData() {
  std::lock_guard<std::mutex> lock(state_->mu);
  FaultState& st = *state_;
  Env* base = st.base;
  for (auto op = st.pending.rbegin(); op != st.pending.rend(); ++op) {
    switch (op->kind) {
      case PendingOp::Kind::kCreate:
        if (base->FileExists(op->path)) SF_RETURN_IF_ERROR(base->RemoveFile(op->path));
        st.tracks.erase(op->path);
        break;
      case PendingOp::Kind::kRenameFile: {
        // A destination removed since was removed durably: nothing left to move back.
        if (!base->FileExists(op->path)) break;
        // The source name reappears unless a newer file took it; the destination
        // reverts either way.
        if (!base->FileExists(op->src)) {
          SF_RETURN_IF_ERROR(base->RenameFile(op->path, op->src));
          st.MoveTracksLocked(op->path, op->src);
        } else {
          SF_RETURN_IF_ERROR(base->RemoveFile(op->path));
        }
        st.tracks.erase(op->path);
        if (op->replaced) {
          SF_RETURN_IF_ERROR(RestoreFile(base, op->path, *op->replaced));
          st.tracks[op->path] = std::make_shared<FileTrack>(FileTrack{op->replaced->size()});
        }
        break;
      }
      case PendingOp::Kind::kRenameDir:
        if (!base->FileExists(op->path) || base->FileExists(op->src)) break;
        SF_RETURN_IF_ERROR(base->RenameFile(op->path, op->src));
        st.MoveTracksLocked(op->path, op->src);
        if (op->replaced_dir) SF_RETURN_IF_ERROR(base->CreateDirs(op->path));
        break;
    }
  }
  st.pending.clear();
  for (const auto& [path, track] : st.tracks) {
    if (!base->FileExists(path)) continue;
    SF_ASSIGN_OR_RETURN(uint64_t size, base->GetFileSize(path));
    if (size > track->synced_size) SF_RETURN_IF_ERROR(base->TruncateFile(path, track->synced_size));
  }
  ++st.generation;
  return Status::OK();
}

Result<std::unique_ptr<WritableFile>> FaultEnv::NewWritableFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(state_->mu);
  SF_RETURN_IF_ERROR(state_->BeginMutationLocked(path));
  const std::string key = NormalizePath(path);
  const bool existed = state_->base->FileExists(path);
  SF_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, state_->base->NewWritableFile(path));
  auto track = std::make_shared<FileTrack>();  // truncated: nothing of it is synced
  state_->tracks[key] = track;
  if (!existed) state_->pending.push_back({PendingOp::Kind::kCreate, DirName(key), key, {}, {}, false});
  return std::unique_ptr<WritableFile>(new FaultWritableFile(state_.get(), path, std::move(file), track));
}

Result<std::unique_ptr<WritableFile>> FaultEnv::NewAppendableFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(state_->mu);
  SF_RETURN_IF_ERROR(state_->BeginMutationLocked(path));
  const std::string key = NormalizePath(path);
  const bool existed = state_->base->FileExists(path);
  SF_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, state_->base->NewAppendableFile(path));
  std::shared_ptr<FileTrack>& track = state_->tracks[key];
  // An untracked existing file predates FaultEnv and is durable as it stands.
  if (track == nullptr) track = std::make_shared<FileTrack>(FileTrack{existed ? file->Size() : 0});
  if (!existed) state_->pending.push_back({PendingOp::Kind::kCreate, DirName(key), key, {}, {}, false});
  return std::unique_ptr<WritableFile>(new FaultWritableFile(state_.get(), path, std::move(file), track));
}

Result<std::unique_ptr<RandomAccessFile>> FaultEnv::NewRandomAccessFile(const std::string& path) {
  return state_->base->NewRandomAccessFile(path);
}

Result<std::unique_ptr<SequentialFile>> FaultEnv::NewSequentialFile(const std::string& path) {
  return state_->base->NewSequentialFile(path);
}

bool FaultEnv::FileExists(const std::string& path) { return state_->base->FileExists(path); }

Result<std::vector<std::string>> FaultEnv::GetChildren(const std::string& dir) {
  return state_->base->GetChildren(dir);
}

Result<uint64_t> FaultEnv::GetFileSize(const std::string& path) { return state_->base->GetFileSize(path); }

Status FaultEnv::RemoveFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(state_->mu);
  SF_RETURN_IF_ERROR(state_->BeginMutationLocked(path));
  SF_RETURN_IF_ERROR(state_->base->RemoveFile(path));
  state_->tracks.erase(NormalizePath(path));
  return Status::OK();
}

Status FaultEnv::CreateDirs(const std::string& dir) {
  std::lock_guard<std::mutex> lock(state_->mu);
  SF_RETURN_IF_ERROR(state_->BeginMutationLocked(dir));
  return state_->base->CreateDirs(dir);
}

Status FaultEnv::RemoveDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(state_->mu);
  SF_RETURN_IF_ERROR(state_->BeginMutationLocked(dir));
  return state_->base->RemoveDir(dir);
}

Status FaultEnv::RenameFile(const std::string& src, const std::string& dst) {
  std::lock_guard<std::mutex> lock(state_->mu);
  FaultState& st = *state_;
  ++st.renames;
  SF_RETURN_IF_ERROR(st.BeginMutationLocked(src));
  if (st.fail_rename.Fires()) return st.fail_rename.error;
  const std::string from = NormalizePath(src);
  const std::string to = NormalizePath(dst);
  const bool is_dir = st.base->GetChildren(src).ok();
  PendingOp op{is_dir ? PendingOp::Kind::kRenameDir : PendingOp::Kind::kRenameFile, DirName(to), to, from, {},
               false};
  if (is_dir) {
    op.replaced_dir = st.base->FileExists(dst);
  } else if (st.base->FileExists(dst) && !st.base->GetChildren(dst).ok()) {
    // Keep the replaced file's durable content, to put back if the rename is lost.
    SF_ASSIGN_OR_RETURN(std::string content, st.base->ReadFileToString(dst));
    auto track = st.tracks.find(to);
    if (track != st.tracks.end()) content.resize(std::min<uint64_t>(content.size(), track->second->synced_size));
    op.replaced = std::move(content);
  }
  SF_RETURN_IF_ERROR(st.base->RenameFile(src, dst));
  if (from == to) return Status::OK();
  st.tracks.erase(to);
  st.MoveTracksLocked(from, to);
  st.pending.push_back(std::move(op));
  return Status::OK();
}

Status FaultEnv::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(state_->mu);
  FaultState& st = *state_;
  ++st.syncs;
  SF_RETURN_IF_ERROR(st.BeginMutationLocked(dir));
  if (st.fail_sync.Fires()) return st.fail_sync.error;
  SF_RETURN_IF_ERROR(st.base->SyncDir(dir));
  const std::string key = NormalizePath(dir);
  std::erase_if(st.pending, [&](const PendingOp& op) { return op.dir == key; });
  return Status::OK();
}

Status FaultEnv::TruncateFile(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> lock(state_->mu);
  SF_RETURN_IF_ERROR(state_->BeginMutationLocked(path));
  SF_RETURN_IF_ERROR(state_->base->TruncateFile(path, size));
  auto track = state_->tracks.find(NormalizePath(path));
  if (track != state_->tracks.end()) track->second->synced_size = std::min(track->second->synced_size, size);
  return Status::OK();
}

Result<std::unique_ptr<FileLock>> FaultEnv::LockFile(const std::string& path) {
  return state_->base->LockFile(path);
}

Result<uint64_t> FaultEnv::GetFreeSpace(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->no_space) return uint64_t{0};
  }
  return state_->base->GetFreeSpace(path);
}

}  // namespace shopfloor::core
