// NewMemEnv(): a thread-safe in-memory file system for fast unit tests.
//
// It behaves like the Posix Env where tests can tell: a file needs its parent directory
// (CreateDirs first), errors carry the same codes and messages (built with FromErrno),
// open files survive RemoveFile and RenameFile (they share the file's data), and a lock
// is exclusive within the Env. "/" and "." always exist. Paths are compared after
// NormalizePath, so "d//f" and "d/./f" are one file. Everything is "durable" at once;
// FaultEnv layers power-loss behaviour on top.
#include <cerrno>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "core/env.h"

namespace shopfloor::core {

namespace {

// Nominal capacity reported by GetFreeSpace (minus the bytes stored); memory runs out
// long before it, so appends never check it.
constexpr uint64_t kNominalCapacity = uint64_t{1} << 40;

struct MemFile {
  std::mutex mu;
  std::string data;  // GUARDED_BY(mu)
};

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(std::string path, std::shared_ptr<MemFile> file, uint64_t initial_size)
      : path_(std::move(path)), file_(std::move(file)), size_(initial_size) {}

  Status Append(std::string_view data) override {
    if (closed_) return Status::IOError("append to a closed file", path_);
    std::lock_guard<std::mutex> lock(file_->mu);
    file_->data.append(data);
    size_ += data.size();
    return Status::OK();
  }
  Status Flush() override { return closed_ ? Status::IOError("flush of a closed file", path_) : Status::OK(); }
  Status Sync() override { return closed_ ? Status::IOError("sync of a closed file", path_) : Status::OK(); }
  Status Close() override {
    closed_ = true;
    return Status::OK();
  }
  uint64_t Size() const override { return size_; }

 private:
  const std::string path_;
  const std::shared_ptr<MemFile> file_;
  uint64_t size_;
  bool closed_ = false;
};

class MemRandomAccessFile final : public RandomAccessFile {
 public:
  explicit MemRandomAccessFile(std::shared_ptr<MemFile> file) : file_(std::move(file)) {}

  // Copies into scratch: a concurrent writer may reallocate the file's string.
  Result<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const override {
    std::lock_guard<std::mutex> lock(file_->mu);
    const std::string& data = file_->data;
    if (offset >= data.size()) return std::string_view(scratch, 0);
    size_t count = std::min<uint64_t>(n, data.size() - offset);
    data.copy(scratch, count, static_cast<size_t>(offset));
    return std::string_view(scratch, count);
  }
  uint64_t Size() const override {
    std::lock_guard<std::mutex> lock(file_->mu);
    return file_->data.size();
  }

 private:
  const std::shared_ptr<MemFile> file_;
};

class MemSequentialFile final : public SequentialFile {
 public:
  explicit MemSequentialFile(std::shared_ptr<MemFile> file) : file_(std::move(file)) {}

  Result<std::string_view> Read(size_t n, char* scratch) override {
    std::lock_guard<std::mutex> lock(file_->mu);
    const std::string& data = file_->data;
    if (pos_ >= data.size()) return std::string_view(scratch, 0);
    size_t count = std::min<uint64_t>(n, data.size() - pos_);
    data.copy(scratch, count, static_cast<size_t>(pos_));
    pos_ += count;
    return std::string_view(scratch, count);
  }
  // Like lseek, skipping past the end is allowed; later reads return end of file.
  Status Skip(uint64_t n) override {
    pos_ += n;
    return Status::OK();
  }

 private:
  const std::shared_ptr<MemFile> file_;
  uint64_t pos_ = 0;
};

class MemEnv;

class MemFileLock final : public FileLock {
 public:
  MemFileLock(MemEnv* env, std::string key) : env_(env), key_(std::move(key)) {}
  ~MemFileLock() override;

 private:
  MemEnv* const env_;
  const std::string key_;
};

bool IsRoot(const std::string& normalized) { return normalized == "/" || normalized == "."; }

class MemEnv final : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    return OpenForWrite(path, /*truncate=*/true);
  }
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override {
    return OpenForWrite(path, /*truncate=*/false);
  }

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    SF_ASSIGN_OR_RETURN(std::shared_ptr<MemFile> file, FindFile(path, "open for read"));
    return std::unique_ptr<RandomAccessFile>(new MemRandomAccessFile(std::move(file)));
  }
  Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) override {
    SF_ASSIGN_OR_RETURN(std::shared_ptr<MemFile> file, FindFile(path, "open for read"));
    return std::unique_ptr<SequentialFile>(new MemSequentialFile(std::move(file)));
  }

  bool FileExists(const std::string& path) override {
    std::string key = NormalizePath(path);
    std::lock_guard<std::mutex> lock(mu_);
    return files_.count(key) > 0 || DirExistsLocked(key);
  }

  Result<std::vector<std::string>> GetChildren(const std::string& dir) override {
    std::string key = NormalizePath(dir);
    std::lock_guard<std::mutex> lock(mu_);
    if (files_.count(key) > 0) return Status::FromErrno(ENOTDIR, "opendir", dir);
    if (!DirExistsLocked(key)) return Status::FromErrno(ENOENT, "opendir", dir);
    std::vector<std::string> names;
    for (const auto& [path, file] : files_) {
      if (DirName(path) == key) names.push_back(BaseName(path));
    }
    for (const std::string& path : dirs_) {
      if (DirName(path) == key) names.push_back(BaseName(path));
    }
    return names;
  }

  Result<uint64_t> GetFileSize(const std::string& path) override {
    SF_ASSIGN_OR_RETURN(std::shared_ptr<MemFile> file, FindFile(path, "stat"));
    std::lock_guard<std::mutex> lock(file->mu);
    return static_cast<uint64_t>(file->data.size());
  }

  Status RemoveFile(const std::string& path) override {
    std::string key = NormalizePath(path);
    std::lock_guard<std::mutex> lock(mu_);
    if (DirExistsLocked(key)) return Status::FromErrno(EISDIR, "unlink", path);
    if (files_.erase(key) == 0) return Status::FromErrno(ENOENT, "unlink", path);
    return Status::OK();
  }

  Status CreateDirs(const std::string& dir) override {
    if (dir.empty()) return Status::InvalidArgument("CreateDirs: empty path");
    std::string key = NormalizePath(dir);
    std::lock_guard<std::mutex> lock(mu_);
    // Check every prefix before inserting any, so a failure leaves nothing half made.
    std::vector<std::string> missing;
    for (std::string prefix = key; !IsRoot(prefix); prefix = DirName(prefix)) {
      if (files_.count(prefix) > 0) return Status::FromErrno(ENOTDIR, "mkdir", prefix);
      if (dirs_.count(prefix) == 0) missing.push_back(prefix);
    }
    dirs_.insert(missing.begin(), missing.end());
    return Status::OK();
  }

  Status RemoveDir(const std::string& dir) override {
    std::string key = NormalizePath(dir);
    std::lock_guard<std::mutex> lock(mu_);
    if (IsRoot(key)) return Status::FromErrno(EBUSY, "rmdir", dir);
    if (files_.count(key) > 0) return Status::FromErrno(ENOTDIR, "rmdir", dir);
    if (dirs_.count(key) == 0) return Status::FromErrno(ENOENT, "rmdir", dir);
    if (HasChildrenLocked(key)) return Status::FromErrno(ENOTEMPTY, "rmdir", dir);
    dirs_.erase(key);
    return Status::OK();
  }

  Status RenameFile(const std::string& src, const std::string& dst) override {
    std::string from = NormalizePath(src);
    std::string to = NormalizePath(dst);
    const std::string what = "rename to " + dst;
    std::lock_guard<std::mutex> lock(mu_);
    if (IsRoot(from) || IsRoot(to)) return Status::FromErrno(EBUSY, what, src);
    auto file_it = files_.find(from);
    if (file_it != files_.end()) {
      if (dirs_.count(to) > 0) return Status::FromErrno(EISDIR, what, src);
      SF_RETURN_IF_ERROR(CheckParentLocked(to, what, dst));
      if (from == to) return Status::OK();
      std::shared_ptr<MemFile> file = file_it->second;
      files_.erase(file_it);
      files_[to] = std::move(file);
      return Status::OK();
    }
    if (dirs_.count(from) == 0) return Status::FromErrno(ENOENT, what, src);
    if (from == to) return Status::OK();
    if (files_.count(to) > 0) return Status::FromErrno(ENOTDIR, what, src);
    if (to.starts_with(from + "/")) return Status::FromErrno(EINVAL, what, src);
    if (dirs_.count(to) > 0 && HasChildrenLocked(to)) return Status::FromErrno(ENOTEMPTY, what, src);
    SF_RETURN_IF_ERROR(CheckParentLocked(to, what, dst));
    MoveTreeLocked(from, to);
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    std::string key = NormalizePath(dir);
    std::lock_guard<std::mutex> lock(mu_);
    if (files_.count(key) > 0) return Status::FromErrno(ENOTDIR, "open directory", dir);
    if (!DirExistsLocked(key)) return Status::FromErrno(ENOENT, "open directory", dir);
    return Status::OK();
  }

  Status TruncateFile(const std::string& path, uint64_t size) override {
    SF_ASSIGN_OR_RETURN(std::shared_ptr<MemFile> file, FindFile(path, "truncate"));
    std::lock_guard<std::mutex> lock(file->mu);
    file->data.resize(static_cast<size_t>(size), '\0');  // growing pads with zeros, like truncate(2)
    return Status::OK();
  }

  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    std::string key = NormalizePath(path);
    std::lock_guard<std::mutex> lock(mu_);
    if (locks_.count(key) > 0) return Status::Busy("lock " + path + " is already held by this process");
    if (DirExistsLocked(key)) return Status::FromErrno(EISDIR, "open lock file", path);
    if (files_.count(key) == 0) {
      SF_RETURN_IF_ERROR(CheckParentLocked(key, "open lock file", path));
      files_[key] = std::make_shared<MemFile>();
    }
    locks_.insert(key);
    return std::unique_ptr<FileLock>(new MemFileLock(this, key));
  }

  Result<uint64_t> GetFreeSpace(const std::string& path) override {
    std::string key = NormalizePath(path);
    std::lock_guard<std::mutex> lock(mu_);
    if (files_.count(key) == 0 && !DirExistsLocked(key)) return Status::FromErrno(ENOENT, "statvfs", path);
    uint64_t used = 0;
    for (const auto& [name, file] : files_) {
      std::lock_guard<std::mutex> file_lock(file->mu);
      used += file->data.size();
    }
    return used >= kNominalCapacity ? 0 : kNominalCapacity - used;
  }

  void Unlock(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    locks_.erase(key);
  }

 private:
  static std::string BaseName(const std::string& normalized) {
    size_t slash = normalized.rfind('/');
    return slash == std::string::npos ? normalized : normalized.substr(slash + 1);
  }

  bool DirExistsLocked(const std::string& key) const { return IsRoot(key) || dirs_.count(key) > 0; }

  bool HasChildrenLocked(const std::string& key) const {
    for (const auto& [path, file] : files_) {
      if (DirName(path) == key) return true;
    }
    for (const std::string& path : dirs_) {
      if (DirName(path) == key) return true;
    }
    return false;
  }

  Status CheckParentLocked(const std::string& key, std::string_view what, const std::string& path) const {
    std::string parent = DirName(key);
    if (files_.count(parent) > 0) return Status::FromErrno(ENOTDIR, what, path);
    if (!DirExistsLocked(parent)) return Status::FromErrno(ENOENT, what, path);
    return Status::OK();
  }

  // Renames directory `from` (and everything under it) to `to`, replacing an empty `to`.
  void MoveTreeLocked(const std::string& from, const std::string& to) {
    const std::string prefix = from + "/";
    auto rebase = [&](const std::string& path) { return to + path.substr(from.size()); };
    std::map<std::string, std::shared_ptr<MemFile>> moved_files;
    for (auto it = files_.lower_bound(prefix); it != files_.end() && it->first.starts_with(prefix);) {
      moved_files[rebase(it->first)] = std::move(it->second);
      it = files_.erase(it);
    }
    std::set<std::string> moved_dirs;
    for (auto it = dirs_.lower_bound(prefix); it != dirs_.end() && it->starts_with(prefix);) {
      moved_dirs.insert(rebase(*it));
      it = dirs_.erase(it);
    }
    dirs_.erase(from);
    dirs_.insert(to);
    files_.merge(moved_files);
    dirs_.merge(moved_dirs);
  }

  Result<std::shared_ptr<MemFile>> FindFile(const std::string& path, std::string_view what) {
    std::string key = NormalizePath(path);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(key);
    if (it != files_.end()) return it->second;
    if (DirExistsLocked(key)) return Status::FromErrno(EISDIR, what, path);
    return Status::FromErrno(ENOENT, what, path);
  }

  Result<std::unique_ptr<WritableFile>> OpenForWrite(const std::string& path, bool truncate) {
    const std::string_view what = truncate ? "open for write" : "open for append";
    std::string key = NormalizePath(path);
    std::lock_guard<std::mutex> lock(mu_);
    if (DirExistsLocked(key)) return Status::FromErrno(EISDIR, what, path);
    std::shared_ptr<MemFile>& slot = files_[key];
    if (slot == nullptr) {
      Status parent = CheckParentLocked(key, what, path);
      if (!parent.ok()) {
        files_.erase(key);
        return parent;
      }
      slot = std::make_shared<MemFile>();
    }
    std::lock_guard<std::mutex> file_lock(slot->mu);
    // Truncate in place, as O_TRUNC keeps the inode: open readers see the empty file.
    if (truncate) slot->data.clear();
    return std::unique_ptr<WritableFile>(new MemWritableFile(path, slot, slot->data.size()));
  }

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<MemFile>> files_;  // GUARDED_BY(mu_)
  std::set<std::string> dirs_;                            // GUARDED_BY(mu_), excludes "/" and "."
  std::set<std::string> locks_;                           // GUARDED_BY(mu_)
};

MemFileLock::~MemFileLock() { env_->Unlock(key_); }

}  // namespace

std::unique_ptr<Env> NewMemEnv() { return std::make_unique<MemEnv>(); }

}  // namespace shopfloor::core
