// UserStore: users, roles and sites, logins and lockout, sessions, API tokens.
#include <fstream>
#include <iterator>

#include "auth_test_util.h"

namespace shopfloor::auth {
namespace {

using core::kMinute;
using core::kSecond;
using core::StatusCode;

class UserStoreTest : public AuthFixture {
 protected:
  void MakeAdmin(const std::string& name = "root") {
    auto u = store_->CreateUser("cli", name, "correct horse", Role::kAdmin, {});
    ASSERT_TRUE(u.ok()) << u.status().ToString();
  }
};

TEST(Role, NamesRoundTripAndUnknownNamesListTheValidOnes) {
  for (Role r : {Role::kViewer, Role::kOperator, Role::kEngineer, Role::kAdmin}) {
    auto parsed = ParseRole(RoleName(r));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, r);
  }
  auto bad = ParseRole("superuser");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("viewer, operator, engineer or admin"), std::string::npos);
}

TEST(Role, SiteScope) {
  Principal all;
  EXPECT_TRUE(all.CanAccessSite("berlin"));
  EXPECT_TRUE(all.CanAccessSite(""));
  Principal scoped;
  scoped.sites = {"berlin", "lyon"};
  EXPECT_TRUE(scoped.CanAccessSite("lyon"));
  EXPECT_FALSE(scoped.CanAccessSite("turin"));
  EXPECT_FALSE(scoped.CanAccessSite(""));  // plant-wide needs an unscoped principal
  EXPECT_TRUE(Principal{.role = Role::kOperator}.AtLeast(Role::kViewer));
  EXPECT_FALSE(Principal{.role = Role::kOperator}.AtLeast(Role::kEngineer));
}

TEST_F(UserStoreTest, CreateGetListUpdateDelete) {
  EXPECT_FALSE(store_->HasUsers());
  MakeAdmin();
  auto op = store_->CreateUser("root", "olga", "password1", Role::kOperator, {"lyon", "berlin", "lyon"});
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  EXPECT_TRUE(store_->HasUsers());
  EXPECT_EQ(op->sites, (std::vector<std::string>{"berlin", "lyon"}));  // sorted, deduplicated

  auto got = store_->GetUser("olga");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->role, Role::kOperator);
  EXPECT_EQ(got->sites, (std::vector<std::string>{"berlin", "lyon"}));
  EXPECT_EQ(got->created, clock_.Now());
  ASSERT_EQ(store_->ListUsers().size(), 2u);

  UserStore::UserUpdate up;
  up.role = Role::kEngineer;
  up.sites = std::vector<std::string>{"turin"};
  auto changed = store_->UpdateUser("root", "olga", up);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(store_->GetUser("olga")->role, Role::kEngineer);
  EXPECT_EQ(store_->GetUser("olga")->sites, std::vector<std::string>{"turin"});

  ASSERT_TRUE(store_->DeleteUser("root", "olga").ok());
  EXPECT_EQ(store_->GetUser("olga").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->DeleteUser("root", "olga").code(), StatusCode::kNotFound);
}

TEST_F(UserStoreTest, BadInputIsRefusedWithAClearMessage) {
  auto dup = store_->CreateUser("cli", "a b", "password1", Role::kViewer, {});
  EXPECT_EQ(dup.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dup.status().message().find("invalid user name"), std::string::npos);
  auto short_pw = store_->CreateUser("cli", "ann", "short", Role::kViewer, {});
  EXPECT_EQ(short_pw.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(short_pw.status().message().find("at least 8"), std::string::npos);
  auto bad_site = store_->CreateUser("cli", "ann", "password1", Role::kViewer, {"a/b"});
  EXPECT_EQ(bad_site.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_site.status().message().find("invalid site name \"a/b\""), std::string::npos);
  ASSERT_TRUE(store_->CreateUser("cli", "ann", "password1", Role::kViewer, {}).ok());
  EXPECT_EQ(store_->CreateUser("cli", "ann", "password2", Role::kViewer, {}).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->UpdateUser("cli", "nobody", {}).status().code(), StatusCode::kNotFound);
}

TEST_F(UserStoreTest, TheLastUnscopedEnabledAdminCannotBeRemoved) {
  MakeAdmin("root");
  UserStore::UserUpdate demote;
  demote.role = Role::kEngineer;
  UserStore::UserUpdate scope;
  scope.sites = std::vector<std::string>{"lyon"};
  UserStore::UserUpdate disable;
  disable.disabled = true;
  for (const auto* up : {&demote, &scope, &disable}) {
    auto r = store_->UpdateUser("root", "root", *up);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("last enabled admin"), std::string::npos) << r.status().ToString();
  }
  core::Status del = store_->DeleteUser("root", "root");
  EXPECT_NE(del.message().find("last enabled admin"), std::string::npos) << del.ToString();
  // A scoped admin does not count as the plant's administrator.
  ASSERT_TRUE(store_->CreateUser("root", "site-admin", "password1", Role::kAdmin, {"lyon"}).ok());
  EXPECT_FALSE(store_->DeleteUser("root", "root").ok());
  ASSERT_TRUE(store_->CreateUser("root", "root2", "password1", Role::kAdmin, {}).ok());
  EXPECT_TRUE(store_->UpdateUser("root2", "root", demote).ok());
  EXPECT_FALSE(store_->DeleteUser("root2", "root2").ok());
  EXPECT_TRUE(store_->DeleteUser("root2", "root").ok());
  // The refusals are in the audit trail with their reason.
  auto refused = Audit("user.");
  int refusals = 0;
  for (const AuditEntry& e : refused) refusals += e.result.find("last enabled admin") != std::string::npos;
  EXPECT_EQ(refusals, 6);
}

TEST_F(UserStoreTest, LoginOpensASessionThatExpires) {
  MakeAdmin();
  ASSERT_TRUE(store_->CreateUser("root", "olga", "password1", Role::kOperator, {"lyon"}).ok());
  auto session = store_->Login("olga", "password1", "10.0.0.7:5123");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  EXPECT_EQ(session->token.rfind("sfs_", 0), 0u);
  EXPECT_EQ(session->expires, clock_.Now() + 12 * core::kHour);
  EXPECT_EQ(session->principal.user, "olga");
  EXPECT_EQ(session->principal.via, "session");

  auto p = store_->Authenticate(session->token);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->role, Role::kOperator);
  EXPECT_EQ(p->sites, std::vector<std::string>{"lyon"});
  EXPECT_TRUE(p->CanAccessSite("lyon"));
  EXPECT_FALSE(p->CanAccessSite("berlin"));

  clock_.Advance(12 * core::kHour);
  auto expired = store_->Authenticate(session->token);
  EXPECT_EQ(expired.status().code(), StatusCode::kUnauthenticated);

  auto again = store_->Login("olga", "password1", "");
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(store_->Logout(again->token).ok());
  EXPECT_EQ(store_->Authenticate(again->token).status().code(), StatusCode::kUnauthenticated);

  auto login = Audit("login");
  ASSERT_EQ(login.size(), 2u);
  EXPECT_EQ(login[0].actor, "olga");
  EXPECT_EQ(login[0].remote, "10.0.0.7:5123");
  EXPECT_EQ(Audit("logout").size(), 1u);
}

TEST_F(UserStoreTest, WrongPasswordsAreGenericAndFiveWithinTheWindowLock) {
  MakeAdmin();
  auto unknown = store_->Login("nobody", "password1", "");
  auto wrong = store_->Login("root", "wrong password", "");
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(unknown.status().message(), wrong.status().message());  // names cannot be probed

  for (int i = 0; i < 3; ++i) {
    clock_.Advance(kMinute);
    EXPECT_EQ(store_->Login("root", "wrong password", "").status().code(), StatusCode::kUnauthenticated);
  }
  EXPECT_EQ(store_->GetUser("root")->locked_until, 0);
  clock_.Advance(kMinute);
  EXPECT_EQ(store_->Login("root", "wrong password", "").status().code(), StatusCode::kUnauthenticated);  // 5th
  const core::Timestamp locked_until = store_->GetUser("root")->locked_until;
  EXPECT_EQ(locked_until, clock_.Now() + 15 * kMinute);

  // While locked even the right password is refused, with the lock's end in the message.
  auto locked = store_->Login("root", "correct horse", "");
  EXPECT_EQ(locked.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(locked.status().message().find("account locked until " + core::FormatTimestamp(locked_until)),
            std::string::npos)
      << locked.status().ToString();
  clock_.Advance(15 * kMinute - kSecond);
  EXPECT_EQ(store_->Login("root", "correct horse", "").status().code(), StatusCode::kPermissionDenied);
  clock_.Advance(kSecond);
  EXPECT_TRUE(store_->Login("root", "correct horse", "").ok());

  EXPECT_EQ(Audit("login.failed").size(), 5u);  // unknown + 4 wrong before the lock
  auto lock_entries = Audit("login.locked");
  ASSERT_EQ(lock_entries.size(), 3u);  // the lock itself and two refused attempts
  EXPECT_NE(lock_entries[0].result.find("5 failed logins"), std::string::npos) << lock_entries[0].result;
  for (const AuditEntry& e : Audit()) {
    EXPECT_EQ(e.new_value.find("horse"), std::string::npos);
    EXPECT_EQ(e.new_value.find("wrong password"), std::string::npos);
  }
}

TEST_F(UserStoreTest, FailuresOlderThanTheWindowDoNotCount) {
  MakeAdmin();
  for (int i = 0; i < 4; ++i) ASSERT_FALSE(store_->Login("root", "nope nope", "").ok());
  clock_.Advance(15 * kMinute);
  for (int i = 0; i < 4; ++i) ASSERT_FALSE(store_->Login("root", "nope nope", "").ok());
  EXPECT_EQ(store_->GetUser("root")->locked_until, 0);
  EXPECT_TRUE(store_->Login("root", "correct horse", "").ok());
  // A success resets the count.
  for (int i = 0; i < 4; ++i) ASSERT_FALSE(store_->Login("root", "nope nope", "").ok());
  EXPECT_EQ(store_->GetUser("root")->locked_until, 0);
}

TEST_F(UserStoreTest, UnlockClearsALockout) {
  MakeAdmin();
  ASSERT_TRUE(store_->CreateUser("root", "olga", "password1", Role::kViewer, {}).ok());
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(store_->Login("olga", "nope nope", "").ok());
  EXPECT_EQ(store_->Login("olga", "password1", "").status().code(), StatusCode::kPermissionDenied);
  UserStore::UserUpdate up;
  up.unlock = true;
  auto r = store_->UpdateUser("root", "olga", up);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->locked_until, 0);
  EXPECT_TRUE(store_->Login("olga", "password1", "").ok());
}

TEST_F(UserStoreTest, PasswordChangeAndDisable) {
  MakeAdmin();
  ASSERT_TRUE(store_->CreateUser("root", "olga", "password1", Role::kViewer, {}).ok());
  auto session = store_->Login("olga", "password1", "");
  ASSERT_TRUE(session.ok());
  UserStore::UserUpdate pw;
  pw.password = "password2";
  ASSERT_TRUE(store_->UpdateUser("olga", "olga", pw).ok());
  EXPECT_FALSE(store_->Login("olga", "password1", "").ok());
  EXPECT_TRUE(store_->Login("olga", "password2", "").ok());
  auto updates = Audit("user.update");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_NE(updates[0].new_value.find("\"password\":\"changed\""), std::string::npos);
  EXPECT_EQ(updates[0].new_value.find("password2"), std::string::npos);

  UserStore::UserUpdate off;
  off.disabled = true;
  ASSERT_TRUE(store_->UpdateUser("root", "olga", off).ok());
  EXPECT_EQ(store_->Authenticate(session->token).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(store_->Login("olga", "password2", "").status().code(), StatusCode::kUnauthenticated);
}

TEST_F(UserStoreTest, ApiTokensAuthenticateExpireAndRevoke) {
  MakeAdmin();
  ASSERT_TRUE(store_->CreateUser("root", "line1", "password1", Role::kEngineer, {"lyon"}).ok());
  auto forever = store_->CreateToken("root", "line1", "telegraf-line-1");
  ASSERT_TRUE(forever.ok()) << forever.status().ToString();
  EXPECT_EQ(forever->secret.rfind("sft_", 0), 0u);
  EXPECT_EQ(forever->secret.size(), 47u);
  EXPECT_EQ(forever->info.expires, 0);
  auto p = store_->Authenticate(forever->secret);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->user, "line1");
  EXPECT_EQ(p->via, "token:" + std::to_string(forever->info.id));

  auto brief = store_->CreateToken("root", "line1", "brief", 10 * kMinute);
  ASSERT_TRUE(brief.ok());
  EXPECT_TRUE(store_->Authenticate(brief->secret).ok());
  clock_.Advance(10 * kMinute);
  EXPECT_EQ(store_->Authenticate(brief->secret).status().code(), StatusCode::kUnauthenticated);

  // last_used is written (at most once a minute).
  ASSERT_TRUE(store_->Authenticate(forever->secret).ok());
  auto tokens = store_->ListTokens("line1");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].last_used, clock_.Now());
  EXPECT_EQ(tokens[0].name, "telegraf-line-1");

  ASSERT_TRUE(store_->RevokeToken("root", forever->info.id).ok());
  EXPECT_EQ(store_->Authenticate(forever->secret).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(store_->RevokeToken("root", forever->info.id).code(), StatusCode::kNotFound);

  // Malformed and foreign tokens are refused without a crash.
  for (const char* t : {"", "sft_", "Bearer x", "sfs_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"}) {
    EXPECT_EQ(store_->Authenticate(t).status().code(), StatusCode::kUnauthenticated) << t;
  }
  std::string forged = forever->secret;
  forged[10] = forged[10] == 'A' ? 'B' : 'A';
  EXPECT_EQ(store_->Authenticate(forged).status().code(), StatusCode::kUnauthenticated);

  EXPECT_EQ(Audit("token.create").size(), 2u);
  auto revoked = Audit("token.revoke");
  ASSERT_EQ(revoked.size(), 2u);  // the revocation and the refused second one
  EXPECT_EQ(revoked[0].result, "ok");
  EXPECT_EQ(revoked[0].target, "line1");
  EXPECT_EQ(store_->CreateToken("root", "nobody", "x").status().code(), StatusCode::kNotFound);
}

TEST_F(UserStoreTest, DeletingAUserEndsItsTokensAndSessions) {
  MakeAdmin();
  ASSERT_TRUE(store_->CreateUser("root", "olga", "password1", Role::kViewer, {}).ok());
  auto token = store_->CreateToken("root", "olga", "t1");
  auto session = store_->Login("olga", "password1", "");
  ASSERT_TRUE(token.ok() && session.ok());
  ASSERT_TRUE(store_->Authenticate(token->secret).ok());  // now cached
  ASSERT_TRUE(store_->DeleteUser("root", "olga").ok());
  EXPECT_FALSE(store_->Authenticate(token->secret).ok());
  EXPECT_FALSE(store_->Authenticate(session->token).ok());
  EXPECT_TRUE(store_->ListTokens("").empty());
}

TEST_F(UserStoreTest, NoSecretIsStoredInTheDatabase) {
  MakeAdmin();
  auto token = store_->CreateToken("root", "root", "t1");
  auto session = store_->Login("root", "correct horse", "");
  ASSERT_TRUE(token.ok() && session.ok());
  UserStore::UserUpdate pw;
  pw.password = "battery staple";
  ASSERT_TRUE(store_->UpdateUser("root", "root", pw).ok());
  store_.reset();
  audit_.reset();
  db_.reset();  // checkpoints the WAL into meta.db
  std::string bytes;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::ifstream in(db_path() + suffix, std::ios::binary);
    bytes.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ASSERT_GT(bytes.size(), 4096u);
  for (const std::string& secret : {token->secret, token->secret.substr(4), session->token.substr(4),
                                    std::string("correct horse"), std::string("battery staple")}) {
    EXPECT_EQ(bytes.find(secret), std::string::npos) << "secret found in the database";
  }
  EXPECT_NE(bytes.find("$argon2id$"), std::string::npos);  // the password is there, hashed
}

TEST_F(UserStoreTest, AuthenticatePasswordAcceptsPasswordOrOwnTokenAndCaches) {
  MakeAdmin();
  ASSERT_TRUE(store_->CreateUser("root", "olga", "password1", Role::kOperator, {}).ok());
  auto token = store_->CreateToken("root", "olga", "mqtt");
  ASSERT_TRUE(token.ok());
  auto by_token = store_->AuthenticatePassword("olga", token->secret, "");
  ASSERT_TRUE(by_token.ok()) << by_token.status().ToString();
  EXPECT_EQ(by_token->via, "token:" + std::to_string(token->info.id));
  EXPECT_FALSE(store_->AuthenticatePassword("root", token->secret, "").ok());  // not root's token

  auto by_password = store_->AuthenticatePassword("olga", "password1", "");
  ASSERT_TRUE(by_password.ok());
  EXPECT_EQ(by_password->via, "password");
  const size_t logins = Audit("login").size();
  ASSERT_TRUE(store_->AuthenticatePassword("olga", "password1", "").ok());
  EXPECT_EQ(Audit("login").size(), logins);  // served from the cache, no second argon2 or record
  EXPECT_EQ(store_->AuthenticatePassword("olga", "password2", "").status().code(), StatusCode::kUnauthenticated);
  // A change to the user drops the cache.
  UserStore::UserUpdate off;
  off.disabled = true;
  ASSERT_TRUE(store_->UpdateUser("root", "olga", off).ok());
  EXPECT_FALSE(store_->AuthenticatePassword("olga", "password1", "").ok());
}

TEST_F(UserStoreTest, EveryStateChangeIsAuditedAndTheChainHolds) {
  MakeAdmin();
  ASSERT_TRUE(store_->CreateUser("root", "olga", "password1", Role::kViewer, {"lyon"}).ok());
  auto token = store_->CreateToken("root", "olga", "t1");
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(store_->RevokeToken("root", token->info.id).ok());
  ASSERT_TRUE(store_->DeleteUser("root", "olga").ok());
  std::vector<std::string> actions;
  for (const AuditEntry& e : Audit()) {
    actions.push_back(e.action);
    EXPECT_EQ(e.new_value.find(token->secret), std::string::npos);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"user.create", "user.create", "token.create", "token.revoke",
                                               "user.delete"}));
  auto created = Audit("user.create");
  EXPECT_EQ(created[1].actor, "root");
  EXPECT_EQ(created[1].target, "olga");
  EXPECT_EQ(created[1].new_value, R"({"role":"viewer","sites":["lyon"],"disabled":false})");
  auto v = audit_->Verify();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->entries, 5);
}

}  // namespace
}  // namespace shopfloor::auth
