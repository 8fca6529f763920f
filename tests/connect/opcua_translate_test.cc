// TranslateBrowsePathsToNodeIds: the text form of relative paths, and the service against
// node-opcua (tests/peers/opcua/server.js): found paths, BadNoMatch for a missing element,
// batches of the server's MaxNodesPerTranslateBrowsePathsToNodeIds.
#include <string>

#include <gtest/gtest.h>

#include "connect/opcua/client.h"
#include "connect/opcua/translate.h"
#include "opcua_peer.h"

namespace shopfloor::connect::opcua {
namespace {

constexpr uint32_t kBadNoMatch = 0x806F0000u;

TEST(BrowsePathText, AbsoluteStartsAtRoot) {
  auto path = ParseBrowsePath("/Objects/2:Plant/2:Deadband/2:Abs");
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(path->starting_node, NodeId::Numeric(0, kRootFolder));
  ASSERT_EQ(path->elements.size(), 4u);
  EXPECT_EQ(path->elements[0].target_name, (QualifiedName{0, "Objects"}));
  EXPECT_EQ(path->elements[1].target_name, (QualifiedName{2, "Plant"}));
  EXPECT_EQ(path->elements[3].target_name, (QualifiedName{2, "Abs"}));
  for (const auto& e : path->elements) {
    EXPECT_EQ(e.reference_type, NodeId::Numeric(0, kHierarchicalReferences));
    EXPECT_TRUE(e.include_subtypes);
    EXPECT_FALSE(e.is_inverse);
  }
  EXPECT_EQ(BrowsePathToString(*path), "/Objects/2:Plant/2:Deadband/2:Abs");
}

TEST(BrowsePathText, RelativeStartsAtObjectsWithTheDefaultNamespace) {
  auto path = ParseBrowsePath("Plant/Deadband/Abs", 3);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(path->starting_node, NodeId::Numeric(0, kObjectsFolder));
  ASSERT_EQ(path->elements.size(), 3u);
  EXPECT_EQ(path->elements[0].target_name, (QualifiedName{3, "Plant"}));
  EXPECT_EQ(path->elements[2].target_name, (QualifiedName{3, "Abs"}));
  // An explicit prefix wins over the default, also 0.
  path = ParseBrowsePath("0:Server.ServerStatus", 3);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(path->elements[0].target_name, (QualifiedName{0, "Server"}));
  EXPECT_EQ(path->elements[1].reference_type, NodeId::Numeric(0, kAggregates));
}

TEST(BrowsePathText, ReferenceTypesModifiersAndEscapes) {
  auto path = ParseBrowsePath("1:A<#!HasComponent>1:B<HasProperty>a&/b&.c&:d&&");
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  ASSERT_EQ(path->elements.size(), 3u);
  EXPECT_EQ(path->elements[1].reference_type, NodeId::Numeric(0, 47));
  EXPECT_FALSE(path->elements[1].include_subtypes);
  EXPECT_TRUE(path->elements[1].is_inverse);
  EXPECT_EQ(path->elements[2].reference_type, NodeId::Numeric(0, kHasProperty));
  EXPECT_EQ(path->elements[2].target_name, (QualifiedName{0, "a/b.c:d&"}));
  EXPECT_EQ(BrowsePathToString(*path), "1:A<#!HasComponent>1:B<HasProperty>a&/b&.c&:d&&");
}

TEST(BrowsePathText, BadSyntaxNamesThePosition) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "position 1: the path is empty"},
      {"/", "position 2: the path is empty"},
      {"Plant//Abs", "position 7: a BrowseName is empty"},
      {"Plant/", "position 7: the path ends after a separator"},
      {"x:Plant", "position 1: namespace \"x\" is not a number"},
      {"Plant/70000:Abs", "position 7: namespace \"70000\" is not a number"},
      {"Plant<HasFriend>Abs", "position 6: unknown reference type \"HasFriend\""},
      {"Plant<HasComponent", "position 6: \"<\" without a closing \">\""},
      {"Pla>nt", "position 4: \">\" must be escaped"},
      {"Plant&", "position 6: \"&\" escapes nothing"},
      {"1:", "position 1: a BrowseName is empty"},
  };
  for (const Case& c : cases) {
    auto path = ParseBrowsePath(c.text);
    ASSERT_FALSE(path.ok()) << c.text;
    EXPECT_TRUE(path.status().IsInvalidArgument()) << c.text;
    EXPECT_NE(path.status().ToString().find(c.message), std::string::npos)
        << c.text << ": " << path.status().ToString();
  }
}

TEST(BrowsePathText, DecodesEveryTruncationSafely) {
  Encoder e;
  e.Int32(2);
  e.UInt32(0);
  e.Int32(1);
  Encode(e, ExpandedNodeId{NodeId::String(1, "Deadband.Abs"), "", 0});
  e.UInt32(0xFFFFFFFFu);
  e.UInt32(kBadNoMatch);
  e.Int32(0);
  e.Int32(-1);  // diagnostics
  const std::string body = e.Take();
  {
    Decoder d(body);
    std::vector<BrowsePathResult> results;
    ASSERT_TRUE(DecodeBrowsePathResults(d, &results).ok());
    ASSERT_EQ(results.size(), 2u);
    ASSERT_EQ(results[0].targets.size(), 1u);
    EXPECT_EQ(results[0].targets[0].target.node_id, NodeId::String(1, "Deadband.Abs"));
    EXPECT_EQ(results[0].targets[0].remaining_path_index, 0xFFFFFFFFu);
    EXPECT_EQ(results[1].status, kBadNoMatch);
    EXPECT_TRUE(d.done());
  }
  for (size_t n = 0; n < body.size(); ++n) {
    Decoder d(std::string_view(body).substr(0, n));
    std::vector<BrowsePathResult> results;
    core::Status s = DecodeBrowsePathResults(d, &results);
    EXPECT_TRUE(s.IsInvalidArgument()) << n << ": " << s.ToString();
  }
}

class OpcUaTranslateTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> flags = {}) {
    std::string error;
    ASSERT_TRUE(peer_.Start(&error, 0, std::move(flags))) << error;
    ClientOptions options;
    options.endpoint_url = peer_.url();
    options.timeout = 5 * core::kSecond;
    auto client = Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
  }
  void SetUp() override {
    std::string reason = OpcUaPeer::MissingReason();
    if (!reason.empty()) GTEST_SKIP() << reason;
  }

  BrowsePath Path(std::string_view text) {
    auto path = ParseBrowsePath(text, 1);
    EXPECT_TRUE(path.ok()) << path.status().ToString();
    return path.ok() ? *path : BrowsePath{};
  }

  OpcUaPeer peer_;
  std::unique_ptr<Client> client_;
};

TEST_F(OpcUaTranslateTest, FindsPathsAndReportsNoMatch) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto results = client_->TranslateBrowsePaths({
      Path("/0:Objects/1:Plant/1:Deadband/1:Abs"),
      Path("Plant/Deadband/Pct"),
      Path("Plant/Deadband/Pct.0:EURange"),
      Path("Plant/Area1/Line1/Cell1"),
      Path("Plant/Deadband/Nope"),
      Path("Plant/Nope/Abs"),
      Path("0:Server.0:ServerStatus.0:State"),
  });
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 7u);
  auto only_target = [&](size_t i) {
    const BrowsePathResult& r = (*results)[i];
    EXPECT_EQ(r.status, 0u) << i << ": " << StatusCodeName(r.status);
    EXPECT_EQ(r.targets.size(), 1u) << i;
    if (r.targets.empty()) return NodeId{};
    EXPECT_EQ(r.targets[0].remaining_path_index, 0xFFFFFFFFu) << i;
    return r.targets[0].target.node_id;
  };
  EXPECT_EQ(only_target(0), NodeId::String(1, "Deadband.Abs"));
  EXPECT_EQ(only_target(1), NodeId::String(1, "Deadband.Pct"));
  EXPECT_EQ(only_target(2).namespace_index, 1);  // the EURange property has its own id
  EXPECT_EQ(only_target(3), NodeId::String(1, "Cell1"));
  EXPECT_EQ((*results)[4].status, kBadNoMatch);
  EXPECT_TRUE((*results)[4].targets.empty());
  EXPECT_EQ((*results)[5].status, kBadNoMatch);
  EXPECT_EQ(only_target(6), NodeId::Numeric(0, 2259));  // Server_ServerStatus_State
  // The property found by path reads back as the Range.
  auto range = client_->ReadEuRange(NodeId::String(1, "Deadband.Pct"));
  ASSERT_TRUE(range.ok() && *range);
  EXPECT_EQ((*range)->high, 200);
}

TEST_F(OpcUaTranslateTest, BatchesByTheServersLimit) {
  ASSERT_NO_FATAL_FAILURE(Start({"--max-translate=3"}));
  std::vector<BrowsePath> paths;
  for (int i = 0; i < 10; ++i) paths.push_back(Path("Plant/Bulk/V" + std::to_string(i * 7)));
  const uint32_t before = client_->translate_requests();
  auto results = client_->TranslateBrowsePaths(paths);
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  EXPECT_EQ(client_->translate_requests() - before, 4u);  // 3 + 3 + 3 + 1
  ASSERT_EQ(results->size(), 10u);
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ((*results)[i].targets.size(), 1u) << i;
    EXPECT_EQ((*results)[i].targets[0].target.node_id, NodeId::String(1, "Bulk.V" + std::to_string(i * 7)));
  }
  // Empty input sends nothing (the server would answer BadNothingToDo).
  auto none = client_->TranslateBrowsePaths({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace shopfloor::connect::opcua
