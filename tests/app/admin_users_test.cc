// `shopfloor admin` user, token and audit commands, run as a user runs them.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

namespace {

struct ShRun {
  int exit_code;
  std::string output;
};

// Runs a shell command line with the shopfloor binary as $SF; captures stdout only unless
// the command redirects stderr itself.
ShRun Sh(const std::string& line) {
  const std::string cmd = "SF=" + std::string(SHOPFLOOR_BINARY_DIR) + "/src/app/shopfloor; " + line;
  FILE* pipe = popen(cmd.c_str(), "r");
  ShRun run{-1, {}};
  if (pipe == nullptr) return run;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) run.output.append(buf.data(), n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

class AdminUsers : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (std::filesystem::temp_directory_path() / "sf_admin_XXXXXX").string();
    dir_ = mkdtemp(templ.data());
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
};

TEST_F(AdminUsers, BootstrapAdminTokenAndVerify) {
  ShRun created = Sh("printf 'correct horse\\n' | $SF admin create-user --data " + dir_ +
                   " --name root --role admin 2>&1");
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_NE(created.output.find("created user root (admin, all sites)"), std::string::npos) << created.output;

  ShRun scoped = Sh("printf 'password1\\n' | $SF admin create-user --data " + dir_ +
                  " --name olga --role operator --site lyon --site berlin 2>&1");
  ASSERT_EQ(scoped.exit_code, 0) << scoped.output;
  EXPECT_NE(scoped.output.find("sites berlin lyon"), std::string::npos) << scoped.output;

  // stdout carries the token alone: one line.
  ShRun token = Sh("$SF admin create-token --data " + dir_ + " --user olga --name telegraf --ttl 90d 2>/dev/null");
  ASSERT_EQ(token.exit_code, 0) << token.output;
  ASSERT_EQ(token.output.size(), 48u) << token.output;
  EXPECT_EQ(token.output.rfind("sft_", 0), 0u) << token.output;
  EXPECT_EQ(token.output.back(), '\n');
  const std::string secret = token.output.substr(0, 47);

  ShRun list = Sh("$SF admin list-users --data " + dir_);
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("olga"), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("berlin,lyon"), std::string::npos) << list.output;
  EXPECT_EQ(list.output.find("horse"), std::string::npos);

  ShRun verify = Sh("$SF admin verify-audit --data " + dir_);
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_EQ(verify.output, "audit trail intact: 3 entries\n");

  // The audit trail and the database hold neither password nor token.
  ShRun grep = Sh("cat " + dir_ + "/meta.db* | grep -c -a -e 'correct horse' -e '" + secret.substr(4) + "' ; true");
  EXPECT_EQ(grep.output, "0\n");

  // Tampering: an intruder drops the trigger and edits entry 2.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/meta.db").c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "DROP TRIGGER audit_log_no_update; "
                         "UPDATE audit_log SET new_value='{\"role\":\"admin\"}' WHERE seq=2",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  ShRun broken = Sh("$SF admin verify-audit --data " + dir_);
  EXPECT_EQ(broken.exit_code, 1) << broken.output;
  EXPECT_NE(broken.output.find("entry 2"), std::string::npos) << broken.output;
  EXPECT_NE(broken.output.find("hash mismatch"), std::string::npos) << broken.output;
}

TEST_F(AdminUsers, BadInputExitsTwoWithAMessage) {
  ShRun bad_role = Sh("printf 'password1\\n' | $SF admin create-user --data " + dir_ + " --name x --role boss 2>&1");
  EXPECT_EQ(bad_role.exit_code, 2);
  EXPECT_NE(bad_role.output.find("unknown role \"boss\""), std::string::npos) << bad_role.output;
  ShRun short_pw = Sh("printf 'short\\n' | $SF admin create-user --data " + dir_ + " --name x --role viewer 2>&1");
  EXPECT_EQ(short_pw.exit_code, 2);
  EXPECT_NE(short_pw.output.find("password too short"), std::string::npos) << short_pw.output;
  ShRun no_pw = Sh("$SF admin create-user --data " + dir_ + " --name x --role viewer </dev/null 2>&1");
  EXPECT_EQ(no_pw.exit_code, 2);
  EXPECT_NE(no_pw.output.find("no password on stdin"), std::string::npos) << no_pw.output;
  ShRun no_user = Sh("$SF admin create-token --data " + dir_ + " --user ghost 2>&1");
  EXPECT_EQ(no_user.exit_code, 2);
  EXPECT_NE(no_user.output.find("no user \"ghost\""), std::string::npos) << no_user.output;
  ShRun bad_ttl = Sh("printf 'password1\\n' | $SF admin create-user --data " + dir_ +
                   " --name x --role viewer 2>/dev/null; $SF admin create-token --data " + dir_ +
                   " --user x --ttl soon 2>&1");
  EXPECT_EQ(bad_ttl.exit_code, 2);
  EXPECT_NE(bad_ttl.output.find("--ttl"), std::string::npos) << bad_ttl.output;
}

TEST_F(AdminUsers, SetPasswordUnlockAndTailTruncation) {
  ASSERT_EQ(Sh("printf 'password1\\n' | $SF admin create-user --data " + dir_ + " --name root --role admin").exit_code,
            0);
  ShRun set = Sh("printf 'password2\\n' | $SF admin set-password --data " + dir_ + " --name root 2>&1");
  EXPECT_EQ(set.exit_code, 0) << set.output;
  ShRun unlock = Sh("$SF admin unlock --data " + dir_ + " --name root 2>&1");
  EXPECT_EQ(unlock.exit_code, 0) << unlock.output;
  ShRun ok = Sh("$SF admin verify-audit --data " + dir_);
  EXPECT_EQ(ok.output, "audit trail intact: 3 entries\n");

  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/meta.db").c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq=3", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  ShRun broken = Sh("$SF admin verify-audit --data " + dir_);
  EXPECT_EQ(broken.exit_code, 1) << broken.output;
  EXPECT_NE(broken.output.find("entry 3"), std::string::npos) << broken.output;
  EXPECT_NE(broken.output.find("tail was deleted"), std::string::npos) << broken.output;
}

}  // namespace
