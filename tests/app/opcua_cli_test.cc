// `shopfloor opcua ...` as an engineer runs it against node-opcua: browse, read (exit 3 on a
// Bad value), and the certificate workflow of a secured server: refused, listed, trusted,
// then read with a username whose password comes from the environment.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "../connect/opcua_peer.h"
#include "app_test_util.h"

namespace shopfloor::connect::opcua {
namespace {

using app::testing::CliRun;
using app::testing::Shopfloor;


class OpcUaCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string reason = OpcUaPeer::MissingReason();
    if (!reason.empty()) GTEST_SKIP() << reason;
    std::string tmpl = (std::filesystem::temp_directory_path() / "sf-opcua-cli-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    std::string error;
    ASSERT_TRUE(peer_.Start(&error, 0, {"--secure"})) << error;
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string dir_;
  OpcUaPeer peer_;
};

TEST_F(OpcUaCliTest, BrowseAndRead) {
  CliRun browse = Shopfloor("opcua browse " + peer_.url() + " --node 'ns=1;s=Plant' --depth 2");
  EXPECT_EQ(browse.exit_code, 0) << browse.output;
  EXPECT_NE(browse.output.find("ns=1;s=Scalars.Double  1:Double  Variable  Double"), std::string::npos) << browse.output;
  CliRun read = Shopfloor("opcua read " + peer_.url() + " 'ns=1;s=Scalars.Double' 'ns=1;s=Nope'");
  EXPECT_EQ(read.exit_code, 3) << read.output;
  EXPECT_NE(read.output.find("Double 3.141592653589793  status=Good  source=2024-01-02T03:04:05.678Z"),
            std::string::npos) << read.output;
  EXPECT_NE(read.output.find("ns=1;s=Nope  Null  status=BadNodeIdUnknown"), std::string::npos) << read.output;
  CliRun bad = Shopfloor("opcua read " + peer_.url() + " 'ns=1;x=1'");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
}

TEST_F(OpcUaCliTest, SecuredServerIsTrustedThenRead) {
  const std::string secure = " --security Basic256Sha256 --data " + dir_;
  const std::string read = "opcua read " + peer_.url() + " 'ns=1;s=Scalars.Double'" + secure;
  CliRun refused = Shopfloor(read);
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("is not trusted"), std::string::npos) << refused.output;

  CliRun certs = Shopfloor("opcua certs --data " + dir_);
  EXPECT_EQ(certs.exit_code, 0) << certs.output;
  EXPECT_NE(certs.output.find(":shopfloor:opcua-client"), std::string::npos) << certs.output;
  const size_t at = certs.output.find("rejected  ");
  ASSERT_NE(at, std::string::npos) << certs.output;
  const std::string thumbprint = certs.output.substr(at + 10, 40);

  CliRun trust = Shopfloor("opcua trust --data " + dir_ + " " + thumbprint.substr(0, 10));
  EXPECT_EQ(trust.exit_code, 0) << trust.output;
  EXPECT_NE(trust.output.find("trusted " + thumbprint), std::string::npos) << trust.output;

  CliRun ok = Shopfloor(read + " --user operator", "SHOPFLOOR_OPCUA_PASSWORD=secret");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("Double 3.141592653589793  status=Good"), std::string::npos) << ok.output;
  CliRun wrong = Shopfloor(read + " --user operator --mode Sign", "SHOPFLOOR_OPCUA_PASSWORD=nope");
  EXPECT_EQ(wrong.exit_code, 1) << wrong.output;
  EXPECT_NE(wrong.output.find("BadUserAccessDenied"), std::string::npos) << wrong.output;

  CliRun no_store = Shopfloor("opcua read " + peer_.url() + " i=2258 --security Basic256Sha256");
  EXPECT_EQ(no_store.exit_code, 1) << no_store.output;
  EXPECT_NE(no_store.output.find("needs --data DIR or --pki DIR"), std::string::npos) << no_store.output;
}

}  // namespace
}  // namespace shopfloor::connect::opcua
