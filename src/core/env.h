// Env: the seam between Shopfloor and the file system.
//
// Every module that touches files takes an Env* (never a global), so tests can run on
// MemEnv (in memory) or FaultEnv (injects failures and simulates a crash by dropping
// data that was never synced). Env::Posix() is the real thing.
//
// Thread safety: Env methods may be called from any thread. A single file object is not
// thread-safe unless stated; callers serialise access to one file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace shopfloor::core {

// A file being written sequentially (WAL segment, block under construction).
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends bytes. Data may sit in a user-space buffer until Flush() or Sync().
  virtual Status Append(std::string_view data) = 0;
  // Hands buffered data to the OS (survives a process crash, not a power loss).
  virtual Status Flush() = 0;
  // Flush, then make the data durable (fdatasync). Only synced data survives FaultEnv's
  // simulated power loss.
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  // Bytes appended so far, including the file's size when opened for append.
  virtual uint64_t Size() const = 0;
};

// A file read at arbitrary offsets (block files). Safe for concurrent reads.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset into scratch; returns the bytes read (fewer at EOF).
  // The returned view may point into scratch or into the file's own memory.
  virtual Result<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const = 0;
  virtual uint64_t Size() const = 0;
};

// A file read from start to end (WAL replay).
class SequentialFile {
 public:
  virtual ~SequentialFile() = default;
  // Reads up to n bytes; an empty view means end of file.
  virtual Result<std::string_view> Read(size_t n, char* scratch) = 0;
  virtual Status Skip(uint64_t n) = 0;
};

// An exclusive advisory lock on a file, held until destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  // The real file system. Never null; lives for the life of the process.
  static Env* Posix();

  // Creates or truncates.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  // Opens for appending, creating if missing.
  virtual Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) = 0;
  virtual Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) = 0;

  virtual bool FileExists(const std::string& path) = 0;
  // Names (not paths) of the entries in dir, without "." and "..".
  virtual Result<std::vector<std::string>> GetChildren(const std::string& dir) = 0;
  virtual Result<uint64_t> GetFileSize(const std::string& path) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Creates dir and missing parents; OK if it exists.
  virtual Status CreateDirs(const std::string& dir) = 0;
  virtual Status RemoveDir(const std::string& dir) = 0;
  // Atomically replaces dst. Durable only after SyncDir() on the parent directory.
  virtual Status RenameFile(const std::string& src, const std::string& dst) = 0;
  // Makes creations, renames and removals in dir durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  virtual Status TruncateFile(const std::string& path, uint64_t size) = 0;
  // Takes an exclusive lock (kBusy if another process or Env user holds it).
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
  // Free bytes on the file system holding path (for disk quotas and ENOSPC reporting).
  virtual Result<uint64_t> GetFreeSpace(const std::string& path) = 0;

  // Convenience helpers built on the primitives above.
  Result<std::string> ReadFileToString(const std::string& path);
  // Writes path atomically: temp file, fsync, rename, fsync the directory.
  Status WriteFileAtomic(const std::string& path, std::string_view data);
};

// An in-memory file system. Everything "synced" immediately; for fast unit tests.
// Thread-safe. Behaves like Posix where a test can tell: a file's parent directory must
// exist, errors carry the same codes, open files outlive RemoveFile/RenameFile, LockFile
// is exclusive (kBusy). "/" and "." always exist; paths are compared after NormalizePath.
// GetFreeSpace reports a nominal 1 TiB minus the bytes stored. Locks must not outlive it.
std::unique_ptr<Env> NewMemEnv();

// Wraps another Env (typically a MemEnv) and injects faults. It also tracks, per file,
// how many bytes were synced, so DropUnsyncedData() can simulate a power loss.
//
// Counting: write = WritableFile::Append; sync = WritableFile::Sync or SyncDir; rename =
// RenameFile; mutation = any of those plus opening a file for writing, RemoveFile,
// CreateDirs, RemoveDir and TruncateFile. A failed operation still counts. Each FailNth*
// fires once, on the nth operation of its kind after it is armed, and writes nothing.
// After CrashAfterNthMutation(n) the nth mutation succeeds and every later one fails
// with IOError "simulated crash" until ClearFaults(); reads keep working.
//
// Power-loss model, applied by DropUnsyncedData():
//  - File content: each file written through this Env keeps the size it had at its last
//    successful WritableFile::Sync (0 if never synced). TruncateFile lowers that mark.
//    Files that existed before FaultEnv first opened them count as synced as they stand.
//  - Directory entries: a file created through NewWritableFile/NewAppendableFile, or a
//    RenameFile, is durable only once SyncDir() is called on the directory of the new name
//    (the target's directory for renames). Undurable entries are undone, newest first: a
//    created file is removed; a renamed file moves back to its old name (unless a newer
//    file took that name) and the destination reverts to its earlier durable content or
//    absence. A directory rename moves back likewise.
//  - Removals, CreateDirs and RemoveDir are durable at once.
//  - Write handles opened before the drop fail afterwards (the process that held them is
//    gone); close them. Appends reach the base Env at once, so only Sync marks matter.
// A typical crash test: CrashAfterNthMutation(n); run; DropUnsyncedData(); ClearFaults();
// reopen and check. Files and locks from this Env must not outlive it.
class FaultEnv : public Env {
 public:
  explicit FaultEnv(Env* base);
  ~FaultEnv() override;

  // Fault plan. The *_count() accessors count from the last ResetCounters(); each fault
  // counts from when it is armed.
  // Fails the nth (1-based) Append from now on with `error`; 0 disables.
  void FailNthWrite(uint64_t n, Status error);
  // Fails the nth Sync with `error`.
  void FailNthSync(uint64_t n, Status error);
  // Fails the nth rename with `error`.
  void FailNthRename(uint64_t n, Status error);
  // While set, every Append returns kNoSpace and writes nothing.
  void SetNoSpace(bool no_space);
  // Fail every mutating operation (Append, Sync, Rename, Remove, Create) after the nth
  // one: the process "crashed" there. 0 disables.
  void CrashAfterNthMutation(uint64_t n);
  bool crashed() const;
  void ResetCounters();
  void ClearFaults();

  uint64_t write_count() const;
  uint64_t sync_count() const;
  uint64_t rename_count() const;
  uint64_t mutation_count() const;

  // Simulates a power loss (see the model above): every file is truncated to its last
  // synced size, files created or renamed since the last SyncDir of their directory
  // disappear (or revert). Fails only if the base Env fails.
  Status DropUnsyncedData();

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) override;
  bool FileExists(const std::string& path) override;
  Result<std::vector<std::string>> GetChildren(const std::string& dir) override;
  Result<uint64_t> GetFileSize(const std::string& path) override;
  Status RemoveFile(const std::string& path) override;
  Status CreateDirs(const std::string& dir) override;
  Status RemoveDir(const std::string& dir) override;
  Status RenameFile(const std::string& src, const std::string& dst) override;
  Status SyncDir(const std::string& dir) override;
  Status TruncateFile(const std::string& path, uint64_t size) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;
  Result<uint64_t> GetFreeSpace(const std::string& path) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Path helpers (purely lexical; they never touch the file system).
// "dir/name"; `name` alone when dir is empty; no doubled separator when dir ends in '/'.
std::string JoinPath(std::string_view dir, std::string_view name);
// The parent directory, like POSIX dirname(3): "a/b/c" -> "a/b", "c" -> ".", "/c" -> "/".
std::string DirName(std::string_view path);
// Collapses "//", drops "." components and trailing '/', resolves ".." against earlier
// components: "/a//b/./../c/" -> "/a/c", "" -> ".". MemEnv and FaultEnv key paths by it.
std::string NormalizePath(std::string_view path);

}  // namespace shopfloor::core
