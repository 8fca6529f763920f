#include "core/status.h"

#include <cerrno>
#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace shopfloor::core {
namespace {

TEST(StatusTest, OkIsCheapAndEmpty) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(s.context().file.empty());
  EXPECT_TRUE(Status::OK().ok());
  // Building a status with kOk ignores the message: OK never carries one.
  EXPECT_TRUE(Status(StatusCode::kOk, "ignored").ok());
}

TEST(StatusTest, ToStringWithFileAndOffset) {
  Status s = Status::Corruption("bad record checksum", "wal/000001.log", 4096);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_EQ(s.ToString(), "Corruption: bad record checksum (file wal/000001.log, offset 4096)");
  EXPECT_EQ(s.context().file, "wal/000001.log");
  ASSERT_TRUE(s.context().offset.has_value());
  EXPECT_EQ(*s.context().offset, 4096u);
}

TEST(StatusTest, ToStringWithFileOnlyAndPeer) {
  EXPECT_EQ(Status::IOError("disk gone", "data/block").ToString(), "IO error: disk gone (file data/block)");
  StatusContext ctx;
  ctx.peer = "127.0.0.1:1883";
  EXPECT_EQ(Status(StatusCode::kUnavailable, "connection refused", ctx).ToString(),
            "Unavailable: connection refused (peer 127.0.0.1:1883)");
  ctx.file = "x";
  ctx.offset = 7;
  EXPECT_EQ(Status(StatusCode::kInvalidArgument, "m", ctx).ToString(),
            "Invalid argument: m (file x, offset 7, peer 127.0.0.1:1883)");
  EXPECT_EQ(Status::NotFound("no such series").ToString(), "Not found: no such series");
}

TEST(StatusTest, ToStringEditorStyleForLineAndColumn) {
  StatusContext ctx;
  ctx.file = "plant.yaml";
  ctx.line = 12;
  ctx.column = 5;
  EXPECT_EQ(Status::InvalidArgument("expected a number", ctx).ToString(), "plant.yaml:12:5: expected a number");
  ctx.column.reset();
  EXPECT_EQ(Status::InvalidArgument("expected a number", ctx).ToString(), "plant.yaml:12: expected a number");
  ctx.file.clear();
  EXPECT_EQ(Status::InvalidArgument("bad", ctx).ToString(), "<input>:12: bad");
}

TEST(StatusTest, CopiesAreDeepAndMovesLeaveOk) {
  Status original = Status::Corruption("torn write", "f", 10);
  Status copy = original;
  EXPECT_EQ(copy.ToString(), original.ToString());
  EXPECT_NE(&copy.message(), &original.message());  // not shared storage

  Status assigned;
  assigned = original;
  EXPECT_EQ(assigned.code(), StatusCode::kCorruption);
  assigned = Status::OK();
  EXPECT_TRUE(assigned.ok());
  EXPECT_FALSE(original.ok());  // unaffected by changes to copies

  Status& self = original;
  original = self;  // self-assignment keeps the value
  EXPECT_EQ(original.message(), "torn write");

  Status moved = std::move(original);
  EXPECT_EQ(moved.message(), "torn write");
}

TEST(StatusTest, WithPrefixKeepsCodeAndContext) {
  Status s = Status::Corruption("bad magic", "b.blk", 0).WithPrefix("opening block");
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_EQ(s.message(), "opening block: bad magic");
  EXPECT_EQ(s.context().file, "b.blk");
  EXPECT_TRUE(Status::OK().WithPrefix("anything").ok());
}

TEST(StatusTest, FromErrnoMapping) {
  struct Case {
    int err;
    StatusCode code;
  };
  const Case cases[] = {
      {ENOSPC, StatusCode::kNoSpace},          {EDQUOT, StatusCode::kNoSpace},
      {ENOENT, StatusCode::kNotFound},         {EEXIST, StatusCode::kAlreadyExists},
      {EACCES, StatusCode::kPermissionDenied}, {EPERM, StatusCode::kPermissionDenied},
      {EAGAIN, StatusCode::kBusy},             {EIO, StatusCode::kIOError},
      {EISDIR, StatusCode::kIOError},
  };
  for (const Case& c : cases) {
    Status s = Status::FromErrno(c.err, "open", "/data/wal");
    EXPECT_EQ(s.code(), c.code) << "errno " << c.err;
    EXPECT_EQ(s.context().file, "/data/wal");
  }
  Status s = Status::FromErrno(ENOSPC, "write", "seg.log");
  EXPECT_TRUE(s.IsNoSpace());
  EXPECT_EQ(s.message(), "write: No space left on device");
  EXPECT_EQ(s.ToString(), "No space: write: No space left on device (file seg.log)");
}

TEST(StatusTest, CodeNamesAreDistinct) {
  EXPECT_EQ(StatusCodeName(StatusCode::kOk), "OK");
  EXPECT_EQ(StatusCodeName(StatusCode::kNoSpace), "No space");
  EXPECT_EQ(StatusCodeName(StatusCode::kInternal), "Internal error");
  for (int a = 0; a <= static_cast<int>(StatusCode::kInternal); ++a) {
    for (int b = a + 1; b <= static_cast<int>(StatusCode::kInternal); ++b) {
      EXPECT_NE(StatusCodeName(static_cast<StatusCode>(a)), StatusCodeName(static_cast<StatusCode>(b)));
    }
  }
}

// Helpers driving the macros.
Status FailIf(bool fail) { return fail ? Status::Busy("locked") : Status::OK(); }

Status ReturnIfErrorCaller(bool fail, int* reached) {
  SF_RETURN_IF_ERROR(FailIf(fail));
  ++*reached;
  return Status::OK();
}

Result<int> Parse(bool fail) {
  if (fail) return Status::InvalidArgument("not a number");
  return 41;
}

Result<int> AssignOrReturnCaller(bool fail) {
  SF_ASSIGN_OR_RETURN(int value, Parse(fail));
  SF_ASSIGN_OR_RETURN(auto again, Parse(false));  // two uses in one scope must compile
  return value + again - 40;
}

Result<std::unique_ptr<int>> MakeBox() { return std::make_unique<int>(9); }

Status MoveOnlyCaller(int* out) {
  SF_ASSIGN_OR_RETURN(std::unique_ptr<int> box, MakeBox());
  *out = *box;
  return Status::OK();
}

TEST(StatusMacrosTest, ReturnIfError) {
  int reached = 0;
  EXPECT_TRUE(ReturnIfErrorCaller(false, &reached).ok());
  EXPECT_EQ(reached, 1);
  Status s = ReturnIfErrorCaller(true, &reached);
  EXPECT_EQ(s.code(), StatusCode::kBusy);
  EXPECT_EQ(s.message(), "locked");
  EXPECT_EQ(reached, 1);
}

TEST(StatusMacrosTest, AssignOrReturn) {
  Result<int> ok = AssignOrReturnCaller(false);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 42);
  Result<int> bad = AssignOrReturnCaller(true);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_EQ(bad.status().message(), "not a number");
  int out = 0;
  EXPECT_TRUE(MoveOnlyCaller(&out).ok());
  EXPECT_EQ(out, 9);
}

TEST(ResultTest, ValueAndError) {
  Result<std::string> value = std::string("abc");
  ASSERT_TRUE(value.ok());
  EXPECT_TRUE(value.status().ok());
  EXPECT_EQ(*value, "abc");
  EXPECT_EQ(value->size(), 3u);
  EXPECT_EQ(value.value_or("x"), "abc");
  std::string taken = std::move(value).value();
  EXPECT_EQ(taken, "abc");

  Result<std::string> error = Status::NotFound("gone", {.file = "f"});
  ASSERT_FALSE(error.ok());
  EXPECT_TRUE(error.status().IsNotFound());
  EXPECT_EQ(error.status().context().file, "f");
  EXPECT_EQ(error.value_or("fallback"), "fallback");
}

TEST(ResultTest, OkStatusBecomesInternalError) {
  Result<int> r = Status::OK();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace shopfloor::core
