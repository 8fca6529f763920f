// Discovery of tags against node-opcua (tests/peers/opcua/server.js): data types, the
// EngineeringUnits and EURange of an AnalogItem, writability, skipped variables, and the
// YAML fragment parsed back by the plant configuration parser.
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "connect/opcua/discovery.h"
#include "model/plant_config.h"
#include "opcua_peer.h"

namespace shopfloor::connect::opcua {
namespace {

// Wraps a "tags:" fragment under a machine of a minimal plant with an opcua source "plc".
std::string PlantWith(const std::string& fragment) {
  std::string yaml = R"(sources:
  - {name: plc, protocol: opcua, endpoint: "opc.tcp://127.0.0.1:4840"}
enterprise:
  name: acme
  sites:
    - name: s1
      areas:
        - name: a1
          machines:
            - name: m1
)";
  std::istringstream lines(fragment);
  for (std::string line; std::getline(lines, line);) yaml += "              " + line + "\n";
  return yaml;
}

std::map<std::string, const model::TagConfig*> TagsByName(const model::PlantConfig& config) {
  std::map<std::string, const model::TagConfig*> out;
  for (const auto& series : model::ListSeries(config)) out[series.tag->name] = series.tag;
  return out;
}

TEST(DiscoveryYaml, QuotesAndEscapesParseBack) {
  Discovery discovery;
  DiscoveredTag tag;
  tag.name = "Odd.Name";
  tag.node = NodeId::String(2, "A \"quoted\" \\ node");
  tag.browse_path = "2:Odd/2:Name";
  tag.data_type = "Int32";
  tag.type = core::ValueType::kInt64;
  tag.unit = "m\xC2\xB3/h \"net\"";
  tag.range = EuRange{-1.5, 1e300};
  tag.description = "line one\nline: two # not a comment";
  tag.writable = true;
  discovery.tags.push_back(tag);
  discovery.skipped.push_back({NodeId::String(2, "Blob"), "2:Blob\n", "ByteString has no tag type"});
  const std::string yaml = DiscoveryToYaml(discovery, "plc");
  std::vector<core::Status> problems;
  auto config = model::ParsePlantConfig(PlantWith(yaml), "discovered.yaml", &problems);
  ASSERT_TRUE(config.ok()) << config.status().ToString() << "\n" << PlantWith(yaml);
  auto tags = TagsByName(*config);
  ASSERT_EQ(tags.size(), 1u);
  const model::TagConfig& parsed = *tags.at("Odd.Name");
  EXPECT_EQ(parsed.type, core::ValueType::kInt64);
  EXPECT_EQ(parsed.unit, tag.unit);
  ASSERT_TRUE(parsed.range);
  EXPECT_EQ(parsed.range->min, -1.5);
  EXPECT_EQ(parsed.range->max, 1e300);
  EXPECT_EQ(parsed.description, tag.description);
  EXPECT_TRUE(parsed.writable);
  ASSERT_TRUE(parsed.binding);
  EXPECT_EQ(parsed.binding->source, "plc");
  EXPECT_EQ(parsed.binding->address, tag.node.ToString());
  EXPECT_NE(yaml.find("# skipped ns=2;s=Blob (2:Blob ): ByteString has no tag type"), std::string::npos) << yaml;
}

TEST(DiscoveryYaml, NothingFoundIsAnEmptyList) {
  std::vector<core::Status> problems;
  auto config = model::ParsePlantConfig(PlantWith(DiscoveryToYaml(Discovery{}, "")), "d.yaml", &problems);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(model::ListSeries(*config).empty());
}

TEST(EuInformation, DecodesAndRefusesOtherTypesAndTruncation) {
  Encoder body;
  body.String("http://www.opcfoundation.org/UA/units/un/cefact");
  body.Int32(4408652);  // CEL
  Encode(body, LocalizedText{"", "\xC2\xB0" "C"});
  Encode(body, LocalizedText{"en", "degree Celsius"});
  const std::string bytes = body.Take();
  EuInformation info;
  ASSERT_TRUE(DecodeEuInformation(ExtensionObject{NodeId::Numeric(0, 889), ExtensionObject::Encoding::kBinary, bytes},
                                  &info)
                  .ok());
  EXPECT_EQ(info.unit_id, 4408652);
  EXPECT_EQ(info.display_name.text, "\xC2\xB0" "C");
  EXPECT_EQ(info.description.text, "degree Celsius");
  EXPECT_TRUE(DecodeEuInformation(ExtensionObject{NodeId::Numeric(0, 886), ExtensionObject::Encoding::kBinary, bytes},
                                  &info)
                  .IsInvalidArgument());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EuInformation partial;
    EXPECT_TRUE(DecodeEuInformation(
                    ExtensionObject{NodeId::Numeric(0, 889), ExtensionObject::Encoding::kBinary, bytes.substr(0, n)},
                    &partial)
                    .IsInvalidArgument())
        << n;
  }
}

class OpcUaDiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string reason = OpcUaPeer::MissingReason();
    if (!reason.empty()) GTEST_SKIP() << reason;
    std::string error;
    ASSERT_TRUE(peer_.Start(&error)) << error;
    ClientOptions options;
    options.endpoint_url = peer_.url();
    options.timeout = 5 * core::kSecond;
    auto client = Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
  }

  OpcUaPeer peer_;
  std::unique_ptr<Client> client_;
};

TEST_F(OpcUaDiscoveryTest, ProposesTagsWithTypesUnitsRangesAndWritability) {
  DiscoveryOptions options;
  options.start = NodeId::String(1, "Plant");
  options.depth = 2;
  auto discovery = Discover(*client_, options);
  ASSERT_TRUE(discovery.ok()) << discovery.status().ToString();
  EXPECT_FALSE(discovery->truncated);
  std::map<std::string, const DiscoveredTag*> tags;
  for (const auto& tag : discovery->tags) tags[tag.name] = &tag;

  ASSERT_TRUE(tags.count("Deadband.Pct"));
  const DiscoveredTag& pct = *tags["Deadband.Pct"];
  EXPECT_EQ(pct.node, NodeId::String(1, "Deadband.Pct"));
  EXPECT_EQ(pct.type, core::ValueType::kDouble);
  EXPECT_EQ(pct.unit, "\xC2\xB0" "C");
  ASSERT_TRUE(pct.range);
  EXPECT_EQ(pct.range->low, 0);
  EXPECT_EQ(pct.range->high, 200);
  EXPECT_TRUE(pct.writable);
  EXPECT_EQ(pct.browse_path, "1:Deadband/1:Pct");

  ASSERT_TRUE(tags.count("Deadband.Abs"));
  EXPECT_TRUE(tags["Deadband.Abs"]->writable);
  EXPECT_FALSE(tags["Deadband.Abs"]->range);
  EXPECT_TRUE(tags["Deadband.Abs"]->unit.empty());

  const std::map<std::string, core::ValueType> expected_types = {
      {"Scalars.Boolean", core::ValueType::kBool},     {"Scalars.SByte", core::ValueType::kInt64},
      {"Scalars.UInt32", core::ValueType::kInt64},     {"Scalars.Int64", core::ValueType::kInt64},
      {"Scalars.Float", core::ValueType::kDouble},     {"Scalars.Double", core::ValueType::kDouble},
      {"Scalars.String", core::ValueType::kString},    {"Scalars.LocalizedText", core::ValueType::kString},
      {"Scalars.DateTime", core::ValueType::kString},  {"Setpoints.Speed", core::ValueType::kDouble},
      {"Bulk.V199", core::ValueType::kInt64},
  };
  for (const auto& [name, type] : expected_types) {
    ASSERT_TRUE(tags.count(name)) << name;
    EXPECT_EQ(tags[name]->type, type) << name;
  }
  EXPECT_FALSE(tags["Scalars.Double"]->writable);
  EXPECT_TRUE(tags["Setpoints.Speed"]->writable);
  // Depth 2 stops below Area1/Line1; the folders themselves are not tags.
  EXPECT_FALSE(tags.count("Area1.Line1"));
  EXPECT_FALSE(tags.count("Deadband"));
  // Properties are not tags.
  EXPECT_FALSE(tags.count("Deadband.Pct.EURange"));

  std::map<std::string, std::string> skipped;
  for (const auto& s : discovery->skipped) skipped[s.node.ToString()] = s.reason;
  EXPECT_EQ(skipped["ns=1;s=Scalars.ByteString"], "ByteString has no tag type");
  EXPECT_EQ(skipped["ns=1;s=Arrays.Double"], "not a scalar (ValueRank 1)");
  EXPECT_EQ(skipped["ns=1;s=Arrays.Matrix"], "not a scalar (ValueRank 2)");
  // Scalars, Arrays, Setpoints (Speed, Label, Clamped, Slow, SlowWrites), Deadband, Bulk.
  EXPECT_EQ(tags.size() + skipped.size(), 20u + 5u + 5u + 2u + 200u);

  // The YAML fragment is what the plant configuration parser accepts.
  const std::string yaml = DiscoveryToYaml(*discovery, "plc");
  std::vector<core::Status> problems;
  auto config = model::ParsePlantConfig(PlantWith(yaml), "discovered.yaml", &problems);
  for (const auto& p : problems) ADD_FAILURE() << p.ToString();
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto parsed = TagsByName(*config);
  EXPECT_EQ(parsed.size(), discovery->tags.size());
  const model::TagConfig& parsed_pct = *parsed.at("Deadband.Pct");
  EXPECT_EQ(parsed_pct.type, core::ValueType::kDouble);
  EXPECT_EQ(parsed_pct.unit, "\xC2\xB0" "C");
  ASSERT_TRUE(parsed_pct.range);
  EXPECT_EQ(parsed_pct.range->max, 200);
  EXPECT_TRUE(parsed_pct.writable);
  ASSERT_TRUE(parsed_pct.binding);
  EXPECT_EQ(parsed_pct.binding->source, "plc");
  EXPECT_EQ(parsed_pct.binding->address, "ns=1;s=Deadband.Pct");
  EXPECT_EQ(parsed.at("Scalars.Boolean")->type, core::ValueType::kBool);
  EXPECT_FALSE(parsed.at("Scalars.Boolean")->writable);
}

TEST_F(OpcUaDiscoveryTest, DepthAndNamespaceZeroBoundTheWalk) {
  DiscoveryOptions options;  // from Objects
  options.depth = 2;
  auto shallow = Discover(*client_, options);
  ASSERT_TRUE(shallow.ok()) << shallow.status().ToString();
  // Objects/Plant/<folders>: no variables within two levels, and the Server object (ns=0)
  // is not descended into.
  EXPECT_TRUE(shallow->tags.empty());
  EXPECT_TRUE(shallow->skipped.empty());
  options.depth = 3;
  auto deeper = Discover(*client_, options);
  ASSERT_TRUE(deeper.ok());
  ASSERT_FALSE(deeper->tags.empty());
  for (const auto& tag : deeper->tags) {
    EXPECT_NE(tag.node.namespace_index, 0) << tag.name;
    EXPECT_TRUE(tag.name.starts_with("Plant.")) << tag.name;
  }
  options.max_nodes = 3;
  auto budget = Discover(*client_, options);
  ASSERT_TRUE(budget.ok());
  EXPECT_TRUE(budget->truncated);
}

}  // namespace
}  // namespace shopfloor::connect::opcua
