// The OPC UA client against node-opcua (tests/peers/opcua/server.js) on 127.0.0.1: browse,
// read of every built-in scalar type and arrays, write and read-back, batched reads, token
// renewal, and a server killed mid-session.
#include <cmath>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "connect/opcua/client.h"
#include "opcua_peer.h"

namespace shopfloor::connect::opcua {
namespace {

class OpcUaClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string reason = OpcUaPeer::MissingReason();
    if (!reason.empty()) GTEST_SKIP() << reason;
    std::string error;
    ASSERT_TRUE(peer_.Start(&error, MaxNodesPerRead())) << error;
    options_.endpoint_url = peer_.url();
    options_.timeout = 5 * core::kSecond;
  }
  virtual int MaxNodesPerRead() { return 0; }

  std::unique_ptr<Client> ConnectOrDie() {
    auto client = Client::Connect(options_);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(*client) : nullptr;
  }

  static NodeId Node(const std::string& name) { return NodeId::String(1, name); }

  OpcUaPeer peer_;
  ClientOptions options_;
};

TEST_F(OpcUaClientTest, GetEndpointsOffersSecurityNone) {
  auto endpoints = Client::GetEndpoints(options_);
  ASSERT_TRUE(endpoints.ok()) << endpoints.status().ToString();
  ASSERT_FALSE(endpoints->empty());
  bool anonymous = false;
  for (const auto& ep : *endpoints) {
    EXPECT_EQ(ep.security_policy_uri, kSecurityPolicyNone);
    for (const auto& token : ep.user_tokens) anonymous |= token.token_type == 0;
  }
  EXPECT_TRUE(anonymous);
}

TEST_F(OpcUaClientTest, BrowsesTheFolderTree) {
  auto client = ConnectOrDie();
  ASSERT_TRUE(client);
  auto objects = client->Browse(NodeId::Numeric(0, kObjectsFolder));
  ASSERT_TRUE(objects.ok()) << objects.status().ToString();
  bool plant = false, server = false;
  for (const auto& ref : *objects) {
    plant |= ref.node_id.node_id == Node("Plant") && ref.browse_name.name == "Plant";
    server |= ref.node_id.node_id == NodeId::Numeric(0, 2253) && ref.node_class == NodeClass::kObject;
  }
  EXPECT_TRUE(plant);
  EXPECT_TRUE(server);

  auto line = client->Browse(Node("Line1"));
  ASSERT_TRUE(line.ok());
  ASSERT_EQ(line->size(), 1u);
  EXPECT_EQ((*line)[0].browse_name.ToString(), "1:Cell1");
  EXPECT_EQ((*line)[0].display_name.text, "Cell1");

  // 200 children with 7 references per call: Browse then BrowseNext until done.
  client->set_max_references_per_browse(7);
  auto bulk = client->Browse(Node("Bulk"));
  ASSERT_TRUE(bulk.ok()) << bulk.status().ToString();
  EXPECT_EQ(bulk->size(), 200u);

  auto unknown = client->Browse(Node("NoSuchNode"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("BadNodeIdUnknown"), std::string::npos) << unknown.status().ToString();
}

TEST_F(OpcUaClientTest, ReadsEveryScalarType) {
  auto client = ConnectOrDie();
  ASSERT_TRUE(client);
  const std::vector<std::pair<std::string, Scalar>> expected = {
      {"Boolean", true},
      {"SByte", int8_t{-100}},
      {"Byte", uint8_t{200}},
      {"Int16", int16_t{-30000}},
      {"UInt16", uint16_t{60000}},
      {"Int32", int32_t{-2000000000}},
      {"UInt32", uint32_t{4000000000u}},
      {"Int64", int64_t{4294967298LL}},
      {"UInt64", uint64_t{18446744073709551614ULL}},
      {"Float", 1.5f},
      {"Double", 3.141592653589793},
      {"String", std::string("Grüße aus Halle 3")},
      {"DateTime", DateTime{TimestampToUaTicks(1592222400LL * core::kSecond)}},
      {"Guid", std::get<NodeId>(Scalar{*ParseNodeId("g=72962B91-FA75-4AE6-8D28-B404DC7DAF63")}).guid},
      {"ByteString", ByteString{std::string("\x00\x01\xfe\xff", 4)}},
      {"XmlElement", XmlElement{"<a>b</a>"}},
      {"NodeId", NodeId::String(1, "Plant")},
      {"StatusCode", StatusCode{0x808C0000u}},  // BadSensorFailure
      {"QualifiedName", QualifiedName{1, "Speed"}},
      {"LocalizedText", LocalizedText{"de-DE", "Drehzahl"}},
  };
  std::vector<ReadValueId> items;
  for (const auto& [name, value] : expected) items.push_back({Node("Scalars." + name), kAttributeValue});
  items.push_back({Node("Scalars.Double"), kAttributeDataType});
  auto values = client->Read(items);
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  ASSERT_EQ(values->size(), expected.size() + 1);
  const int64_t source = TimestampToUaTicks(1704164645678LL * core::kMillisecond);  // 2024-01-02T03:04:05.678Z
  for (size_t i = 0; i < expected.size(); ++i) {
    const DataValue& dv = (*values)[i];
    SCOPED_TRACE(expected[i].first);
    EXPECT_EQ(dv.status_code(), 0u);
    ASSERT_TRUE(dv.value.has_value());
    EXPECT_FALSE(dv.value->is_array);
    EXPECT_EQ(BuiltinTypeName(dv.value->type()), expected[i].first);
    EXPECT_EQ(dv.value->scalar, expected[i].second) << dv.value->ToString();
    EXPECT_EQ(dv.source_timestamp.value_or(0), source);
    EXPECT_TRUE(dv.server_timestamp.has_value());
  }
  const DataValue& data_type = values->back();
  ASSERT_TRUE(data_type.value.has_value()) << StatusCodeName(data_type.status_code());
  EXPECT_EQ(data_type.value->scalar, Scalar{NodeId::Numeric(0, 11)});  // Double
}

TEST_F(OpcUaClientTest, ReadsArraysMatricesAndBadNodes) {
  auto client = ConnectOrDie();
  ASSERT_TRUE(client);
  auto values = client->Read({{Node("Arrays.Double")}, {Node("Arrays.Int32")}, {Node("Arrays.String")},
                              {Node("Arrays.Boolean")}, {Node("Arrays.Matrix")}, {Node("Missing")}});
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ(*(*values)[0].value, Variant::Array(BuiltinType::kDouble, {1.5, -2.25, 1e300}));
  EXPECT_EQ(*(*values)[1].value,
            Variant::Array(BuiltinType::kInt32, {int32_t{1}, int32_t{-2}, int32_t{3}, int32_t{2147483647}}));
  EXPECT_EQ(*(*values)[2].value, Variant::Array(BuiltinType::kString, {std::string("alpha"), std::string(),
                                                                       std::string("gamma")}));
  EXPECT_EQ(*(*values)[3].value, Variant::Array(BuiltinType::kBoolean, {true, false, true}));
  Variant matrix = Variant::Array(BuiltinType::kDouble, {1.0, 2.0, 3.0, 4.0, 5.0, 6.0});
  matrix.dimensions = {2, 3};
  EXPECT_EQ(*(*values)[4].value, matrix);
  EXPECT_EQ((*values)[5].status_code(), 0x80340000u);  // BadNodeIdUnknown
  EXPECT_EQ(core::Quality::FromOpcUaStatus((*values)[5].status_code()).severity(), core::Quality::Severity::kBad);
}

TEST_F(OpcUaClientTest, WritesAndReadsBack) {
  auto client = ConnectOrDie();
  ASSERT_TRUE(client);
  DataValue speed;
  speed.value = Variant(Scalar{42.25});
  DataValue label;
  label.value = Variant(Scalar{std::string("Charge 17")});
  DataValue wrong_type;
  wrong_type.value = Variant(Scalar{std::string("not a number")});
  DataValue read_only;
  read_only.value = Variant(Scalar{1.0});
  auto results = client->Write({{Node("Setpoints.Speed"), kAttributeValue, speed},
                                {Node("Setpoints.Label"), kAttributeValue, label},
                                {Node("Setpoints.Speed"), kAttributeValue, wrong_type},
                                {NodeId::Numeric(0, 2258), kAttributeValue, read_only}});
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 4u);
  EXPECT_EQ((*results)[0], 0u);
  EXPECT_EQ((*results)[1], 0u);
  EXPECT_EQ((*results)[2], 0x80740000u) << StatusCodeName((*results)[2]);  // BadTypeMismatch
  EXPECT_TRUE((*results)[3] & 0x80000000u) << StatusCodeName((*results)[3]);
  auto back = client->Read({{Node("Setpoints.Speed")}, {Node("Setpoints.Label")}});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)[0].value->scalar, Scalar{42.25});
  EXPECT_EQ((*back)[1].value->scalar, Scalar{std::string("Charge 17")});
}

TEST_F(OpcUaClientTest, RenewsTheTokenBeforeExpiry) {
  options_.requested_lifetime_ms = 1000;
  auto client = ConnectOrDie();
  ASSERT_TRUE(client);
  const uint32_t lifetime = client->channel().revised_lifetime_ms();
  const uint32_t first_token = client->channel().token_id();
  ASSERT_GT(lifetime, 0u);
  if (lifetime > 5000) GTEST_SKIP() << "server revised the lifetime to " << lifetime << " ms";
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(lifetime * 8 / 10));
    auto v = client->Read({{Node("Scalars.Int32")}});
    ASSERT_TRUE(v.ok()) << "after " << i << " renewals: " << v.status().ToString();
  }
  EXPECT_GE(client->channel().renewals(), 3u);
  EXPECT_NE(client->channel().token_id(), first_token);
}

TEST_F(OpcUaClientTest, ServerKilledMidSessionGivesACleanError) {
  auto client = ConnectOrDie();
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->Read({{Node("Scalars.Int32")}}).ok());
  peer_.Kill();
  auto v = client->Read({{Node("Scalars.Int32")}});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), core::StatusCode::kUnavailable) << v.status().ToString();
  EXPECT_FALSE(v.status().context().peer.empty());
  auto again = client->Browse(Node("Plant"));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("channel is closed"), std::string::npos);
  EXPECT_FALSE(Client::Connect(options_).ok());
}

TEST_F(OpcUaClientTest, SetpointWritesAreVerifiedByReadBack) {
  auto client = ConnectOrDie();
  ASSERT_TRUE(client);
  core::Status ok = client->WriteVerified(Node("Setpoints.Clamped"), Variant(Scalar{42.5}));
  EXPECT_TRUE(ok.ok()) << ok.ToString();
  // Accepted, but the server clamps it to 100: the read-back tells.
  core::Status clamped = client->WriteVerified(Node("Setpoints.Clamped"), Variant(Scalar{150.0}));
  ASSERT_FALSE(clamped.ok());
  EXPECT_EQ(clamped.code(), core::StatusCode::kAborted);
  EXPECT_NE(clamped.message().find("ns=1;s=Setpoints.Clamped"), std::string::npos) << clamped.ToString();
  EXPECT_NE(clamped.message().find("read back Double 100"), std::string::npos) << clamped.ToString();
  // Refused writes name the node and the code.
  core::Status refused = client->WriteVerified(NodeId::Numeric(0, 2255), Variant(Scalar{1.0}));  // NamespaceArray
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("setpoint i=2255"), std::string::npos) << refused.ToString();
  EXPECT_NE(refused.message().find("write refused"), std::string::npos) << refused.ToString();
  core::Status wrong_type = client->WriteVerified(Node("Setpoints.Clamped"), Variant(Scalar{std::string("x")}));
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.message().find("BadTypeMismatch"), std::string::npos) << wrong_type.ToString();
}

class OpcUaBatchedReadTest : public OpcUaClientTest {
 protected:
  int MaxNodesPerRead() override { return 50; }
};

TEST_F(OpcUaBatchedReadTest, SplitsReadsByMaxNodesPerRead) {
  auto client = ConnectOrDie();
  ASSERT_TRUE(client);
  EXPECT_EQ(client->max_nodes_per_read(), 50u);
  std::vector<ReadValueId> items;
  for (int i = 0; i < 200; ++i) items.push_back({Node("Bulk.V" + std::to_string(i))});
  const uint32_t before = client->read_requests();
  auto values = client->Read(items);
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ(client->read_requests() - before, 4u);
  ASSERT_EQ(values->size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ((*values)[i].value->scalar, Scalar{int32_t{i}});
}

}  // namespace
}  // namespace shopfloor::connect::opcua
