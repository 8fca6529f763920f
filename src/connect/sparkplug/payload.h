// Sparkplug B topics and payloads (Eclipse Sparkplug 3.0.0), decoded into plain structs so
// that nothing outside payload.cc depends on the generated protobuf code
// (sparkplug_b.proto).
//
// Topics: "spBv1.0/<group_id>/<message_type>/<edge_node_id>[/<device_id>]" with message
// types NBIRTH NDEATH DBIRTH DDEATH NDATA DDATA NCMD DCMD, and the host application's
// "spBv1.0/STATE/<host_id>".
//
// Metric values: every scalar datatype maps onto a core::Value without loss of meaning:
//   Int8 Int16 Int32 Int64 UInt8 UInt16 UInt32     -> int64 (signed types are two's
//                                                     complement; integers are accepted from
//                                                     int_value or long_value, since
//                                                     implementations differ (Eclipse Tahu
//                                                     sends UInt32 in long_value), and must
//                                                     fit their datatype)
//   UInt64                                          -> int64 when it fits, else refused
//   Float Double                                    -> double
//   Boolean                                         -> bool
//   String Text UUID                                -> string
//   DateTime                                        -> int64 (ms since the epoch)
// DataSet, Bytes, File, Template, PropertySet(List) and the array types are decoded as
// "unsupported" (Metric::supported false) so a birth can list them and data can skip them,
// counted. A metric with is_null has no value.
//
// Thread safety: free functions, no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace shopfloor::connect::sparkplug {

inline constexpr std::string_view kNamespace = "spBv1.0";

enum class MessageType : uint8_t { kNBirth, kNDeath, kDBirth, kDDeath, kNData, kDData, kNCmd, kDCmd, kState };
std::string_view MessageTypeName(MessageType type);  // "NBIRTH", ...

struct Topic {
  MessageType type = MessageType::kNData;
  std::string group_id;
  std::string edge_node_id;
  std::string device_id;  // empty for node messages
  std::string host_id;    // STATE only
};

// InvalidArgument names what is wrong (namespace, message type, missing or extra levels).
core::Result<Topic> ParseTopic(std::string_view topic);
std::string FormatTopic(const Topic& topic);

// Sparkplug datatype numbers (specification 6.4.16).
enum class DataType : uint32_t {
  kUnknown = 0, kInt8 = 1, kInt16 = 2, kInt32 = 3, kInt64 = 4, kUInt8 = 5, kUInt16 = 6, kUInt32 = 7,
  kUInt64 = 8, kFloat = 9, kDouble = 10, kBoolean = 11, kString = 12, kDateTime = 13, kText = 14,
  kUuid = 15, kDataSet = 16, kBytes = 17, kFile = 18, kTemplate = 19, kPropertySet = 20,
  kPropertySetList = 21, kFirstArray = 22, kLastArray = 34,
};
std::string_view DataTypeName(DataType type);  // "Int32", ...; "DataType(99)" for others
// The Shopfloor value type a scalar datatype maps to; nullopt for the unsupported ones.
std::optional<core::ValueType> ValueTypeOf(DataType type);
// The datatype used to send a value of `type` (DCMD): Int64, Double, Boolean, String.
DataType DataTypeFor(core::ValueType type);

struct Metric {
  std::optional<std::string> name;
  std::optional<uint64_t> alias;
  std::optional<uint64_t> timestamp;  // ms since the epoch
  DataType datatype = DataType::kUnknown;
  bool is_null = false;
  bool is_historical = false;
  bool is_transient = false;
  bool supported = true;            // false: a datatype without a scalar mapping (see above)
  std::optional<core::Value> value;  // set when supported and not null
  std::string unit;                 // property "engUnit" when present
  std::optional<int64_t> quality;   // property "Quality" when present (192 good, 0 bad, 500 stale)
};

struct Payload {
  std::optional<uint64_t> timestamp;  // ms since the epoch
  std::optional<uint64_t> seq;
  std::string uuid;
  std::vector<Metric> metrics;
};

// Decodes a Sparkplug B payload. A protobuf that does not parse, or a metric whose value
// field does not match its datatype (an Int32 carried in string_value, a UInt64 beyond
// int64), is InvalidArgument naming the metric.
core::Result<Payload> DecodePayload(std::string_view bytes);
// Encodes `payload`; metric values are written in the field their datatype requires
// (Int8..Int32, UInt8, UInt16 in int_value; UInt32, Int64, UInt64, DateTime in long_value). A
// metric's datatype must be one of the scalar types (else the value is left out).
std::string EncodePayload(const Payload& payload);

// The host application's STATE payload (3.0): {"online": true|false, "timestamp": ms}.
std::string StatePayload(bool online, uint64_t timestamp_ms);

}  // namespace shopfloor::connect::sparkplug
