// Env::Posix(): the real file system through POSIX calls.
//
// Every descriptor is opened O_CLOEXEC so child processes (test peers, tools) never
// inherit data files or locks. Errors carry the path and map errno through
// Status::FromErrno (ENOSPC -> kNoSpace, ENOENT -> kNotFound, ...).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <utility>

#include "core/env.h"

namespace shopfloor::core {

namespace {

constexpr size_t kWritableBufferSize = 64 * 1024;
constexpr mode_t kFileMode = 0644;
constexpr mode_t kDirMode = 0755;

// Writes all of data to fd, retrying on EINTR and partial writes.
Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write", path);
    }
    data.remove_prefix(static_cast<size_t>(written));
  }
  return Status::OK();
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t initial_size)
      : path_(std::move(path)), fd_(fd), size_(initial_size) {
    buffer_.reserve(kWritableBufferSize);
  }
  ~PosixWritableFile() override {
    if (fd_ >= 0) Close().IgnoreError();  // an owner that cared would have called Close()
  }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return Status::IOError("append to a closed file", path_);
    size_ += data.size();
    // Fill the buffer first; a remainder at least one buffer long goes straight through.
    size_t room = kWritableBufferSize - buffer_.size();
    size_t copied = std::min(room, data.size());
    buffer_.append(data.data(), copied);
    data.remove_prefix(copied);
    if (data.empty()) return Status::OK();
    SF_RETURN_IF_ERROR(FlushBuffer());
    if (data.size() < kWritableBufferSize) {
      buffer_.append(data);
      return Status::OK();
    }
    return WriteAll(fd_, data, path_);
  }

  Status Flush() override {
    if (fd_ < 0) return Status::IOError("flush of a closed file", path_);
    return FlushBuffer();
  }

  Status Sync() override {
    if (fd_ < 0) return Status::IOError("sync of a closed file", path_);
    SF_RETURN_IF_ERROR(FlushBuffer());
    if (::fdatasync(fd_) != 0) return Status::FromErrno(errno, "fdatasync", path_);
    return Status::OK();
  }

  Status Close() override {
    if (fd_ < 0) return Status::OK();
    Status s = FlushBuffer();
    // close() is not retried on EINTR: on Linux the descriptor is gone either way.
    if (::close(fd_) != 0 && s.ok()) s = Status::FromErrno(errno, "close", path_);
    fd_ = -1;
    return s;
  }

  uint64_t Size() const override { return size_; }

 private:
  Status FlushBuffer() {
    Status s = WriteAll(fd_, buffer_, path_);
    buffer_.clear();  // on failure the bytes are lost; the caller sees the error
    return s;
  }

  const std::string path_;
  int fd_;
  uint64_t size_;
  std::string buffer_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  // pread does not move a shared offset, so concurrent reads are safe.
  Result<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const override {
    size_t done = 0;
    while (done < n) {
      ssize_t got = ::pread(fd_, scratch + done, n - done, static_cast<off_t>(offset + done));
      if (got < 0) {
        if (errno == EINTR) continue;
        Status s = Status::FromErrno(errno, "pread", path_);
        return Status(s.code(), s.message() + " at offset " + std::to_string(offset + done),
                      s.context());
      }
      if (got == 0) break;  // end of file
      done += static_cast<size_t>(got);
    }
    return std::string_view(scratch, done);
  }

  // The current size (a file still being appended to grows).
  uint64_t Size() const override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return 0;
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  const std::string path_;
  const int fd_;
};

class PosixSequentialFile final : public SequentialFile {
 public:
  PosixSequentialFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixSequentialFile() override { ::close(fd_); }

  Result<std::string_view> Read(size_t n, char* scratch) override {
    size_t done = 0;
    while (done < n) {
      ssize_t got = ::read(fd_, scratch + done, n - done);
      if (got < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "read", path_);
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return std::string_view(scratch, done);
  }

  Status Skip(uint64_t n) override {
    if (::lseek(fd_, static_cast<off_t>(n), SEEK_CUR) < 0) return Status::FromErrno(errno, "lseek", path_);
    return Status::OK();
  }

 private:
  const std::string path_;
  const int fd_;
};

// fcntl locks belong to the process, so a second lock from this process would succeed
// and closing any descriptor of the file would drop the lock. The set of held paths
// (GUARDED_BY(mu)) makes a second lock in this process kBusy before any fd is opened.
class LockTable {
 public:
  bool Insert(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.insert(key).second;
  }
  void Erase(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    held_.erase(key);
  }

 private:
  std::mutex mu_;
  std::set<std::string> held_;  // GUARDED_BY(mu_)
};

class PosixFileLock final : public FileLock {
 public:
  PosixFileLock(LockTable* table, std::string key, int fd) : table_(table), key_(std::move(key)), fd_(fd) {}
  ~PosixFileLock() override {
    struct flock unlock_req {};
    unlock_req.l_type = F_UNLCK;
    unlock_req.l_whence = SEEK_SET;
    ::fcntl(fd_, F_SETLK, &unlock_req);
    ::close(fd_);
    table_->Erase(key_);
  }

 private:
  LockTable* const table_;
  const std::string key_;
  const int fd_;
};

// The lock table key: the canonical parent directory plus the file name, so "d/LOCK",
// "d/./LOCK" and "/abs/d/LOCK" are one lock. It is computed before the lock file is
// opened (the file may not exist yet; its directory must).
std::string LockKey(const std::string& path) {
  std::string normalized = NormalizePath(path);
  size_t slash = normalized.rfind('/');
  std::string name = slash == std::string::npos ? normalized : normalized.substr(slash + 1);
  char resolved[PATH_MAX];
  if (::realpath(DirName(normalized).c_str(), resolved) == nullptr) return normalized;
  return JoinPath(resolved, name);
}

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kFileMode);
    if (fd < 0) return Status::FromErrno(errno, "open for write", path);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd, 0));
  }

  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, kFileMode);
    if (fd < 0) return Status::FromErrno(errno, "open for append", path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      Status s = Status::FromErrno(errno, "fstat", path);
      ::close(fd);
      return s;
    }
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd, static_cast<uint64_t>(st.st_size)));
  }

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open for read", path);
    return std::unique_ptr<RandomAccessFile>(new PosixRandomAccessFile(path, fd));
  }

  Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open for read", path);
    return std::unique_ptr<SequentialFile>(new PosixSequentialFile(path, fd));
  }

  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Result<std::vector<std::string>> GetChildren(const std::string& dir) override {
    DIR* handle = ::opendir(dir.c_str());
    if (handle == nullptr) return Status::FromErrno(errno, "opendir", dir);
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* entry = ::readdir(handle)) {
      std::string_view name(entry->d_name);
      if (name != "." && name != "..") names.emplace_back(name);
      errno = 0;
    }
    int read_errno = errno;
    ::closedir(handle);
    if (read_errno != 0) return Status::FromErrno(read_errno, "readdir", dir);
    return names;
  }

  Result<uint64_t> GetFileSize(const std::string& path) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "stat", path);
    return static_cast<uint64_t>(st.st_size);
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Status::FromErrno(errno, "unlink", path);
    return Status::OK();
  }

  Status CreateDirs(const std::string& dir) override {
    if (dir.empty()) return Status::InvalidArgument("CreateDirs: empty path");
    // mkdir each prefix ending before a '/', then the whole path.
    for (size_t pos = dir.find('/', 1); ; pos = dir.find('/', pos + 1)) {
      std::string prefix = dir.substr(0, pos);
      if (::mkdir(prefix.c_str(), kDirMode) != 0 && errno != EEXIST) {
        return Status::FromErrno(errno, "mkdir", prefix);
      }
      if (pos == std::string::npos) break;
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return Status::FromErrno(errno, "stat", dir);
    if (!S_ISDIR(st.st_mode)) return Status::FromErrno(ENOTDIR, "mkdir", dir);
    return Status::OK();
  }

  Status RemoveDir(const std::string& dir) override {
    if (::rmdir(dir.c_str()) != 0) return Status::FromErrno(errno, "rmdir", dir);
    return Status::OK();
  }

  Status RenameFile(const std::string& src, const std::string& dst) override {
    if (::rename(src.c_str(), dst.c_str()) != 0) {
      return Status::FromErrno(errno, "rename to " + dst, src);
    }
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open directory", dir);
    Status s;
    if (::fsync(fd) != 0) s = Status::FromErrno(errno, "fsync directory", dir);
    ::close(fd);
    return s;
  }

  Status TruncateFile(const std::string& path, uint64_t size) override {
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) {
      return Status::FromErrno(errno, "truncate", path);
    }
    return Status::OK();
  }

  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    std::string key = LockKey(path);
    if (!locks_.Insert(key)) return Status::Busy("lock " + path + " is already held by this process");
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kFileMode);
    if (fd < 0) {
      locks_.Erase(key);
      return Status::FromErrno(errno, "open lock file", path);
    }
    struct flock lock_req {};
    lock_req.l_type = F_WRLCK;
    lock_req.l_whence = SEEK_SET;
    if (::fcntl(fd, F_SETLK, &lock_req) != 0) {
      int err = errno;
      ::close(fd);
      locks_.Erase(key);
      if (err == EACCES || err == EAGAIN) return Status::Busy("lock " + path + " is held by another process");
      return Status::FromErrno(err, "fcntl lock", path);
    }
    return std::unique_ptr<FileLock>(new PosixFileLock(&locks_, key, fd));
  }

  Result<uint64_t> GetFreeSpace(const std::string& path) override {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) return Status::FromErrno(errno, "statvfs", path);
    return static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
  }

 private:
  LockTable locks_;
};

}  // namespace

Env* Env::Posix() {
  // Never destroyed: files and locks may be used by threads still running at exit.
  static Env* const env = new PosixEnv();
  return env;
}

}  // namespace shopfloor::core
