// The Env contract, run against the real file system (in a mkdtemp directory) and MemEnv.
#include "core/env.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace shopfloor::core {
namespace {

class PosixFixture {
 public:
  static constexpr const char* kName = "Posix";
  PosixFixture() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/sf_env_test.XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    if (made == nullptr) std::abort();
    root_ = made;
  }
  ~PosixFixture() { std::filesystem::remove_all(root_); }
  Env* env() { return Env::Posix(); }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

class MemFixture {
 public:
  static constexpr const char* kName = "Mem";
  MemFixture() : env_(NewMemEnv()) {
    if (!env_->CreateDirs(root_).ok()) std::abort();
  }
  Env* env() { return env_.get(); }
  const std::string& root() const { return root_; }

 private:
  std::unique_ptr<Env> env_;
  std::string root_ = "/test/root";
};

template <typename Fixture>
class EnvTest : public ::testing::Test {
 protected:
  std::string Path(std::string_view name) const { return JoinPath(fixture_.root(), name); }

  void WriteFile(const std::string& path, std::string_view data) {
    auto file = env_->NewWritableFile(path);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    ASSERT_TRUE((*file)->Append(data).ok());
    ASSERT_TRUE((*file)->Close().ok());
  }

  std::string ReadFile(const std::string& path) {
    auto content = env_->ReadFileToString(path);
    EXPECT_TRUE(content.ok()) << content.status().ToString();
    return content.value_or("<error>");
  }

  std::vector<std::string> Children(const std::string& dir) {
    auto names = env_->GetChildren(dir);
    EXPECT_TRUE(names.ok()) << names.status().ToString();
    std::vector<std::string> sorted = names.value_or({});
    std::sort(sorted.begin(), sorted.end());
    return sorted;
  }

  Fixture fixture_;
  Env* env_ = fixture_.env();
};

struct FixtureNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

using Fixtures = ::testing::Types<PosixFixture, MemFixture>;
TYPED_TEST_SUITE(EnvTest, Fixtures, FixtureNames);

std::string Pattern(size_t size) {
  std::string out(size, '\0');
  for (size_t byte_idx = 0; byte_idx < size; ++byte_idx) out[byte_idx] = static_cast<char>((byte_idx * 131) % 251);
  return out;
}

TYPED_TEST(EnvTest, WriteThenReadBack) {
  const std::string path = this->Path("a.txt");
  auto file = this->env_->NewWritableFile(path);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append("hello ").ok());
  ASSERT_TRUE((*file)->Append("world").ok());
  EXPECT_EQ((*file)->Size(), 11u);
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_TRUE((*file)->Close().ok());  // closing twice is harmless
  EXPECT_FALSE((*file)->Append("x").ok());
  EXPECT_TRUE(this->env_->FileExists(path));
  EXPECT_EQ(this->ReadFile(path), "hello world");
  auto size = this->env_->GetFileSize(path);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 11u);
}

TYPED_TEST(EnvTest, SmallAndLargeAppendsKeepOrder) {
  // Mixes appends smaller and larger than the Posix 64 KiB buffer.
  const std::string data = Pattern(300 * 1024);
  const size_t sizes[] = {1, 100, 70 * 1024, 3, 64 * 1024, 64 * 1024 - 1, 200};
  const std::string path = this->Path("big");
  auto file = this->env_->NewWritableFile(path);
  ASSERT_TRUE(file.ok());
  size_t offset = 0;
  for (size_t size : sizes) {
    ASSERT_TRUE((*file)->Append(std::string_view(data).substr(offset, size)).ok());
    offset += size;
  }
  ASSERT_TRUE((*file)->Flush().ok());
  auto size = this->env_->GetFileSize(path);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, offset);  // Flush hands everything to the OS
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(this->ReadFile(path), data.substr(0, offset));
}

TYPED_TEST(EnvTest, NewWritableFileTruncates) {
  const std::string path = this->Path("t");
  this->WriteFile(path, "old content");
  this->WriteFile(path, "new");
  EXPECT_EQ(this->ReadFile(path), "new");
}

TYPED_TEST(EnvTest, AppendableFileContinuesAtEnd) {
  const std::string path = this->Path("log");
  auto created = this->env_->NewAppendableFile(path);  // creates a missing file
  ASSERT_TRUE(created.ok());
  EXPECT_EQ((*created)->Size(), 0u);
  ASSERT_TRUE((*created)->Append("abc").ok());
  ASSERT_TRUE((*created)->Close().ok());
  auto file = this->env_->NewAppendableFile(path);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ((*file)->Size(), 3u);
  ASSERT_TRUE((*file)->Append("def").ok());
  EXPECT_EQ((*file)->Size(), 6u);
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(this->ReadFile(path), "abcdef");
}

TYPED_TEST(EnvTest, RandomAccessReads) {
  const std::string path = this->Path("r");
  const std::string data = Pattern(10000);
  this->WriteFile(path, data);
  auto file = this->env_->NewRandomAccessFile(path);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ((*file)->Size(), 10000u);
  char scratch[200];
  auto middle = (*file)->Read(5000, 100, scratch);
  ASSERT_TRUE(middle.ok());
  EXPECT_EQ(*middle, data.substr(5000, 100));
  auto tail = (*file)->Read(9950, 200, scratch);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, data.substr(9950));
  auto past = (*file)->Read(20000, 10, scratch);
  ASSERT_TRUE(past.ok());
  EXPECT_TRUE(past->empty());

  // Concurrent readers of one file see consistent bytes.
  std::vector<std::thread> readers;
  std::vector<int> mismatches(4, 0);
  for (int reader = 0; reader < 4; ++reader) {
    readers.emplace_back([&, reader] {
      char buf[64];
      for (uint64_t offset = reader; offset + 64 <= data.size(); offset += 97) {
        auto got = (*file)->Read(offset, 64, buf);
        if (!got.ok() || *got != std::string_view(data).substr(offset, 64)) ++mismatches[reader];
      }
    });
  }
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TYPED_TEST(EnvTest, SequentialReadsAndSkip) {
  const std::string path = this->Path("s");
  this->WriteFile(path, "0123456789");
  auto file = this->env_->NewSequentialFile(path);
  ASSERT_TRUE(file.ok());
  char scratch[16];
  auto first = (*file)->Read(3, scratch);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, "012");
  ASSERT_TRUE((*file)->Skip(4).ok());
  auto rest = (*file)->Read(16, scratch);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(*rest, "789");
  auto end = (*file)->Read(16, scratch);
  ASSERT_TRUE(end.ok());
  EXPECT_TRUE(end->empty());
}

TYPED_TEST(EnvTest, MissingFilesAreNotFoundWithPath) {
  const std::string path = this->Path("missing");
  EXPECT_FALSE(this->env_->FileExists(path));
  Status statuses[] = {
      this->env_->NewRandomAccessFile(path).status(), this->env_->NewSequentialFile(path).status(),
      this->env_->GetFileSize(path).status(),         this->env_->RemoveFile(path),
      this->env_->ReadFileToString(path).status(),    this->env_->TruncateFile(path, 0),
  };
  for (const Status& s : statuses) {
    EXPECT_TRUE(s.IsNotFound()) << s.ToString();
    EXPECT_EQ(s.context().file, path);
  }
  // A file in a missing directory cannot be created.
  Status s = this->env_->NewWritableFile(this->Path("no/such/dir/f")).status();
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
}

TYPED_TEST(EnvTest, RemoveFile) {
  const std::string path = this->Path("gone");
  this->WriteFile(path, "x");
  ASSERT_TRUE(this->env_->RemoveFile(path).ok());
  EXPECT_FALSE(this->env_->FileExists(path));
  EXPECT_TRUE(this->env_->RemoveFile(path).IsNotFound());
}

TYPED_TEST(EnvTest, OpenFileSurvivesRemoval) {
  const std::string path = this->Path("unlinked");
  this->WriteFile(path, "still here");
  auto file = this->env_->NewRandomAccessFile(path);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(this->env_->RemoveFile(path).ok());
  char scratch[16];
  auto got = (*file)->Read(0, 16, scratch);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "still here");
}

TYPED_TEST(EnvTest, RenameReplacesDestination) {
  const std::string src = this->Path("src");
  const std::string dst = this->Path("dst");
  this->WriteFile(src, "new");
  this->WriteFile(dst, "old");
  ASSERT_TRUE(this->env_->RenameFile(src, dst).ok());
  EXPECT_FALSE(this->env_->FileExists(src));
  EXPECT_EQ(this->ReadFile(dst), "new");
  Status missing = this->env_->RenameFile(src, dst);
  EXPECT_TRUE(missing.IsNotFound()) << missing.ToString();
  EXPECT_EQ(missing.context().file, src);
  EXPECT_EQ(this->ReadFile(dst), "new");
}

TYPED_TEST(EnvTest, RenameDirectoryMovesItsFiles) {
  ASSERT_TRUE(this->env_->CreateDirs(this->Path("block.tmp/sub")).ok());
  this->WriteFile(this->Path("block.tmp/index"), "i");
  this->WriteFile(this->Path("block.tmp/sub/chunk"), "c");
  ASSERT_TRUE(this->env_->RenameFile(this->Path("block.tmp"), this->Path("block")).ok());
  EXPECT_FALSE(this->env_->FileExists(this->Path("block.tmp")));
  EXPECT_EQ(this->ReadFile(this->Path("block/index")), "i");
  EXPECT_EQ(this->ReadFile(this->Path("block/sub/chunk")), "c");
  EXPECT_EQ(this->Children(this->Path("block")), (std::vector<std::string>{"index", "sub"}));
}

TYPED_TEST(EnvTest, GetChildrenListsNamesOnly) {
  ASSERT_TRUE(this->env_->CreateDirs(this->Path("d/nested")).ok());
  this->WriteFile(this->Path("d/b"), "");
  this->WriteFile(this->Path("d/a"), "");
  this->WriteFile(this->Path("d/nested/deep"), "");
  EXPECT_EQ(this->Children(this->Path("d")), (std::vector<std::string>{"a", "b", "nested"}));
  EXPECT_EQ(this->Children(this->Path("d/nested")), (std::vector<std::string>{"deep"}));
  EXPECT_TRUE(this->env_->GetChildren(this->Path("nope")).status().IsNotFound());
  EXPECT_FALSE(this->env_->GetChildren(this->Path("d/a")).ok());  // a file, not a directory
}

TYPED_TEST(EnvTest, CreateAndRemoveDirs) {
  const std::string deep = this->Path("x/y/z");
  ASSERT_TRUE(this->env_->CreateDirs(deep).ok());
  EXPECT_TRUE(this->env_->FileExists(deep));
  EXPECT_TRUE(this->env_->CreateDirs(deep).ok());  // already there: fine
  EXPECT_TRUE(this->env_->CreateDirs(deep + "/").ok());
  this->WriteFile(this->Path("x/file"), "f");
  Status through_file = this->env_->CreateDirs(this->Path("x/file/sub"));
  EXPECT_FALSE(through_file.ok());
  EXPECT_FALSE(this->env_->RemoveDir(this->Path("x/y")).ok());  // not empty
  ASSERT_TRUE(this->env_->RemoveDir(deep).ok());
  EXPECT_FALSE(this->env_->FileExists(deep));
  EXPECT_TRUE(this->env_->RemoveDir(deep).IsNotFound());
  EXPECT_FALSE(this->env_->NewWritableFile(this->Path("x/y")).ok());  // a directory
}

TYPED_TEST(EnvTest, SyncDir) {
  EXPECT_TRUE(this->env_->SyncDir(this->fixture_.root()).ok());
  EXPECT_TRUE(this->env_->SyncDir(this->Path("missing")).IsNotFound());
}

TYPED_TEST(EnvTest, TruncateShrinksAndExtendsWithZeros) {
  const std::string path = this->Path("trunc");
  this->WriteFile(path, "0123456789");
  ASSERT_TRUE(this->env_->TruncateFile(path, 4).ok());
  EXPECT_EQ(this->ReadFile(path), "0123");
  ASSERT_TRUE(this->env_->TruncateFile(path, 6).ok());
  EXPECT_EQ(this->ReadFile(path), std::string("0123\0\0", 6));
}

TYPED_TEST(EnvTest, LockIsExclusiveUntilReleased) {
  const std::string path = this->Path("LOCK");
  auto lock = this->env_->LockFile(path);
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  EXPECT_TRUE(this->env_->FileExists(path));
  auto second = this->env_->LockFile(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kBusy);
  // Another spelling of the same path is the same lock.
  auto respelled = this->env_->LockFile(this->fixture_.root() + "/./LOCK");
  EXPECT_EQ(respelled.status().code(), StatusCode::kBusy);
  auto other = this->env_->LockFile(this->Path("OTHER_LOCK"));
  EXPECT_TRUE(other.ok());
  lock->reset();  // releases the lock
  auto again = this->env_->LockFile(path);
  EXPECT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(this->env_->LockFile(this->Path("no/dir/LOCK")).status().IsNotFound());
}

TYPED_TEST(EnvTest, FreeSpace) {
  auto free_bytes = this->env_->GetFreeSpace(this->fixture_.root());
  ASSERT_TRUE(free_bytes.ok()) << free_bytes.status().ToString();
  EXPECT_GT(*free_bytes, 0u);
  EXPECT_TRUE(this->env_->GetFreeSpace(this->Path("missing")).status().IsNotFound());
}

TYPED_TEST(EnvTest, WriteFileAtomic) {
  const std::string path = this->Path("CURRENT");
  ASSERT_TRUE(this->env_->WriteFileAtomic(path, "MANIFEST-1").ok());
  EXPECT_EQ(this->ReadFile(path), "MANIFEST-1");
  ASSERT_TRUE(this->env_->WriteFileAtomic(path, "MANIFEST-2").ok());
  EXPECT_EQ(this->ReadFile(path), "MANIFEST-2");
  EXPECT_EQ(this->Children(this->fixture_.root()), std::vector<std::string>{"CURRENT"});  // no temp left

  Status s = this->env_->WriteFileAtomic(this->Path("no/dir/CURRENT"), "x");
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find("no/dir/CURRENT"), std::string::npos) << s.message();
}

TYPED_TEST(EnvTest, ConcurrentWritersOnDistinctFiles) {
  constexpr int kThreads = 4;
  constexpr int kFilesPerThread = 20;
  std::vector<std::thread> writers;
  std::vector<int> failures(kThreads, 0);
  for (int writer = 0; writer < kThreads; ++writer) {
    writers.emplace_back([&, writer] {
      for (int file_idx = 0; file_idx < kFilesPerThread; ++file_idx) {
        std::string name = "f" + std::to_string(writer) + "_" + std::to_string(file_idx);
        auto file = this->env_->NewWritableFile(this->Path(name));
        if (!file.ok() || !(*file)->Append(name).ok() || !(*file)->Close().ok()) ++failures[writer];
        if (!this->env_->GetChildren(this->fixture_.root()).ok()) ++failures[writer];
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(failures, std::vector<int>(kThreads, 0));
  std::vector<std::string> names = this->Children(this->fixture_.root());
  ASSERT_EQ(names.size(), static_cast<size_t>(kThreads * kFilesPerThread));
  for (const std::string& name : names) EXPECT_EQ(this->ReadFile(this->Path(name)), name);
}

TEST(PosixEnvTest, LockIsVisibleToOtherProcesses) {
  PosixFixture fixture;
  const std::string path = JoinPath(fixture.root(), "LOCK");
  auto lock = Env::Posix()->LockFile(path);
  ASSERT_TRUE(lock.ok());
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child is another process: its fcntl lock attempt must be refused.
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    struct flock req {};
    req.l_type = F_WRLCK;
    req.l_whence = SEEK_SET;
    bool refused = fd >= 0 && ::fcntl(fd, F_SETLK, &req) != 0 && (errno == EAGAIN || errno == EACCES);
    ::_exit(refused ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(PathTest, JoinPath) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("/", "b"), "/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
}

TEST(PathTest, DirName) {
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("a/b/"), "a");
  EXPECT_EQ(DirName("a//b"), "a");
  EXPECT_EQ(DirName("c"), ".");
  EXPECT_EQ(DirName("/c"), "/");
  EXPECT_EQ(DirName("/"), "/");
  EXPECT_EQ(DirName(""), ".");
}

TEST(PathTest, NormalizePath) {
  EXPECT_EQ(NormalizePath("/a//b/./../c/"), "/a/c");
  EXPECT_EQ(NormalizePath(""), ".");
  EXPECT_EQ(NormalizePath("./"), ".");
  EXPECT_EQ(NormalizePath("/.."), "/");
  EXPECT_EQ(NormalizePath("../x"), "../x");
  EXPECT_EQ(NormalizePath("a/../../b"), "../b");
  EXPECT_EQ(NormalizePath("data/wal"), "data/wal");
}

}  // namespace
}  // namespace shopfloor::core
