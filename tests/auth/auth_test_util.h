// Shared fixture pieces for the auth tests: a temporary data directory with meta.db,
// a SimClock, an AuditLog and a UserStore with fast password hashing.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "auth/audit.h"
#include "auth/auth.h"
#include "core/core.h"
#include "meta/db.h"

namespace shopfloor::auth {

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "sf_auth_XXXXXX").string();
    path_ = mkdtemp(templ.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs SQL on the database file through a separate raw connection (as an intruder would).
inline void RawExec(const std::string& db_path, const std::string& sql) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &raw), SQLITE_OK);
  sqlite3_busy_timeout(raw, 5000);
  char* err = nullptr;
  const int rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &err);
  std::string message = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close(raw);
  ASSERT_EQ(rc, SQLITE_OK) << message << " in: " << sql;
}

class AuthFixture : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(AuthOptions options = {}) {
    store_.reset();
    audit_.reset();
    db_.reset();
    auto db = meta::Db::OpenInDataDir(dir_.path());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    auto audit = AuditLog::Open(db_.get(), &clock_, head_path());
    ASSERT_TRUE(audit.ok()) << audit.status().ToString();
    audit_ = std::move(*audit);
    options.fast_hash_for_tests = true;
    auto store = UserStore::Open(db_.get(), &clock_, audit_.get(), options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  std::string db_path() const { return dir_.path() + "/meta.db"; }
  std::string head_path() const { return dir_.path() + "/audit.head"; }

  std::vector<AuditEntry> Audit(const std::string& action_prefix = "") {
    AuditQuery q;
    q.action = action_prefix;
    auto r = audit_->Query(q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<AuditEntry>{};
  }

  TempDir dir_;
  core::SimClock clock_;
  std::unique_ptr<meta::Db> db_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<UserStore> store_;
};

}  // namespace shopfloor::auth
