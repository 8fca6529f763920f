// The shopfloor binary as a user runs it: exit codes and messages.
#include <gtest/gtest.h>

#include "app_test_util.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <regex>
#include <string>

namespace {

using shopfloor::app::testing::CliRun;
using shopfloor::app::testing::Shopfloor;


TEST(Cli, VersionAndHelp) {
  CliRun v = Shopfloor("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.output.find("shopfloor "), std::string::npos);
  CliRun h = Shopfloor("--help");
  EXPECT_EQ(h.exit_code, 0);
  for (const char* sub : {"config", "serve", "admin"}) EXPECT_NE(h.output.find(sub), std::string::npos) << sub;
}

TEST(Cli, ConfigCheckAcceptsTheDemoPlant) {
  CliRun r = Shopfloor(std::string("config check ") + SHOPFLOOR_SOURCE_DIR + "/config/demo-works.yaml");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("OK"), std::string::npos) << r.output;
}

TEST(Cli, ConfigCheckReportsEachProblemWithFileLineAndColumn) {
  const std::string file = std::string(SHOPFLOOR_SOURCE_DIR) + "/tests/app/data/three_problems.yaml";
  CliRun r = Shopfloor("config check " + file);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  // One line per problem, each "<file>:<line>:<column>: <message>".
  const std::regex located(R"((^|\n)[^\n]*three_problems\.yaml:(\d+):(\d+): [^\n]+)");
  std::vector<std::pair<int, int>> where;
  for (std::sregex_iterator it(r.output.begin(), r.output.end(), located), end; it != end; ++it) {
    where.emplace_back(std::stoi((*it)[2]), std::stoi((*it)[3]));
  }
  ASSERT_EQ(where.size(), 3u) << r.output;
  EXPECT_EQ(where[0], std::make_pair(16, 34)) << r.output;  // "lots" is not a number
  EXPECT_EQ(where[1], std::make_pair(17, 25)) << r.output;  // second "press"
  EXPECT_EQ(where[2], std::make_pair(18, 19)) << r.output;  // unknown key "colour"
  EXPECT_NE(r.output.find("3 problems"), std::string::npos) << r.output;
}

TEST(Cli, ConfigCheckReportsBadModbusAddressesWithFileLineAndColumn) {
  const std::string file = std::string(SHOPFLOOR_SOURCE_DIR) + "/tests/app/data/modbus_problems.yaml";
  CliRun r = Shopfloor("config check " + file);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("modbus_problems.yaml:18:64: acme/plant-1/hall/press tag \"far\": modbus address \"ir:70000\": "
                          "register 70000 is beyond 65535"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("modbus_problems.yaml:23:30: acme/plant-1/hall/press tag \"speed\": modbus address "
                          "\"ir:9:float32\": a writable tag needs a co or hr address (ir is read-only)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("2 problems"), std::string::npos) << r.output;
}

TEST(Cli, ConfigCheckOnAMissingFileFails) {
  CliRun r = Shopfloor("config check /nonexistent/plant.yaml");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("/nonexistent/plant.yaml"), std::string::npos) << r.output;
}

TEST(Cli, BadArgumentsFailWithUsage) {
  EXPECT_NE(Shopfloor("").exit_code, 0);
  EXPECT_NE(Shopfloor("serve --durability sometimes --data /tmp/x").exit_code, 0);
  EXPECT_NE(Shopfloor("serve --http nonsense --data /tmp/x").exit_code, 0);
  EXPECT_NE(Shopfloor("frobnicate").exit_code, 0);
}

}  // namespace
