// Binary encoding of the OPC UA built-in types: golden bytes from Part 6, round trips of
// every type, and bad input answered with a Status naming what and where.
#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "connect/opcua/types.h"

namespace shopfloor::connect::opcua {
namespace {

std::string Hex(std::string_view bytes) {
  std::string out;
  for (char c : bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    out += kDigits[(uint8_t(c) >> 4) & 15];
    out += kDigits[uint8_t(c) & 15];
  }
  return out;
}

std::string EncodeV(const Variant& v) {
  Encoder e;
  EXPECT_TRUE(EncodeVariant(e, v).ok());
  return e.Take();
}

Variant RoundTrip(const Variant& v) {
  std::string bytes = EncodeV(v);
  Decoder d(bytes);
  Variant out;
  core::Status s = Decode(d, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(d.done());
  return out;
}

TEST(OpcUaEncoding, GoldenNodeIds) {
  // Part 6, 5.2.2.9: the four numeric encodings, string, guid and opaque.
  auto enc = [](const NodeId& id) {
    Encoder e;
    Encode(e, id);
    return Hex(e.bytes());
  };
  EXPECT_EQ(enc(NodeId::Numeric(0, 72)), "0048");
  EXPECT_EQ(enc(NodeId::Numeric(5, 1025)), "01050104");
  EXPECT_EQ(enc(NodeId::Numeric(0, 100000)), "020000a0860100");
  EXPECT_EQ(enc(NodeId::Numeric(300, 1)), "022c0101000000");
  EXPECT_EQ(enc(NodeId::String(1, "Hot\xE6")), "030100" "04000000" "486f74e6");
  NodeId guid;
  guid.namespace_index = 1;
  guid.id_type = IdType::kGuid;
  ASSERT_TRUE(ParseNodeId("ns=1;g=72962B91-FA75-4AE6-8D28-B404DC7DAF63").ok());
  guid = *ParseNodeId("ns=1;g=72962B91-FA75-4AE6-8D28-B404DC7DAF63");
  // Part 6 Table 3 example: Data1..3 little-endian, Data4 as bytes.
  EXPECT_EQ(enc(guid), "040100" "912b9672" "75fa" "e64a" "8d28b404dc7daf63");
}

TEST(OpcUaEncoding, NodeIdTextForms) {
  for (const char* text : {"i=85", "ns=2;s=Line1.Speed", "ns=1;g=72962B91-FA75-4AE6-8D28-B404DC7DAF63",
                           "ns=3;b=AQID/w==", "ns=65535;i=4294967295", "s=with;semicolon"}) {
    auto id = ParseNodeId(text);
    ASSERT_TRUE(id.ok()) << text << ": " << id.status().ToString();
    EXPECT_EQ(id->ToString(), text);
    Encoder e;
    Encode(e, *id);
    Decoder d(e.bytes());
    NodeId back;
    ASSERT_TRUE(Decode(d, &back).ok());
    EXPECT_EQ(back, *id);
  }
  for (const char* bad : {"", "x=1", "ns=70000;i=1", "ns=2", "i=-1", "i=abc", "ns=1;g=123", "b=!!!!"}) {
    auto id = ParseNodeId(bad);
    EXPECT_FALSE(id.ok()) << bad;
    if (!id.ok()) {
      EXPECT_NE(id.status().message().find("bad NodeId"), std::string::npos);
    }
  }
}

TEST(OpcUaEncoding, ExpandedNodeIdFlags) {
  ExpandedNodeId x{NodeId::String(0, "Pump"), "urn:plant", 7};
  Encoder e;
  Encode(e, x);
  EXPECT_EQ(uint8_t(e.bytes()[0]), 0x03 | 0x80 | 0x40);
  Decoder d(e.bytes());
  ExpandedNodeId back;
  ASSERT_TRUE(Decode(d, &back).ok());
  EXPECT_EQ(back, x);
  EXPECT_EQ(back.ToString(), "svr=7;nsu=urn:plant;s=Pump");
  // A plain NodeId field must not carry the expanded flags.
  Decoder plain(e.bytes());
  NodeId id;
  core::Status s = Decode(plain, &id);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ExpandedNodeId flags"), std::string::npos);
}

TEST(OpcUaEncoding, EveryScalarTypeRoundTrips) {
  Guid guid{0x01020304, 0x0506, 0x0708, {9, 10, 11, 12, 13, 14, 15, 16}};
  DataValue inner_dv;
  inner_dv.value = Variant(Scalar{int32_t{-7}});
  inner_dv.status = 0x40940000u;
  DiagnosticInfo diag;
  diag.symbolic_id = 3;
  diag.locale = 4;
  diag.additional_info = "why";
  DiagnosticInfo inner_diag;
  inner_diag.inner_status_code = 0x80050000u;
  diag.inner_diagnostic_info = Box<DiagnosticInfo>(inner_diag);
  std::vector<Scalar> values = {
      std::monostate{}, true, int8_t{-128}, uint8_t{255}, int16_t{-32768}, uint16_t{65535},
      int32_t{std::numeric_limits<int32_t>::min()}, uint32_t{4294967295u},
      int64_t{std::numeric_limits<int64_t>::min()}, uint64_t{std::numeric_limits<uint64_t>::max()},
      float{-1.5f}, double{3.141592653589793}, std::string("Grüße"), DateTime{133'000'000'000'000'000LL}, guid,
      ByteString{std::string("\x00\x01\xFF", 3)}, XmlElement{"<a/>"}, NodeId::String(2, "Speed"),
      ExpandedNodeId{NodeId::Numeric(1, 5), "urn:x", 0}, StatusCode{0x80340000u}, QualifiedName{2, "Speed"},
      LocalizedText{"en-US", "Speed"},
      ExtensionObject{NodeId::Numeric(0, 888), ExtensionObject::Encoding::kBinary, std::string("\x01\x02", 2)},
      Box<DataValue>(inner_dv)};
  values.push_back(Box<DiagnosticInfo>(diag));
  for (const Scalar& value : values) {
    Variant v(value);
    EXPECT_EQ(RoundTrip(v), v) << v.ToString();
  }
}

TEST(OpcUaEncoding, ArraysAndMatrices) {
  Variant ints = Variant::Array(BuiltinType::kInt32, {int32_t{1}, int32_t{2}, int32_t{3}});
  EXPECT_EQ(Hex(EncodeV(ints)), "86" "03000000" "01000000" "02000000" "03000000");
  EXPECT_EQ(RoundTrip(ints), ints);
  EXPECT_EQ(ints.ToString(), "Int32[3] {1, 2, 3}");

  Variant matrix = Variant::Array(BuiltinType::kDouble, {1.0, 2.0, 3.0, 4.0, 5.0, 6.0});
  matrix.dimensions = {2, 3};
  std::string bytes = EncodeV(matrix);
  EXPECT_EQ(uint8_t(bytes[0]), 0x80 | 0x40 | 11);
  EXPECT_EQ(RoundTrip(matrix), matrix);

  Variant empty = Variant::Array(BuiltinType::kString, {});
  EXPECT_EQ(RoundTrip(empty), empty);

  Variant of_variants = Variant::Array(BuiltinType::kVariant, {Box<Variant>(Variant(Scalar{true})),
                                                               Box<Variant>(Variant(Scalar{std::string("x")}))});
  EXPECT_EQ(RoundTrip(of_variants), of_variants);

  Variant wrong = Variant::Array(BuiltinType::kInt32, {int32_t{1}, 2.0});
  Encoder e;
  EXPECT_FALSE(EncodeVariant(e, wrong).ok());
}

TEST(OpcUaEncoding, DataValueMaskAndOrder) {
  DataValue dv;
  dv.value = Variant(Scalar{true});
  dv.status = 0x00000000u;
  dv.source_timestamp = 1;
  dv.source_picoseconds = 2;
  dv.server_timestamp = 3;
  dv.server_picoseconds = 4;
  Encoder e;
  ASSERT_TRUE(EncodeDataValue(e, dv).ok());
  // mask 0x3f; value; status; source ts; source ps; server ts; server ps.
  EXPECT_EQ(Hex(e.bytes()), "3f" "0101" "00000000" "0100000000000000" "0200" "0300000000000000" "0400");
  Decoder d(e.bytes());
  DataValue back;
  ASSERT_TRUE(Decode(d, &back).ok());
  EXPECT_EQ(back, dv);
}

TEST(OpcUaEncoding, DateTimeConversion) {
  EXPECT_EQ(UaTicksToTimestamp(kUaEpochToUnixTicks), 0);
  EXPECT_EQ(TimestampToUaTicks(0), kUaEpochToUnixTicks);
  EXPECT_EQ(UaTicksToTimestamp(TimestampToUaTicks(1'700'000'000'123'456'700LL)), 1'700'000'000'123'456'700LL);
  EXPECT_EQ(TimestampToUaTicks(-1), kUaEpochToUnixTicks - 1);
  EXPECT_EQ(UaTicksToTimestamp(std::numeric_limits<int64_t>::max()), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(UaTicksToTimestamp(0), std::numeric_limits<int64_t>::min());
}

core::Status DecodeHex(std::string_view hex_bytes, DecodeLimits limits = {}) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex_bytes.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex_bytes.substr(i, 2)), nullptr, 16)));
  }
  Decoder d(bytes, limits);
  DataValue dv;
  return Decode(d, &dv);
}

TEST(OpcUaEncoding, BadInputNamesWhatAndWhere) {
  struct Case {
    const char* hex;
    const char* expect;
  } cases[] = {
      {"", "truncated Byte (need 1 bytes, 0 left) at offset 0"},
      {"01", "truncated Byte (need 1 bytes, 0 left) at offset 1"},           // value flag, no variant
      {"011a", "not a built-in type"},                // variant type 26
      {"0106ff", "truncated Int32"},
      {"018c0000", "truncated Int32 (need 4 bytes, 2 left) at offset 2"},    // String array, short length
      {"018cfeffffff", "negative array length -2 at offset 2"},
      {"018c00010000", "cannot fit"},                 // 256 strings in no bytes
      {"010cfeffffff", "negative string length -2"},
      {"010c10000000", "exceeds the 0 bytes left"},
      {"0118", "scalar Variant cannot hold a Variant"},
      {"0146", "dimensions without an array"},
      {"0180", "array of type Null"},
      {"40", "unknown bits"},
      {"01113f", "unknown NodeId encoding 0x3f"},
      {"0111ff", "carries ExpandedNodeId flags"},
      {"01160000ff", "ExtensionObject encoding 255"},
  };
  for (const auto& c : cases) {
    core::Status s = DecodeHex(c.hex);
    ASSERT_FALSE(s.ok()) << c.hex;
    EXPECT_TRUE(s.IsInvalidArgument());
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << c.hex << " -> " << s.message();
    EXPECT_TRUE(s.context().offset.has_value());
  }
}

TEST(OpcUaEncoding, LimitsCapNestingAndLengths) {
  // DataValue holding a DataValue holding ... 40 deep.
  std::string bytes;
  for (int i = 0; i < 40; ++i) bytes += "\x01\x17";
  bytes += '\x00';
  Decoder d(bytes);
  DataValue dv;
  core::Status s = Decode(d, &dv);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("nested deeper than 16"), std::string::npos) << s.message();

  DecodeLimits small;
  small.max_array_length = 2;
  small.max_string_length = 3;
  EXPECT_NE(DecodeHex("0186030000000100000002000000030000000", small).message().find("exceeds the limit 2"),
            std::string::npos);
  EXPECT_NE(DecodeHex("010c0400000061626364", small).message().find("string length 4 exceeds the limit 3"),
            std::string::npos);
}

}  // namespace
}  // namespace shopfloor::connect::opcua
