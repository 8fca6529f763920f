// DeviceStore: adding, authenticating, rotating, disabling and removing MQTT devices; the
// shared login namespace with users; secrets hashed, shown once and kept out of the audit.
#include <gtest/gtest.h>

#include "auth/devices.h"
#include "auth_test_util.h"

namespace shopfloor::auth {
namespace {

class DeviceStoreTest : public AuthFixture {
 protected:
  void SetUp() override {
    AuthFixture::SetUp();
    auto devices = DeviceStore::Open(db_.get(), &clock_, audit_.get());
    ASSERT_TRUE(devices.ok()) << devices.status().ToString();
    devices_ = std::move(*devices);
  }
  void TearDown() override { devices_.reset(); }

  std::unique_ptr<DeviceStore> devices_;
};

TEST_F(DeviceStoreTest, AddedDeviceLogsInWithItsSecretOnly) {
  auto added = devices_->Add("alice", "press-1", "acme/north/hall/press-1", /*may_provision=*/false);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->secret.size(), 47u);
  EXPECT_TRUE(DeviceStore::IsDeviceSecret(added->secret));
  EXPECT_EQ(added->info.asset_path, "acme/north/hall/press-1");
  EXPECT_TRUE(added->info.enabled);
  EXPECT_FALSE(added->info.may_provision);

  auto ok = devices_->Authenticate("press-1", added->secret);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->name, "press-1");
  EXPECT_EQ(ok->asset_path, "acme/north/hall/press-1");

  std::string wrong = added->secret;
  wrong[10] = wrong[10] == 'A' ? 'B' : 'A';
  EXPECT_EQ(devices_->Authenticate("press-1", wrong).status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_EQ(devices_->Authenticate("press-2", added->secret).status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_EQ(devices_->Authenticate("press-1", "sfd_short").status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_EQ(devices_->Authenticate("press-1", "").status().code(), core::StatusCode::kUnauthenticated);

  // Only the hash is stored: the secret's text is nowhere in the database.
  auto q = db_->Prepare("SELECT count(*) FROM auth_devices WHERE secret_hash=?1 OR CAST(secret_hash AS TEXT)=?1");
  ASSERT_TRUE(q.ok());
  q->Bind(1, added->secret);
  ASSERT_TRUE(*q->Step());
  EXPECT_EQ(q->Int(0), 0);
}

TEST_F(DeviceStoreTest, RotateReplacesTheSecret) {
  auto added = devices_->Add("alice", "gw", "acme/north", false);
  ASSERT_TRUE(added.ok());
  clock_.Advance(core::kMinute);
  auto rotated = devices_->Rotate("bob", "gw");
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_NE(rotated->secret, added->secret);
  EXPECT_EQ(rotated->info.rotated, added->info.created + core::kMinute);
  EXPECT_FALSE(devices_->Authenticate("gw", added->secret).ok());
  EXPECT_TRUE(devices_->Authenticate("gw", rotated->secret).ok());
  EXPECT_EQ(devices_->Rotate("bob", "nope").status().code(), core::StatusCode::kNotFound);
}

TEST_F(DeviceStoreTest, DisabledAndRemovedDevicesAreRefused) {
  auto added = devices_->Add("alice", "m1", "acme/north/hall/m1", true);
  ASSERT_TRUE(added.ok());
  DeviceUpdate off;
  off.enabled = false;
  auto changed = devices_->Update("alice", "m1", off);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(changed->enabled);
  auto refused = devices_->Authenticate("m1", added->secret);
  EXPECT_EQ(refused.status().code(), core::StatusCode::kPermissionDenied);
  EXPECT_NE(refused.status().message().find("disabled"), std::string::npos);
  DeviceUpdate on;
  on.enabled = true;
  on.may_provision = false;
  on.asset_path = "acme/north/hall/m2";
  auto back = devices_->Update("alice", "m1", on);
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->may_provision);
  EXPECT_EQ(back->asset_path, "acme/north/hall/m2");
  EXPECT_TRUE(devices_->Authenticate("m1", added->secret).ok());

  ASSERT_TRUE(devices_->Remove("alice", "m1").ok());
  EXPECT_EQ(devices_->Authenticate("m1", added->secret).status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_EQ(devices_->Get("m1").status().code(), core::StatusCode::kNotFound);
  EXPECT_EQ(devices_->Remove("alice", "m1").code(), core::StatusCode::kNotFound);
  EXPECT_TRUE(devices_->List().empty());
}

TEST_F(DeviceStoreTest, BadNamesAndPathsAreRefusedNamingThem) {
  auto bad_name = devices_->Add("alice", "device:1", "acme/north", false);
  EXPECT_EQ(bad_name.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_name.status().message().find("device:1"), std::string::npos);
  auto bad_path = devices_->Add("alice", "d", "acme/$cmd/x", false);
  EXPECT_EQ(bad_path.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_path.status().message().find("$cmd"), std::string::npos);
  EXPECT_FALSE(devices_->Add("alice", "d", "", false).ok());
  EXPECT_FALSE(devices_->Add("alice", "d", "acme//x", false).ok());
  EXPECT_FALSE(devices_->Add("alice", "d", "acme/x/", false).ok());
  ASSERT_TRUE(devices_->Add("alice", "d", "acme/x", false).ok());
  EXPECT_EQ(devices_->Add("alice", "d", "acme/y", false).status().code(), core::StatusCode::kAlreadyExists);
}

TEST_F(DeviceStoreTest, UsersAndDevicesCannotShareAName) {
  ASSERT_TRUE(store_->CreateUser("cli", "olga", "operator-pass", Role::kOperator, {}).ok());
  auto clash = devices_->Add("alice", "olga", "acme/north", false);
  EXPECT_EQ(clash.status().code(), core::StatusCode::kAlreadyExists);
  EXPECT_NE(clash.status().message().find("user"), std::string::npos) << clash.status().ToString();

  ASSERT_TRUE(devices_->Add("alice", "press-1", "acme/north", false).ok());
  auto user = store_->CreateUser("cli", "press-1", "some-password", Role::kViewer, {});
  EXPECT_EQ(user.status().code(), core::StatusCode::kAlreadyExists);
  EXPECT_NE(user.status().message().find("device"), std::string::npos) << user.status().ToString();
}

TEST_F(DeviceStoreTest, EveryChangeIsAuditedWithoutTheSecret) {
  auto added = devices_->Add("alice", "m1", "acme/north/hall/m1", true);
  ASSERT_TRUE(added.ok());
  auto rotated = devices_->Rotate("bob", "m1");
  ASSERT_TRUE(rotated.ok());
  DeviceUpdate off;
  off.enabled = false;
  ASSERT_TRUE(devices_->Update("carol", "m1", off).ok());
  ASSERT_TRUE(devices_->Remove("dave", "m1").ok());
  EXPECT_FALSE(devices_->Remove("erin", "m1").ok());  // a refusal is audited too

  std::vector<AuditEntry> entries = Audit("device.");
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[0].action, "device.create");
  EXPECT_EQ(entries[0].actor, "alice");
  EXPECT_EQ(entries[0].target, "m1");
  EXPECT_EQ(entries[0].new_value, R"({"asset":"acme/north/hall/m1","enabled":true,"may_provision":true})");
  EXPECT_EQ(entries[1].action, "device.rotate");
  EXPECT_EQ(entries[1].actor, "bob");
  EXPECT_EQ(entries[2].action, "device.update");
  EXPECT_EQ(entries[2].new_value, R"({"asset":"acme/north/hall/m1","enabled":false,"may_provision":true})");
  EXPECT_EQ(entries[3].action, "device.delete");
  EXPECT_EQ(entries[3].result, "ok");
  EXPECT_EQ(entries[4].result, "no device \"m1\"");
  for (const AuditEntry& e : entries) {
    for (const std::string& secret : {added->secret, rotated->secret}) {
      EXPECT_EQ(e.old_value.find(secret), std::string::npos);
      EXPECT_EQ(e.new_value.find(secret), std::string::npos);
    }
  }
  auto verified = audit_->Verify();
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok) << verified->problem;
}

TEST_F(DeviceStoreTest, ListIsSortedByName) {
  ASSERT_TRUE(devices_->Add("a", "zeta", "acme/s1", false).ok());
  ASSERT_TRUE(devices_->Add("a", "alpha", "acme/s2", true).ok());
  std::vector<DeviceInfo> list = devices_->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "alpha");
  EXPECT_TRUE(list[0].may_provision);
  EXPECT_EQ(list[1].name, "zeta");
}

}  // namespace
}  // namespace shopfloor::auth
