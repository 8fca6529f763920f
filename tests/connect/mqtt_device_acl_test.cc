// Device ACLs (device_auth.h): the decisions for publish and subscribe filters, and the
// hooks: device logins by secret, users passed through, command topics closed to clients,
// disabled devices denied once their record is re-read, denials counted per reason with
// the log rate-limited.
#include <gtest/gtest.h>

#include "auth/audit.h"
#include "auth/devices.h"
#include "connect/mqtt/device_auth.h"
#include "meta/db.h"

namespace shopfloor::connect::mqtt {
namespace {

constexpr std::string_view kPath = "acme/north/hall/m1";

TEST(DeviceAclTest, PublishOnlyUnderTheBoundAssetAndNeverOnCommandTopics) {
  EXPECT_EQ(DevicePublishDecision(kPath, "acme/north/hall/m1/temp"), Denial::kNone);
  EXPECT_EQ(DevicePublishDecision(kPath, "acme/north/hall/m1"), Denial::kNone);  // a batch
  EXPECT_EQ(DevicePublishDecision(kPath, "acme/north/hall/m1/spindle/speed"), Denial::kNone);
  EXPECT_EQ(DevicePublishDecision(kPath, "acme/north/hall/m10/temp"), Denial::kOutsideAssetPath);
  EXPECT_EQ(DevicePublishDecision(kPath, "acme/north/hall/m2/temp"), Denial::kOutsideAssetPath);
  EXPECT_EQ(DevicePublishDecision(kPath, "acme/north/hall"), Denial::kOutsideAssetPath);
  EXPECT_EQ(DevicePublishDecision(kPath, "acme/north/hall/m1/"), Denial::kOutsideAssetPath);
  EXPECT_EQ(DevicePublishDecision(kPath, "other/acme/north/hall/m1/temp"), Denial::kOutsideAssetPath);
  EXPECT_EQ(DevicePublishDecision(kPath, "acme/north/hall/m1/$cmd/temp"), Denial::kCommandTopic);
  EXPECT_EQ(DevicePublishDecision(kPath, "acme/north/hall/m1/x/$sys"), Denial::kCommandTopic);
}

TEST(DeviceAclTest, SubscribeOnlyToItsCommandTopics) {
  EXPECT_EQ(DeviceSubscribeDecision(kPath, "acme/north/hall/m1/$cmd/temp"), Denial::kNone);
  EXPECT_EQ(DeviceSubscribeDecision(kPath, "acme/north/hall/m1/$cmd/+"), Denial::kNone);
  EXPECT_EQ(DeviceSubscribeDecision(kPath, "acme/north/hall/m1/$cmd/#"), Denial::kNone);
  EXPECT_EQ(DeviceSubscribeDecision(kPath, "acme/north/hall/m1/spindle/$cmd/speed"), Denial::kNone);
  EXPECT_EQ(DeviceSubscribeDecision(kPath, "acme/north/hall/m1/temp"), Denial::kNotCommandTopic);
  EXPECT_EQ(DeviceSubscribeDecision(kPath, "acme/north/hall/m1/#"), Denial::kNotCommandTopic);
  EXPECT_EQ(DeviceSubscribeDecision(kPath, "acme/north/hall/m1/+/$cmd/x"), Denial::kNotCommandTopic);
  EXPECT_EQ(DeviceSubscribeDecision(kPath, "acme/north/hall/m1/$cmd"), Denial::kNotCommandTopic);
  EXPECT_EQ(DeviceSubscribeDecision(kPath, "acme/north/hall/m1/$cmd/a/b"), Denial::kNotCommandTopic);
  EXPECT_EQ(DeviceSubscribeDecision(kPath, "acme/north/hall/m1/$cmd/#/x"), Denial::kNotCommandTopic);
  EXPECT_EQ(DeviceSubscribeDecision(kPath, "acme/north/hall/m2/$cmd/temp"), Denial::kOutsideAssetPath);
  EXPECT_EQ(DeviceSubscribeDecision(kPath, "acme/#"), Denial::kOutsideAssetPath);
  EXPECT_EQ(DeviceSubscribeDecision(kPath, "#"), Denial::kOutsideAssetPath);
  EXPECT_EQ(DeviceSubscribeDecision(kPath, "+/north/hall/m1/$cmd/temp"), Denial::kOutsideAssetPath);
}

TEST(DeviceAclTest, CommandTopics) {
  EXPECT_EQ(CommandTopic(kPath, "temp"), "acme/north/hall/m1/$cmd/temp");
  EXPECT_TRUE(IsCommandTopic("acme/north/hall/m1/$cmd/temp"));
  EXPECT_TRUE(IsCommandTopic("$cmd"));
  EXPECT_FALSE(IsCommandTopic("acme/north/hall/m1/temp"));
  EXPECT_FALSE(IsCommandTopic("acme/$cmdx/temp"));
}

// Users' hooks stand-in: records what reached it.
class FakeUsers : public BrokerHooks {
 public:
  Reason Authenticate(const Connect& connect, std::string_view, std::string* principal) override {
    ++logins;
    if (connect.password != std::optional<std::string>("user-pass")) return Reason::kBadUserNameOrPassword;
    *principal = connect.username.value_or("");
    return Reason::kSuccess;
  }
  bool AuthorizePublish(const ClientView&, std::string_view) override {
    ++publishes;
    return true;
  }
  bool AuthorizeSubscribe(const ClientView&, std::string_view) override {
    ++subscribes;
    return true;
  }
  int logins = 0, publishes = 0, subscribes = 0;
};

class DeviceHooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = meta::Db::Open(":memory:");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    auto audit = auth::AuditLog::Open(db_.get(), &clock_, "");
    ASSERT_TRUE(audit.ok());
    audit_ = std::move(*audit);
    auto devices = auth::DeviceStore::Open(db_.get(), &clock_, audit_.get());
    ASSERT_TRUE(devices.ok()) << devices.status().ToString();
    devices_ = std::move(*devices);
    auto added = devices_->Add("test", "m1", std::string(kPath), false);
    ASSERT_TRUE(added.ok());
    secret_ = added->secret;
    DeviceAuthOptions options;
    options.refresh_interval = 5 * core::kSecond;
    options.log_interval = 10 * core::kSecond;
    hooks_ = std::make_unique<DeviceAuthHooks>(devices_.get(), &users_, &clock_, options);
  }

  Reason Login(const std::string& user, const std::string& password, std::string* principal) {
    Connect c;
    c.client_id = "c-" + user;
    c.username = user;
    c.password = password;
    return hooks_->Authenticate(c, "127.0.0.1:5555", principal);
  }

  core::SimClock clock_;
  std::unique_ptr<meta::Db> db_;
  std::unique_ptr<auth::AuditLog> audit_;
  std::unique_ptr<auth::DeviceStore> devices_;
  FakeUsers users_;
  std::unique_ptr<DeviceAuthHooks> hooks_;
  std::string secret_;
};

TEST_F(DeviceHooksTest, DevicesLogInWithTheirSecretAndUsersPassThrough) {
  std::string principal;
  ASSERT_EQ(Login("m1", secret_, &principal), Reason::kSuccess);
  EXPECT_EQ(principal, "device:m1");
  EXPECT_EQ(users_.logins, 0);  // a device secret never reaches the users' password check
  EXPECT_EQ(Login("m2", secret_, &principal), Reason::kBadUserNameOrPassword);
  EXPECT_EQ(Login("m1", "sfd_wrong", &principal), Reason::kBadUserNameOrPassword);
  ASSERT_EQ(Login("olga", "user-pass", &principal), Reason::kSuccess);
  EXPECT_EQ(principal, "olga");
  EXPECT_EQ(users_.logins, 1);
  EXPECT_EQ(hooks_->stats().logins, 1u);
  EXPECT_EQ(hooks_->stats().login_failures, 2u);

  auth::DeviceUpdate off;
  off.enabled = false;
  ASSERT_TRUE(devices_->Update("test", "m1", off).ok());
  EXPECT_EQ(Login("m1", secret_, &principal), Reason::kNotAuthorized);
}

TEST_F(DeviceHooksTest, AclsCountEveryDenialPerReason) {
  std::string principal;
  ASSERT_EQ(Login("m1", secret_, &principal), Reason::kSuccess);
  const ClientView device{"c-m1", "m1", principal, "127.0.0.1:5555", kMqtt5};
  EXPECT_TRUE(hooks_->AuthorizePublish(device, "acme/north/hall/m1/temp"));
  EXPECT_FALSE(hooks_->AuthorizePublish(device, "acme/north/hall/m2/temp"));
  EXPECT_FALSE(hooks_->AuthorizePublish(device, "acme/north/hall/m1/$cmd/temp"));
  EXPECT_TRUE(hooks_->AuthorizeSubscribe(device, "acme/north/hall/m1/$cmd/+"));
  EXPECT_FALSE(hooks_->AuthorizeSubscribe(device, "acme/#"));
  EXPECT_FALSE(hooks_->AuthorizeSubscribe(device, "acme/north/hall/m1/temp"));
  EXPECT_FALSE(hooks_->MayProvision(device));
  EXPECT_EQ(users_.publishes + users_.subscribes, 0);

  // Users keep their own ACLs, except that nobody publishes on a command topic.
  const ClientView user{"c-olga", "olga", "olga", "127.0.0.1:6666", kMqtt5};
  EXPECT_TRUE(hooks_->AuthorizePublish(user, "acme/north/hall/m1/temp"));
  EXPECT_FALSE(hooks_->AuthorizePublish(user, "acme/north/hall/m1/$cmd/temp"));
  EXPECT_TRUE(hooks_->AuthorizeSubscribe(user, "acme/#"));
  EXPECT_EQ(users_.publishes, 1);
  EXPECT_EQ(users_.subscribes, 1);

  DeviceAuthStats s = hooks_->stats();
  EXPECT_EQ(s.denied[static_cast<size_t>(Denial::kOutsideAssetPath)], 2u);
  EXPECT_EQ(s.denied[static_cast<size_t>(Denial::kCommandTopic)], 2u);
  EXPECT_EQ(s.denied[static_cast<size_t>(Denial::kNotCommandTopic)], 1u);
  EXPECT_EQ(s.denied[static_cast<size_t>(Denial::kDisabled)], 0u);
  // The first denial of each client was logged; the device's next three were not.
  EXPECT_EQ(s.logs_suppressed, 3u);
  clock_.Advance(11 * core::kSecond);
  EXPECT_FALSE(hooks_->AuthorizePublish(device, "elsewhere"));
  EXPECT_EQ(hooks_->stats().logs_suppressed, 3u);  // a new window: logged again
}

TEST_F(DeviceHooksTest, ADeviceDisabledOrRemovedWhileConnectedIsDeniedAfterTheRefresh) {
  std::string principal;
  ASSERT_EQ(Login("m1", secret_, &principal), Reason::kSuccess);
  const ClientView device{"c-m1", "m1", principal, "127.0.0.1:5555", kMqtt5};
  ASSERT_TRUE(devices_->Update("test", "m1", auth::DeviceUpdate{std::nullopt, std::nullopt, true}).ok());
  EXPECT_TRUE(hooks_->MayProvision(device) == false);  // still the record read at login
  clock_.Advance(6 * core::kSecond);
  EXPECT_TRUE(hooks_->MayProvision(device));  // re-read: now it may provision

  auth::DeviceUpdate off;
  off.enabled = false;
  ASSERT_TRUE(devices_->Update("test", "m1", off).ok());
  EXPECT_TRUE(hooks_->AuthorizePublish(device, "acme/north/hall/m1/temp"));  // within the refresh interval
  clock_.Advance(6 * core::kSecond);
  EXPECT_FALSE(hooks_->AuthorizePublish(device, "acme/north/hall/m1/temp"));
  ASSERT_TRUE(devices_->Remove("test", "m1").ok());
  clock_.Advance(6 * core::kSecond);
  EXPECT_FALSE(hooks_->AuthorizeSubscribe(device, "acme/north/hall/m1/$cmd/+"));
  EXPECT_EQ(hooks_->stats().denied[static_cast<size_t>(Denial::kDisabled)], 2u);
}

}  // namespace
}  // namespace shopfloor::connect::mqtt
