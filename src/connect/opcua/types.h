// OPC UA built-in types (Part 6, 5.1.2) and their binary encoding.
//
// Every type T here has `void Encode(Encoder&, const T&)` and
// `core::Status Decode(Decoder&, T*)`. Decoding checks every read and every length (see
// binary.h); encoding cannot fail except for a Variant whose elements do not match its
// declared type, which EncodeVariant reports. ExtensionObjects are kept opaque (type id and
// body bytes); services decode the bodies they know.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "connect/opcua/binary.h"

namespace shopfloor::connect::opcua {

// Built-in type ids, as used in the Variant encoding mask and as ns=0 DataType ids.
enum class BuiltinType : uint8_t {
  kNull = 0, kBoolean = 1, kSByte = 2, kByte = 3, kInt16 = 4, kUInt16 = 5, kInt32 = 6,
  kUInt32 = 7, kInt64 = 8, kUInt64 = 9, kFloat = 10, kDouble = 11, kString = 12,
  kDateTime = 13, kGuid = 14, kByteString = 15, kXmlElement = 16, kNodeId = 17,
  kExpandedNodeId = 18, kStatusCode = 19, kQualifiedName = 20, kLocalizedText = 21,
  kExtensionObject = 22, kDataValue = 23, kVariant = 24, kDiagnosticInfo = 25,
};
inline constexpr uint8_t kMaxBuiltinType = 25;
// "Double", "LocalizedText", ...; "Null" for 0 and "Unknown" past 25.
std::string_view BuiltinTypeName(BuiltinType type);

struct Guid {
  uint32_t data1 = 0;
  uint16_t data2 = 0;
  uint16_t data3 = 0;
  std::array<uint8_t, 8> data4{};
  bool operator==(const Guid&) const = default;
  // "72962B91-FA75-4AE6-8D28-B404DC7DAF63"
  std::string ToString() const;
};

// Distinct wrappers so that a Scalar's alternative names its built-in type.
struct DateTime {
  int64_t ticks = 0;  // 100 ns since 1601-01-01 UTC
  bool operator==(const DateTime&) const = default;
};
struct ByteString {
  std::string bytes;
  bool operator==(const ByteString&) const = default;
};
struct XmlElement {
  std::string xml;
  bool operator==(const XmlElement&) const = default;
};
struct StatusCode {
  uint32_t code = 0;
  bool operator==(const StatusCode&) const = default;
};

enum class IdType : uint8_t { kNumeric = 0, kString = 1, kGuid = 2, kOpaque = 3 };

struct NodeId {
  uint16_t namespace_index = 0;
  IdType id_type = IdType::kNumeric;
  uint32_t numeric = 0;
  std::string text;  // kString: the name; kOpaque: the bytes
  Guid guid;

  static NodeId Numeric(uint16_t ns, uint32_t id) { return NodeId{ns, IdType::kNumeric, id, {}, {}}; }
  static NodeId String(uint16_t ns, std::string id) { return NodeId{ns, IdType::kString, 0, std::move(id), {}}; }
  bool is_null() const { return namespace_index == 0 && id_type == IdType::kNumeric && numeric == 0; }
  bool operator==(const NodeId&) const = default;
  // The standard text form: "i=85", "ns=2;s=Line1.Speed", "ns=1;g=...", "ns=3;b=<base64>".
  std::string ToString() const;
};
// Parses the text form above (namespace index optional, defaults to 0).
core::Result<NodeId> ParseNodeId(std::string_view text);

struct ExpandedNodeId {
  NodeId node_id;
  std::string namespace_uri;  // empty when absent
  uint32_t server_index = 0;
  bool operator==(const ExpandedNodeId&) const = default;
  std::string ToString() const;
};

struct QualifiedName {
  uint16_t namespace_index = 0;
  std::string name;
  bool operator==(const QualifiedName&) const = default;
  std::string ToString() const;  // "2:Speed", or "Speed" in namespace 0
};

struct LocalizedText {
  std::string locale;  // empty when absent
  std::string text;    // empty when absent
  bool operator==(const LocalizedText&) const = default;
};

struct ExtensionObject {
  enum class Encoding : uint8_t { kNone = 0, kBinary = 1, kXml = 2 };
  NodeId type_id;
  Encoding encoding = Encoding::kNone;
  std::string body;  // opaque: the binary or XML body
  bool operator==(const ExtensionObject&) const = default;
};

struct Variant;
struct DataValue;
struct DiagnosticInfo;

// A heap box with value semantics, for the recursive types.
template <typename T>
class Box {
 public:
  Box() : ptr_(std::make_shared<T>()) {}
  explicit Box(T value) : ptr_(std::make_shared<T>(std::move(value))) {}
  const T& operator*() const { return *ptr_; }
  const T* operator->() const { return ptr_.get(); }
  bool operator==(const Box& other) const { return *ptr_ == *other.ptr_; }

 private:
  std::shared_ptr<const T> ptr_;
};

// One value of a built-in type. The alternative's index IS the built-in type id, so
// Scalar{int16_t{5}}.index() == BuiltinType::kInt16.
using Scalar = std::variant<std::monostate, bool, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t,
                            int64_t, uint64_t, float, double, std::string, DateTime, Guid, ByteString,
                            XmlElement, NodeId, ExpandedNodeId, StatusCode, QualifiedName, LocalizedText,
                            ExtensionObject, Box<DataValue>, Box<Variant>, Box<DiagnosticInfo>>;
static_assert(std::variant_size_v<Scalar> == kMaxBuiltinType + 1);

// A Variant: null, a scalar, or an array (one built-in type for all elements). Arrays with
// dimensions (matrices) keep their flat elements and the dimensions as sent.
struct Variant {
  Scalar scalar;                    // when !is_array
  bool is_array = false;
  BuiltinType array_type = BuiltinType::kNull;
  std::vector<Scalar> elements;     // when is_array; each holds array_type
  std::vector<int32_t> dimensions;  // matrices only

  Variant() = default;
  explicit Variant(Scalar s) : scalar(std::move(s)) {}
  static Variant Array(BuiltinType type, std::vector<Scalar> elements) {
    Variant v;
    v.is_array = true;
    v.array_type = type;
    v.elements = std::move(elements);
    return v;
  }
  BuiltinType type() const {
    return is_array ? array_type : static_cast<BuiltinType>(scalar.index());
  }
  bool is_null() const { return !is_array && scalar.index() == 0; }
  bool operator==(const Variant&) const = default;
  // "Double 21.5", "Int32[3] {1, 2, 3}": type and value for humans.
  std::string ToString() const;
};

struct DataValue {
  std::optional<Variant> value;
  std::optional<uint32_t> status;  // absent means Good
  std::optional<int64_t> source_timestamp;  // UA ticks
  std::optional<uint16_t> source_picoseconds;
  std::optional<int64_t> server_timestamp;
  std::optional<uint16_t> server_picoseconds;
  uint32_t status_code() const { return status.value_or(0); }
  bool operator==(const DataValue&) const = default;
};

struct DiagnosticInfo {
  std::optional<int32_t> symbolic_id;
  std::optional<int32_t> namespace_uri;
  std::optional<int32_t> localized_text;
  std::optional<int32_t> locale;
  std::optional<std::string> additional_info;
  std::optional<uint32_t> inner_status_code;
  std::optional<Box<DiagnosticInfo>> inner_diagnostic_info;
  bool operator==(const DiagnosticInfo&) const = default;
};

void Encode(Encoder& e, const Guid& v);
void Encode(Encoder& e, const NodeId& v);
void Encode(Encoder& e, const ExpandedNodeId& v);
void Encode(Encoder& e, const QualifiedName& v);
void Encode(Encoder& e, const LocalizedText& v);
void Encode(Encoder& e, const ExtensionObject& v);
void Encode(Encoder& e, const DiagnosticInfo& v);
// Fails (kInvalidArgument) when an array element does not hold array_type, when an array
// has Null type, or when a scalar Variant holds a Variant (Part 6 forbids it).
core::Status EncodeVariant(Encoder& e, const Variant& v);
core::Status EncodeDataValue(Encoder& e, const DataValue& v);

core::Status Decode(Decoder& d, Guid* v);
core::Status Decode(Decoder& d, NodeId* v);
core::Status Decode(Decoder& d, ExpandedNodeId* v);
core::Status Decode(Decoder& d, QualifiedName* v);
core::Status Decode(Decoder& d, LocalizedText* v);
core::Status Decode(Decoder& d, ExtensionObject* v);
core::Status Decode(Decoder& d, DiagnosticInfo* v);
// Reads and drops an array of DiagnosticInfo (the tail of most service responses).
core::Status SkipDiagnosticInfos(Decoder& d);
core::Status Decode(Decoder& d, Variant* v);
core::Status Decode(Decoder& d, DataValue* v);

// Human-readable text of one scalar value (no type name).
std::string ScalarToString(const Scalar& s);

}  // namespace shopfloor::connect::opcua
