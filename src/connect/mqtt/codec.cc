#include "connect/mqtt/codec.h"

#include <fmt/format.h>

#include "connect/mqtt/wire.h"

namespace shopfloor::connect::mqtt {

const char* PacketTypeName(PacketType type) {
  static constexpr const char* kNames[] = {"RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC",
                                           "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE",
                                           "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"};
  const auto i = static_cast<uint8_t>(type);
  return i < 16 ? kNames[i] : "?";
}

const char* ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kSuccess: return "Success";
    case Reason::kGrantedQos1: return "Granted QoS 1";
    case Reason::kGrantedQos2: return "Granted QoS 2";
    case Reason::kDisconnectWithWill: return "Disconnect with Will Message";
    case Reason::kNoMatchingSubscribers: return "No matching subscribers";
    case Reason::kNoSubscriptionExisted: return "No subscription existed";
    case Reason::kUnspecifiedError: return "Unspecified error";
    case Reason::kMalformedPacket: return "Malformed Packet";
    case Reason::kProtocolError: return "Protocol Error";
    case Reason::kImplementationSpecificError: return "Implementation specific error";
    case Reason::kUnsupportedProtocolVersion: return "Unsupported Protocol Version";
    case Reason::kClientIdentifierNotValid: return "Client Identifier not valid";
    case Reason::kBadUserNameOrPassword: return "Bad User Name or Password";
    case Reason::kNotAuthorized: return "Not authorized";
    case Reason::kServerUnavailable: return "Server unavailable";
    case Reason::kServerBusy: return "Server busy";
    case Reason::kBanned: return "Banned";
    case Reason::kServerShuttingDown: return "Server shutting down";
    case Reason::kKeepAliveTimeout: return "Keep Alive timeout";
    case Reason::kSessionTakenOver: return "Session taken over";
    case Reason::kTopicFilterInvalid: return "Topic Filter invalid";
    case Reason::kTopicNameInvalid: return "Topic Name invalid";
    case Reason::kPacketIdentifierInUse: return "Packet Identifier in use";
    case Reason::kPacketIdentifierNotFound: return "Packet Identifier not found";
    case Reason::kReceiveMaximumExceeded: return "Receive Maximum exceeded";
    case Reason::kTopicAliasInvalid: return "Topic Alias invalid";
    case Reason::kPacketTooLarge: return "Packet too large";
    case Reason::kMessageRateTooHigh: return "Message rate too high";
    case Reason::kQuotaExceeded: return "Quota exceeded";
    case Reason::kAdministrativeAction: return "Administrative action";
    case Reason::kPayloadFormatInvalid: return "Payload format invalid";
    case Reason::kRetainNotSupported: return "Retain not supported";
    case Reason::kQosNotSupported: return "QoS not supported";
    case Reason::kSharedSubscriptionsNotSupported: return "Shared Subscriptions not supported";
    case Reason::kConnectionRateExceeded: return "Connection rate exceeded";
    case Reason::kSubscriptionIdentifiersNotSupported: return "Subscription Identifiers not supported";
    case Reason::kWildcardSubscriptionsNotSupported: return "Wildcard Subscriptions not supported";
  }
  return "Unknown reason";
}

PacketType TypeOf(const Packet& packet) {
  return std::visit(
      [](const auto& p) -> PacketType {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, Connect>) return PacketType::kConnect;
        else if constexpr (std::is_same_v<T, Connack>) return PacketType::kConnack;
        else if constexpr (std::is_same_v<T, Publish>) return PacketType::kPublish;
        else if constexpr (std::is_same_v<T, Subscribe>) return PacketType::kSubscribe;
        else if constexpr (std::is_same_v<T, Unsubscribe>) return PacketType::kUnsubscribe;
        else return p.type;
      },
      packet);
}

FrameStatus NextFrame(std::string_view bytes, uint32_t max_packet_size, Frame* frame, CodecError* error) {
  if (bytes.size() < 2) return FrameStatus::kNeedMore;
  uint32_t length = 0;
  size_t i = 1;
  for (;; ++i) {
    if (i > 4) {
      *error = {Reason::kMalformedPacket, "remaining length is longer than 4 bytes"};
      return FrameStatus::kError;
    }
    if (i >= bytes.size()) return FrameStatus::kNeedMore;
    const auto byte = static_cast<uint8_t>(bytes[i]);
    length |= static_cast<uint32_t>(byte & 0x7F) << (7 * (i - 1));
    if ((byte & 0x80) == 0) break;
  }
  const size_t total = i + 1 + length;
  if (max_packet_size != 0 && total > max_packet_size) {
    *error = {Reason::kPacketTooLarge,
              fmt::format("{} packet of {} bytes exceeds the maximum of {}",
                          PacketTypeName(static_cast<PacketType>(static_cast<uint8_t>(bytes[0]) >> 4)), total,
                          max_packet_size)};
    return FrameStatus::kError;
  }
  if (bytes.size() < total) return FrameStatus::kNeedMore;
  frame->header = static_cast<uint8_t>(bytes[0]);
  frame->body = bytes.substr(i + 1, length);
  frame->size = total;
  return FrameStatus::kFrame;
}

bool Decode(const Frame& frame, uint8_t version, Packet* packet, CodecError* error) {
  const auto type = static_cast<PacketType>(frame.header >> 4);
  const uint8_t flags = frame.header & 0x0F;
  wire::Reader r(frame.body, error);
  // Fixed header flags (2.1.3): 0010 for PUBREL, SUBSCRIBE, UNSUBSCRIBE; 0000 for the rest but PUBLISH.
  const bool needs_0010 = type == PacketType::kPubrel || type == PacketType::kSubscribe || type == PacketType::kUnsubscribe;
  if (type != PacketType::kPublish && flags != (needs_0010 ? 0x02 : 0x00) && type != PacketType::kConnect) {
    return r.Fail(Reason::kMalformedPacket, fmt::format("{}: fixed header flags 0x{:X}", PacketTypeName(type), flags));
  }
  switch (type) {
    case PacketType::kConnect: {
      Connect c;
      if (!wire::DecodeConnect(r, flags, &c)) return false;
      *packet = std::move(c);
      return true;
    }
    case PacketType::kConnack: {
      Connack c;
      if (!wire::DecodeConnack(r, version, &c)) return false;
      *packet = std::move(c);
      return true;
    }
    case PacketType::kPublish: {
      Publish p;
      if (!wire::DecodePublish(r, flags, version, &p)) return false;
      *packet = std::move(p);
      return true;
    }
    case PacketType::kPuback: case PacketType::kPubrec: case PacketType::kPubrel: case PacketType::kPubcomp: {
      PubResponse p;
      if (!wire::DecodePubResponse(r, type, version, &p)) return false;
      *packet = std::move(p);
      return true;
    }
    case PacketType::kSubscribe: {
      Subscribe s;
      if (!wire::DecodeSubscribe(r, version, &s)) return false;
      *packet = std::move(s);
      return true;
    }
    case PacketType::kSuback: case PacketType::kUnsuback: {
      SubResponse s;
      if (!wire::DecodeSubResponse(r, type, version, &s)) return false;
      *packet = std::move(s);
      return true;
    }
    case PacketType::kUnsubscribe: {
      Unsubscribe u;
      if (!wire::DecodeUnsubscribe(r, version, &u)) return false;
      *packet = std::move(u);
      return true;
    }
    case PacketType::kPingreq: case PacketType::kPingresp:
      if (!r.End(PacketTypeName(type))) return false;
      *packet = Ping{type};
      return true;
    case PacketType::kDisconnect: case PacketType::kAuth: {
      Disconnect d;
      if (!wire::DecodeDisconnect(r, type, version, &d)) return false;
      *packet = std::move(d);
      return true;
    }
  }
  return r.Fail(Reason::kMalformedPacket, "reserved packet type 0");
}

void Encode(const Packet& packet, uint8_t version, std::string* out) {
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, Connect>) wire::EncodeConnect(p, out);
        else if constexpr (std::is_same_v<T, Connack>) wire::EncodeConnack(p, version, out);
        else if constexpr (std::is_same_v<T, Publish>) wire::EncodePublish(p, version, out);
        else if constexpr (std::is_same_v<T, PubResponse>) wire::EncodePubResponse(p, version, out);
        else if constexpr (std::is_same_v<T, Subscribe>) wire::EncodeSubscribe(p, version, out);
        else if constexpr (std::is_same_v<T, SubResponse>) wire::EncodeSubResponse(p, version, out);
        else if constexpr (std::is_same_v<T, Unsubscribe>) wire::EncodeUnsubscribe(p, version, out);
        else if constexpr (std::is_same_v<T, Ping>) wire::PutPacket(out, static_cast<uint8_t>(static_cast<uint8_t>(p.type) << 4), {});
        else wire::EncodeDisconnect(p, version, out);
      },
      packet);
}

size_t EncodedSize(const Publish& p, uint8_t version) {
  size_t body = 2 + p.topic.size() + (p.qos > 0 ? 2 : 0) + p.payload.size();
  if (version == kMqtt5) body += wire::PropertiesSize(p.properties);
  return 1 + wire::VarIntSize(static_cast<uint32_t>(body)) + body;
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      if (c == 0) return false;
      ++i;
      continue;
    }
    int n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; }
    else return false;
    for (int k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;  // overlong, range, surrogate
    i += static_cast<size_t>(n) + 1;
  }
  return true;
}

bool ValidTopicName(std::string_view topic) {
  return !topic.empty() && topic.size() <= 65535 && topic.find_first_of("+#") == std::string_view::npos &&
         ValidUtf8(topic);
}

bool ValidTopicFilter(std::string_view filter) {
  if (filter.empty() || filter.size() > 65535 || !ValidUtf8(filter)) return false;
  size_t start = 0;
  for (;;) {
    const size_t end = filter.find('/', start);
    const std::string_view level = filter.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (level.find_first_of("+#") != std::string_view::npos && level.size() != 1) return false;
    if (level == "#" && end != std::string_view::npos) return false;  // '#' must be last
    if (end == std::string_view::npos) return true;
    start = end + 1;
  }
}

bool TopicMatches(std::string_view filter, std::string_view topic) {
  if (!topic.empty() && topic[0] == '$' && !filter.empty() && (filter[0] == '+' || filter[0] == '#')) return false;
  size_t f = 0, t = 0;
  for (;;) {
    const size_t f_end = std::min(filter.find('/', f), filter.size());
    const std::string_view level = filter.substr(f, f_end - f);
    if (level == "#") return true;  // also matches the parent level ("a/#" matches "a")
    if (t > topic.size()) return false;
    const size_t t_end = std::min(topic.find('/', t), topic.size());
    if (level != "+" && level != topic.substr(t, t_end - t)) return false;
    const bool filter_done = f_end == filter.size();
    const bool topic_done = t_end == topic.size();
    if (filter_done || topic_done) {
      if (filter_done && topic_done) return true;
      // The topic ended but the filter has "/#" left: "a/#" matches "a".
      return topic_done && filter.substr(f_end) == "/#";
    }
    f = f_end + 1;
    t = t_end + 1;
  }
}

}  // namespace shopfloor::connect::mqtt
