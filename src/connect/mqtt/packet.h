// MQTT control packets, versions 3.1.1 (OASIS 2014) and 5.0 (OASIS 2019), as values.
//
// The codec (codec.h) turns bytes into these structs and back; the broker works on them.
// Fields that exist only in MQTT 5 (reason codes, properties) are ignored when encoding for
// a 3.1.1 peer and left at their defaults when decoding from one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace shopfloor::connect::mqtt {

enum class PacketType : uint8_t {
  kConnect = 1, kConnack = 2, kPublish = 3, kPuback = 4, kPubrec = 5, kPubrel = 6, kPubcomp = 7,
  kSubscribe = 8, kSuback = 9, kUnsubscribe = 10, kUnsuback = 11, kPingreq = 12, kPingresp = 13,
  kDisconnect = 14, kAuth = 15,
};
const char* PacketTypeName(PacketType type);

// Protocol levels in CONNECT.
inline constexpr uint8_t kMqtt311 = 4;
inline constexpr uint8_t kMqtt5 = 5;

// MQTT 5 reason codes (2.4) that Shopfloor sends or must understand. For 3.1.1 CONNACK the
// return codes 1..5 are mapped from these (see codec.cc).
enum class Reason : uint8_t {
  kSuccess = 0x00,  // also Normal disconnection, Granted QoS 0
  kGrantedQos1 = 0x01,
  kGrantedQos2 = 0x02,
  kDisconnectWithWill = 0x04,
  kNoMatchingSubscribers = 0x10,
  kNoSubscriptionExisted = 0x11,
  kUnspecifiedError = 0x80,
  kMalformedPacket = 0x81,
  kProtocolError = 0x82,
  kImplementationSpecificError = 0x83,
  kUnsupportedProtocolVersion = 0x84,
  kClientIdentifierNotValid = 0x85,
  kBadUserNameOrPassword = 0x86,
  kNotAuthorized = 0x87,
  kServerUnavailable = 0x88,
  kServerBusy = 0x89,
  kBanned = 0x8A,
  kServerShuttingDown = 0x8B,
  kKeepAliveTimeout = 0x8D,
  kSessionTakenOver = 0x8E,
  kTopicFilterInvalid = 0x8F,
  kTopicNameInvalid = 0x90,
  kPacketIdentifierInUse = 0x91,
  kPacketIdentifierNotFound = 0x92,
  kReceiveMaximumExceeded = 0x93,
  kTopicAliasInvalid = 0x94,
  kPacketTooLarge = 0x95,
  kMessageRateTooHigh = 0x96,
  kQuotaExceeded = 0x97,
  kAdministrativeAction = 0x98,
  kPayloadFormatInvalid = 0x99,
  kRetainNotSupported = 0x9A,
  kQosNotSupported = 0x9B,
  kSharedSubscriptionsNotSupported = 0x9E,
  kConnectionRateExceeded = 0x9F,
  kSubscriptionIdentifiersNotSupported = 0xA1,
  kWildcardSubscriptionsNotSupported = 0xA2,
};
const char* ReasonName(Reason reason);
inline bool IsError(Reason r) { return static_cast<uint8_t>(r) >= 0x80; }

// The MQTT 5 properties (2.2.2.2). Absent ones are nullopt / empty. Which property may
// appear in which packet is checked by the decoder (a misplaced one is a Protocol Error).
struct Properties {
  std::optional<uint8_t> payload_format_indicator;       // 0x01
  std::optional<uint32_t> message_expiry_interval;       // 0x02, seconds
  std::optional<std::string> content_type;               // 0x03
  std::optional<std::string> response_topic;             // 0x08
  std::optional<std::string> correlation_data;           // 0x09
  std::vector<uint32_t> subscription_identifiers;        // 0x0B (several in PUBLISH)
  std::optional<uint32_t> session_expiry_interval;       // 0x11, seconds
  std::optional<std::string> assigned_client_identifier; // 0x12
  std::optional<uint16_t> server_keep_alive;             // 0x13
  std::optional<std::string> authentication_method;      // 0x15
  std::optional<std::string> authentication_data;        // 0x16
  std::optional<uint8_t> request_problem_information;    // 0x17
  std::optional<uint32_t> will_delay_interval;           // 0x18
  std::optional<uint8_t> request_response_information;   // 0x19
  std::optional<std::string> response_information;       // 0x1A
  std::optional<std::string> server_reference;           // 0x1C
  std::optional<std::string> reason_string;              // 0x1F
  std::optional<uint16_t> receive_maximum;               // 0x21
  std::optional<uint16_t> topic_alias_maximum;           // 0x22
  std::optional<uint16_t> topic_alias;                   // 0x23
  std::optional<uint8_t> maximum_qos;                    // 0x24
  std::optional<uint8_t> retain_available;               // 0x25
  std::vector<std::pair<std::string, std::string>> user_properties;  // 0x26
  std::optional<uint32_t> maximum_packet_size;           // 0x27
  std::optional<uint8_t> wildcard_subscription_available;      // 0x28
  std::optional<uint8_t> subscription_identifier_available;    // 0x29
  std::optional<uint8_t> shared_subscription_available;        // 0x2A

  bool operator==(const Properties&) const = default;
};

struct Will {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  bool retain = false;
  Properties properties;  // will properties (MQTT 5)
  bool operator==(const Will&) const = default;
};

struct Connect {
  uint8_t protocol_level = kMqtt311;
  bool clean_start = true;  // 3.1.1: CleanSession
  uint16_t keep_alive = 0;  // seconds, 0 = none
  std::string client_id;
  std::optional<Will> will;
  std::optional<std::string> username;
  std::optional<std::string> password;
  Properties properties;
  bool operator==(const Connect&) const = default;
};

struct Connack {
  bool session_present = false;
  Reason reason = Reason::kSuccess;
  Properties properties;
  bool operator==(const Connack&) const = default;
};

struct Publish {
  bool dup = false;
  uint8_t qos = 0;
  bool retain = false;
  std::string topic;        // may be empty in MQTT 5 when a topic alias stands for it
  uint16_t packet_id = 0;   // QoS 1 and 2 only
  Properties properties;
  std::string payload;
  bool operator==(const Publish&) const = default;
};

// PUBACK, PUBREC, PUBREL, PUBCOMP.
struct PubResponse {
  PacketType type = PacketType::kPuback;
  uint16_t packet_id = 0;
  Reason reason = Reason::kSuccess;
  Properties properties;
  bool operator==(const PubResponse&) const = default;
};

struct SubscribeOptions {
  uint8_t max_qos = 0;
  bool no_local = false;            // MQTT 5
  bool retain_as_published = false; // MQTT 5
  uint8_t retain_handling = 0;      // MQTT 5: 0 send, 1 send if new, 2 do not send
  bool operator==(const SubscribeOptions&) const = default;
};

struct Subscribe {
  uint16_t packet_id = 0;
  Properties properties;
  std::vector<std::pair<std::string, SubscribeOptions>> filters;
  bool operator==(const Subscribe&) const = default;
};

// SUBACK and UNSUBACK (one reason per filter; 3.1.1 UNSUBACK carries none).
struct SubResponse {
  PacketType type = PacketType::kSuback;
  uint16_t packet_id = 0;
  Properties properties;
  std::vector<Reason> reasons;
  bool operator==(const SubResponse&) const = default;
};

struct Unsubscribe {
  uint16_t packet_id = 0;
  Properties properties;
  std::vector<std::string> filters;
  bool operator==(const Unsubscribe&) const = default;
};

// PINGREQ and PINGRESP.
struct Ping {
  PacketType type = PacketType::kPingreq;
  bool operator==(const Ping&) const = default;
};

// DISCONNECT and AUTH (MQTT 5 gives both a reason and properties).
struct Disconnect {
  PacketType type = PacketType::kDisconnect;
  Reason reason = Reason::kSuccess;
  Properties properties;
  bool operator==(const Disconnect&) const = default;
};

using Packet = std::variant<Connect, Connack, Publish, PubResponse, Subscribe, SubResponse, Unsubscribe, Ping,
                            Disconnect>;
PacketType TypeOf(const Packet& packet);

}  // namespace shopfloor::connect::mqtt
