#include "meta/db.h"

#include <filesystem>

#include <gtest/gtest.h>

namespace shopfloor::meta {
namespace {

TEST(DbTest, MigratesOncePerComponentAndKeepsData) {
  const std::string dir = testing::TempDir() + "/meta_db_test";
  std::filesystem::remove_all(dir);
  {
    auto db = Db::OpenInDataDir(dir);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Migrate("things", {"CREATE TABLE things(id INTEGER PRIMARY KEY, name TEXT)"}).ok());
    auto ins = (*db)->Prepare("INSERT INTO things(name) VALUES(?1)");
    ASSERT_TRUE(ins.ok());
    ASSERT_TRUE(ins->Bind(1, "press-1").Run().ok());
    EXPECT_EQ((*db)->LastInsertRowId(), 1);
  }
  auto db = Db::OpenInDataDir(dir);
  ASSERT_TRUE(db.ok());
  // Version 1 is recorded: the CREATE does not run again; step 2 does.
  ASSERT_TRUE((*db)->Migrate("things", {"CREATE TABLE things(id INTEGER PRIMARY KEY, name TEXT)",
                                        "ALTER TABLE things ADD COLUMN unit TEXT"})
                  .ok());
  auto q = (*db)->Prepare("SELECT name, unit FROM things");
  ASSERT_TRUE(q.ok());
  auto row = q->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(q->Text(0), "press-1");
  EXPECT_TRUE(q->IsNull(1));
  // A database from a newer Shopfloor is refused with a clear message.
  auto s = (*db)->Migrate("things", {"CREATE TABLE x(a)"});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("newer"), std::string::npos) << s.ToString();
}

TEST(DbTest, TransactionRollsBackUnlessCommitted) {
  auto db = Db::Open(":memory:");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t(v INTEGER UNIQUE)").ok());
  {
    auto txn = Transaction::Begin(db->get());
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO t VALUES(1)").ok());
  }  // rolled back
  {
    auto txn = Transaction::Begin(db->get());
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO t VALUES(2)").ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  auto q = (*db)->Prepare("SELECT group_concat(v) FROM t");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*q->Step());
  EXPECT_EQ(q->Text(0), "2");
  // Constraint violations name the statement and are AlreadyExists.
  auto s = (*db)->Exec("INSERT INTO t VALUES(2)");
  EXPECT_EQ(s.code(), core::StatusCode::kAlreadyExists) << s.ToString();
  // An empty string_view binds '' (never NULL), even when its data() is null.
  auto empty = (*db)->Prepare("SELECT ?1 IS NULL, length(?1)");
  ASSERT_TRUE(empty.ok());
  empty->Bind(1, std::string_view());
  ASSERT_TRUE(*empty->Step());
  EXPECT_EQ(empty->Int(0), 0);
  EXPECT_EQ(empty->Int(1), 0);
  auto bad = (*db)->Prepare("SELEC nonsense");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("SELEC"), std::string::npos);
}

}  // namespace
}  // namespace shopfloor::meta
