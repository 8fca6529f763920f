// AuditLog: append, query, the hash chain, the head file, tampering and concurrency.
#include <thread>

#include "auth/audit_head.h"
#include "auth_test_util.h"

namespace shopfloor::auth {
namespace {

class AuditLogTest : public AuthFixture {
 protected:
  void AppendN(int n, const std::string& actor = "root") {
    for (int i = 0; i < n; ++i) {
      AuditEntry e;
      e.actor = actor;
      e.action = i % 2 == 0 ? "asset.update" : "twin.desired";
      e.target = "works/press-" + std::to_string(i);
      e.new_value = R"({"speed":)" + std::to_string(i) + "}";
      auto r = audit_->Append(e);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      clock_.Advance(core::kSecond);
    }
  }
  AuditVerifyResult VerifyOk() {
    auto v = audit_->Verify();
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : AuditVerifyResult{};
  }
};

TEST_F(AuditLogTest, AppendStampsSeqTimeAndHash) {
  AuditEntry e;
  e.actor = "cli";
  e.action = "user.create";
  e.target = "root";
  auto first = audit_->Append(e);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->seq, 1);
  EXPECT_EQ(first->ts, clock_.Now());
  EXPECT_EQ(first->hash.size(), 64u);
  e.ts = 42;
  auto second = audit_->Append(e);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->seq, 2);
  EXPECT_EQ(second->ts, 42);
  EXPECT_NE(second->hash, first->hash);
  auto head = ParseAuditHead(*core::Env::Posix()->ReadFileToString(head_path()), head_path());
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->seq, 2);
  EXPECT_EQ(head->hash, second->hash);
}

TEST_F(AuditLogTest, QueryFilters) {
  AppendN(6);
  AppendN(2, "olga");
  AuditQuery q;
  q.action = "twin.";
  EXPECT_EQ(audit_->Query(q)->size(), 4u);
  q = {};
  q.actor = "olga";
  EXPECT_EQ(audit_->Query(q)->size(), 2u);
  q = {};
  q.target = "works/press-1";
  EXPECT_EQ(audit_->Query(q)->size(), 2u);  // press-1 twice (two batches)
  q = {};
  q.after_seq = 3;
  q.limit = 2;
  auto page = audit_->Query(q);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].seq, 4);
  q = {};
  q.from = clock_.Now() - 3 * core::kSecond;
  q.to = clock_.Now() - core::kSecond;
  EXPECT_EQ(audit_->Query(q)->size(), 2u);
  q = {};
  q.action = "%";  // a prefix, not a LIKE pattern
  EXPECT_TRUE(audit_->Query(q)->empty());
}

TEST_F(AuditLogTest, TheChainVerifiesAndSurvivesAReopen) {
  AuditVerifyResult empty = VerifyOk();
  EXPECT_TRUE(empty.ok);
  EXPECT_EQ(empty.entries, 0);
  AppendN(5);
  Reopen();
  AppendN(5);
  AuditVerifyResult v = VerifyOk();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries, 10);
}

TEST_F(AuditLogTest, TriggersRefuseUpdateAndDelete) {
  AppendN(2);
  EXPECT_FALSE(db_->Exec("UPDATE audit_log SET actor='eve' WHERE seq=1").ok());
  core::Status del = db_->Exec("DELETE FROM audit_log WHERE seq=2");
  EXPECT_FALSE(del.ok());
  EXPECT_NE(del.message().find("append-only"), std::string::npos) << del.ToString();
  EXPECT_TRUE(VerifyOk().ok);
}

TEST_F(AuditLogTest, AnEditedEntryIsNamed) {
  AppendN(10);
  RawExec(db_path(), "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET new_value='{}' WHERE seq=7");
  AuditVerifyResult v = VerifyOk();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad, 7);
  EXPECT_EQ(v.entries, 6);
  EXPECT_NE(v.problem.find("entry 7: hash mismatch"), std::string::npos) << v.problem;
}

TEST_F(AuditLogTest, AnEntryReplacedByAValidlyHashedForgeryBreaksTheLink) {
  AppendN(4);
  // The intruder builds a self-consistent entry 2 elsewhere (its hash matches its own
  // content and prev_hash) and swaps it in: only the link to entry 1 can tell.
  TempDir other_dir;
  {
    auto other_db = meta::Db::OpenInDataDir(other_dir.path());
    ASSERT_TRUE(other_db.ok());
    auto other = AuditLog::Open(other_db->get(), &clock_, "");
    ASSERT_TRUE(other.ok());
    AuditEntry e;
    e.actor = "eve";
    e.action = "asset.update";
    ASSERT_TRUE((*other)->Append(e).ok());
    ASSERT_TRUE((*other)->Append(e).ok());
  }
  RawExec(db_path(), "DROP TRIGGER audit_log_no_delete; ATTACH DATABASE '" + other_dir.path() +
                         "/meta.db' AS forged; DELETE FROM audit_log WHERE seq=2; "
                         "INSERT INTO audit_log SELECT * FROM forged.audit_log WHERE seq=2");
  AuditVerifyResult v = VerifyOk();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad, 2);
  EXPECT_NE(v.problem.find("entry 2: chain broken"), std::string::npos) << v.problem;
}

TEST_F(AuditLogTest, ADeletedMiddleEntryIsNamed) {
  AppendN(5);
  RawExec(db_path(), "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq=3");
  AuditVerifyResult v = VerifyOk();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad, 3);
  EXPECT_NE(v.problem.find("missing"), std::string::npos) << v.problem;
}

TEST_F(AuditLogTest, ADeletedTailIsDetectedThroughTheHeadFile) {
  AppendN(5);
  RawExec(db_path(), "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq=5");
  AuditVerifyResult v = VerifyOk();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad, 5);
  EXPECT_EQ(v.entries, 4);
  EXPECT_NE(v.problem.find("tail was deleted"), std::string::npos) << v.problem;
}

TEST_F(AuditLogTest, AMissingOrDamagedHeadFileIsReported) {
  AppendN(3);
  ASSERT_TRUE(core::Env::Posix()->WriteFileAtomic(head_path(), "shopfloor-audit-head v1 3 xyz\n").ok());
  AuditVerifyResult damaged = VerifyOk();
  EXPECT_FALSE(damaged.ok);
  EXPECT_NE(damaged.problem.find("audit head file"), std::string::npos) << damaged.problem;
  ASSERT_TRUE(core::Env::Posix()->RemoveFile(head_path()).ok());
  AuditVerifyResult missing = VerifyOk();
  EXPECT_FALSE(missing.ok);
  EXPECT_NE(missing.problem.find("missing"), std::string::npos) << missing.problem;
}

TEST_F(AuditLogTest, ConcurrentAppendsKeepTheChain) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kPerThread; ++i) {
        AuditEntry e;
        e.actor = "thread-" + std::to_string(t);
        e.action = "test.append";
        e.target = std::to_string(i);
        auto r = audit_->Append(e);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  AuditVerifyResult v = VerifyOk();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries, kThreads * kPerThread);
}

TEST_F(AuditLogTest, TwoLogsOnOneFileShareTheChain) {
  // As the server and `shopfloor admin` do: two connections, one chain, one head file.
  auto other_db = meta::Db::OpenInDataDir(dir_.path());
  ASSERT_TRUE(other_db.ok());
  auto other = AuditLog::Open(other_db->get(), &clock_, head_path());
  ASSERT_TRUE(other.ok());
  for (int i = 0; i < 6; ++i) {
    AuditEntry e;
    e.action = "test.append";
    ASSERT_TRUE((i % 2 == 0 ? audit_ : *other)->Append(e).ok());
  }
  EXPECT_TRUE(VerifyOk().ok);
  EXPECT_EQ(VerifyOk().entries, 6);
}

TEST(AuditHead, ParsesOnlyTheExactForm) {
  const std::string hash(64, 'a');
  auto ok = ParseAuditHead(FormatAuditHead({12, hash}), "h");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->seq, 12);
  for (const std::string& bad :
       {std::string(""), std::string("shopfloor-audit-head v1 "), "shopfloor-audit-head v1 0 " + hash + "\n",
        "shopfloor-audit-head v1 012 " + hash + "\n", "shopfloor-audit-head v1 -1 " + hash + "\n",
        "shopfloor-audit-head v1 12 " + hash, "shopfloor-audit-head v1 12 " + hash + "\nx",
        "shopfloor-audit-head v1 12 " + std::string(64, 'A') + "\n", "shopfloor-audit-head v2 12 " + hash + "\n",
        std::string("shopfloor-audit-head v1 99999999999999999999 ") + hash + "\n"}) {
    auto r = ParseAuditHead(bad, "h");
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), core::StatusCode::kCorruption);
    }
  }
}

}  // namespace
}  // namespace shopfloor::auth
