#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "core/env.h"

namespace shopfloor::core {
namespace {

class FaultEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(base_->CreateDirs(kDir).ok());
    ASSERT_TRUE(base_->CreateDirs(kOtherDir).ok());
  }

  std::unique_ptr<WritableFile> Open(const std::string& path) {
    auto file = fault_.NewWritableFile(path);
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    return file.ok() ? std::move(file).value() : nullptr;
  }

  // Creates path with `data`, synced, and its directory entry made durable.
  void WriteDurable(const std::string& path, std::string_view data) {
    auto file = Open(path);
    ASSERT_NE(file, nullptr);
    ASSERT_TRUE(file->Append(data).ok());
    ASSERT_TRUE(file->Sync().ok());
    ASSERT_TRUE(file->Close().ok());
    ASSERT_TRUE(fault_.SyncDir(DirName(path)).ok());
  }

  std::string Read(const std::string& path) {
    auto content = fault_.ReadFileToString(path);
    return content.ok() ? *content : "<" + content.status().ToString() + ">";
  }

  static constexpr const char* kDir = "/db";
  static constexpr const char* kOtherDir = "/db/archive";
  std::unique_ptr<Env> base_ = NewMemEnv();
  FaultEnv fault_{base_.get()};
};

TEST_F(FaultEnvTest, CountsOperations) {
  fault_.ResetCounters();
  auto file = Open("/db/a");
  ASSERT_TRUE(file->Append("1").ok());
  ASSERT_TRUE(file->Append("2").ok());
  ASSERT_TRUE(file->Flush().ok());  // not a mutation
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(fault_.SyncDir(kDir).ok());
  ASSERT_TRUE(fault_.RenameFile("/db/a", "/db/b").ok());
  ASSERT_TRUE(fault_.RemoveFile("/db/b").ok());
  EXPECT_EQ(fault_.write_count(), 2u);
  EXPECT_EQ(fault_.sync_count(), 2u);
  EXPECT_EQ(fault_.rename_count(), 1u);
  EXPECT_EQ(fault_.mutation_count(), 7u);  // open, 2 appends, sync, syncdir, rename, remove
  fault_.ResetCounters();
  EXPECT_EQ(fault_.write_count(), 0u);
  EXPECT_EQ(fault_.mutation_count(), 0u);
}

TEST_F(FaultEnvTest, FailNthWriteFailsOnceAndWritesNothing) {
  auto file = Open("/db/w");
  ASSERT_TRUE(file->Append("a").ok());
  fault_.FailNthWrite(2, Status::IOError("injected write error", "/db/w"));
  ASSERT_TRUE(file->Append("b").ok());
  Status failed = file->Append("c");
  EXPECT_EQ(failed.code(), StatusCode::kIOError);
  EXPECT_EQ(failed.message(), "injected write error");
  ASSERT_TRUE(file->Append("d").ok());
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ(Read("/db/w"), "abd");
}

TEST_F(FaultEnvTest, FailNthSyncCountsFileAndDirectorySyncs) {
  auto file = Open("/db/s");
  ASSERT_TRUE(file->Append("x").ok());
  fault_.FailNthSync(2, Status::IOError("injected fsync error"));
  ASSERT_TRUE(file->Sync().ok());
  EXPECT_EQ(fault_.SyncDir(kDir).message(), "injected fsync error");
  EXPECT_TRUE(file->Sync().ok());
  EXPECT_TRUE(fault_.SyncDir(kDir).ok());

  // A failed Sync does not move the durable mark.
  ASSERT_TRUE(file->Append("y").ok());
  fault_.FailNthSync(1, Status::IOError("injected fsync error"));
  EXPECT_FALSE(file->Sync().ok());
  ASSERT_TRUE(file->Close().ok());
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/db/s"), "x");
}

TEST_F(FaultEnvTest, FailNthRenameLeavesBothNamesAlone) {
  WriteDurable("/db/src", "data");
  fault_.FailNthRename(1, Status::IOError("injected rename error"));
  EXPECT_EQ(fault_.RenameFile("/db/src", "/db/dst").message(), "injected rename error");
  EXPECT_TRUE(fault_.FileExists("/db/src"));
  EXPECT_FALSE(fault_.FileExists("/db/dst"));
  ASSERT_TRUE(fault_.RenameFile("/db/src", "/db/dst").ok());
  EXPECT_EQ(Read("/db/dst"), "data");
}

TEST_F(FaultEnvTest, NoSpaceUntilCleared) {
  auto file = Open("/db/full");
  ASSERT_TRUE(file->Append("ok").ok());
  fault_.SetNoSpace(true);
  Status s = file->Append("more");
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_EQ(s.context().file, "/db/full");
  auto free_bytes = fault_.GetFreeSpace(kDir);
  ASSERT_TRUE(free_bytes.ok());
  EXPECT_EQ(*free_bytes, 0u);
  EXPECT_EQ(file->Size(), 2u);
  fault_.SetNoSpace(false);
  ASSERT_TRUE(file->Append("more").ok());
  EXPECT_GT(*fault_.GetFreeSpace(kDir), 0u);
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ(Read("/db/full"), "okmore");
}

TEST_F(FaultEnvTest, CrashAfterNthMutationFailsEverythingMutatingLater) {
  WriteDurable("/db/keep", "kept");
  fault_.CrashAfterNthMutation(2);
  auto file = Open("/db/c");  // mutation 1
  ASSERT_NE(file, nullptr);
  EXPECT_FALSE(fault_.crashed());
  ASSERT_TRUE(file->Append("a").ok());  // mutation 2: the last one to happen
  EXPECT_TRUE(fault_.crashed());
  Status s = file->Append("b");
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_EQ(s.message(), "simulated crash");
  EXPECT_FALSE(file->Sync().ok());
  EXPECT_FALSE(fault_.RenameFile("/db/c", "/db/d").ok());
  EXPECT_FALSE(fault_.RemoveFile("/db/keep").ok());
  EXPECT_FALSE(fault_.CreateDirs("/db/new").ok());
  EXPECT_FALSE(fault_.NewWritableFile("/db/e").ok());
  EXPECT_FALSE(fault_.SyncDir(kDir).ok());
  // Reads still work, so the test can inspect what the "process" left.
  EXPECT_EQ(Read("/db/c"), "a");
  EXPECT_EQ(Read("/db/keep"), "kept");
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_FALSE(fault_.FileExists("/db/c"));  // never synced, entry never durable
  EXPECT_EQ(Read("/db/keep"), "kept");
  fault_.ClearFaults();
  EXPECT_FALSE(fault_.crashed());
  WriteDurable("/db/after", "reboot");
  EXPECT_EQ(Read("/db/after"), "reboot");
}

TEST_F(FaultEnvTest, DropKeepsSyncedPrefixOnly) {
  auto file = Open("/db/wal");
  ASSERT_TRUE(fault_.SyncDir(kDir).ok());
  ASSERT_TRUE(file->Append("abc").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Append("def").ok());
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ(Read("/db/wal"), "abcdef");
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/db/wal"), "abc");
}

TEST_F(FaultEnvTest, DropKeepsFullySyncedFile) {
  WriteDurable("/db/synced", "all of it");
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/db/synced"), "all of it");
}

TEST_F(FaultEnvTest, NeverSyncedFileBecomesEmpty) {
  auto file = Open("/db/unsynced");
  ASSERT_TRUE(fault_.SyncDir(kDir).ok());
  ASSERT_TRUE(file->Append("lost").ok());
  ASSERT_TRUE(file->Close().ok());
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  ASSERT_TRUE(fault_.FileExists("/db/unsynced"));
  EXPECT_EQ(Read("/db/unsynced"), "");
}

TEST_F(FaultEnvTest, AppendableFileKeepsEarlierSyncedData) {
  WriteDurable("/db/log", "first");
  auto file = fault_.NewAppendableFile("/db/log");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append("+second").ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Append("+third").ok());
  ASSERT_TRUE((*file)->Close().ok());
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/db/log"), "first+second");
}

TEST_F(FaultEnvTest, FileCreatedWithoutDirSyncVanishes) {
  auto file = Open("/db/new");
  ASSERT_TRUE(file->Append("synced data").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Close().ok());
  ASSERT_TRUE(fault_.SyncDir(kOtherDir).ok());  // the wrong directory does not help
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_FALSE(fault_.FileExists("/db/new"));
  auto children = fault_.GetChildren(kDir);
  ASSERT_TRUE(children.ok());
  EXPECT_EQ(*children, std::vector<std::string>{"archive"});
}

TEST_F(FaultEnvTest, RenameWithoutDirSyncReverts) {
  WriteDurable("/db/CURRENT", "old");
  WriteDurable("/db/CURRENT.tmp", "new");
  ASSERT_TRUE(fault_.RenameFile("/db/CURRENT.tmp", "/db/CURRENT").ok());
  EXPECT_EQ(Read("/db/CURRENT"), "new");
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/db/CURRENT"), "old");
  EXPECT_EQ(Read("/db/CURRENT.tmp"), "new");  // the source reappears
}

TEST_F(FaultEnvTest, RenameToNewNameWithoutDirSyncReverts) {
  WriteDurable("/db/seg.tmp", "segment");
  ASSERT_TRUE(fault_.RenameFile("/db/seg.tmp", "/db/seg").ok());
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_FALSE(fault_.FileExists("/db/seg"));
  EXPECT_EQ(Read("/db/seg.tmp"), "segment");
}

TEST_F(FaultEnvTest, RenameWithDirSyncPersists) {
  WriteDurable("/db/CURRENT", "old");
  ASSERT_TRUE(fault_.WriteFileAtomic("/db/CURRENT", "new").ok());  // ends with SyncDir
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/db/CURRENT"), "new");
  EXPECT_FALSE(fault_.FileExists("/db/CURRENT.tmp"));
}

TEST_F(FaultEnvTest, UnsyncedTempFileAndRenameBothVanish) {
  WriteDurable("/db/CURRENT", "old");
  auto file = Open("/db/CURRENT.tmp");
  ASSERT_TRUE(file->Append("new").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Close().ok());
  ASSERT_TRUE(fault_.RenameFile("/db/CURRENT.tmp", "/db/CURRENT").ok());
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/db/CURRENT"), "old");
  EXPECT_FALSE(fault_.FileExists("/db/CURRENT.tmp"));
}

TEST_F(FaultEnvTest, RenameIsDurableOnlyBySyncOfTargetDirectory) {
  WriteDurable("/db/block", "b");
  ASSERT_TRUE(fault_.RenameFile("/db/block", "/db/archive/block").ok());
  ASSERT_TRUE(fault_.SyncDir(kDir).ok());  // the source's directory: not enough
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/db/block"), "b");
  EXPECT_FALSE(fault_.FileExists("/db/archive/block"));

  ASSERT_TRUE(fault_.RenameFile("/db/block", "/db/archive/block").ok());
  ASSERT_TRUE(fault_.SyncDir(kOtherDir).ok());
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_FALSE(fault_.FileExists("/db/block"));
  EXPECT_EQ(Read("/db/archive/block"), "b");
}

TEST_F(FaultEnvTest, RenamedFileKeepsItsSyncMark) {
  WriteDurable("/db/a", "");
  auto file = fault_.NewAppendableFile("/db/a");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append("synced").ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE(fault_.RenameFile("/db/a", "/db/b").ok());
  ASSERT_TRUE(fault_.SyncDir(kDir).ok());
  ASSERT_TRUE((*file)->Append("+later").ok());  // written through the old handle
  ASSERT_TRUE((*file)->Close().ok());
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/db/b"), "synced");
}

TEST_F(FaultEnvTest, DirectoryRenameWithoutParentSyncReverts) {
  ASSERT_TRUE(fault_.CreateDirs("/db/block.tmp").ok());
  WriteDurable("/db/block.tmp/chunks", "c");
  ASSERT_TRUE(fault_.RenameFile("/db/block.tmp", "/db/block").ok());
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_FALSE(fault_.FileExists("/db/block"));
  EXPECT_EQ(Read("/db/block.tmp/chunks"), "c");

  ASSERT_TRUE(fault_.RenameFile("/db/block.tmp", "/db/block").ok());
  ASSERT_TRUE(fault_.SyncDir(kDir).ok());
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/db/block/chunks"), "c");
}

TEST_F(FaultEnvTest, WriteHandlesDieWithThePowerLoss) {
  auto file = Open("/db/h");
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  Status s = file->Append("x");
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_FALSE(file->Sync().ok());
  EXPECT_TRUE(file->Close().ok());
}

TEST_F(FaultEnvTest, FilesFromBeforeTheWrapperCountAsDurable) {
  ASSERT_TRUE(base_->WriteFileAtomic("/db/preexisting", "from an earlier run").ok());
  auto file = fault_.NewAppendableFile("/db/preexisting");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append(" + unsynced").ok());
  ASSERT_TRUE((*file)->Close().ok());
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/db/preexisting"), "from an earlier run");
}

TEST_F(FaultEnvTest, TruncateLowersTheSyncMark) {
  WriteDurable("/db/t", "0123456789");
  ASSERT_TRUE(fault_.TruncateFile("/db/t", 4).ok());
  auto file = fault_.NewAppendableFile("/db/t");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append("xyz").ok());
  ASSERT_TRUE((*file)->Close().ok());
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  EXPECT_EQ(Read("/db/t"), "0123");
}

// A mkdtemp directory removed on scope exit, even when an assertion fails.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/sf_fault_env_test.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(FaultEnvPosixTest, DropsUnsyncedDataOnTheRealFileSystem) {
  TempDir dir;
  FaultEnv fault(Env::Posix());
  const std::string path = JoinPath(dir.path(), "wal");
  auto file = fault.NewWritableFile(path);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(fault.SyncDir(dir.path()).ok());
  ASSERT_TRUE((*file)->Append("durable").ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Append("-volatile").ok());
  ASSERT_TRUE(fault.DropUnsyncedData().ok());
  file->reset();  // closing the dead handle must not write anything more
  auto content = Env::Posix()->ReadFileToString(path);
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(*content, "durable");
}

}  // namespace
}  // namespace shopfloor::core
