// PUBLISH and its acknowledgements PUBACK, PUBREC, PUBREL, PUBCOMP (3.3-3.7 in both
// specifications).
#include <fmt/format.h>

#include "connect/mqtt/wire.h"

namespace shopfloor::connect::mqtt::wire {

bool DecodePublish(Reader& r, uint8_t flags, uint8_t version, Publish* p) {
  p->dup = flags & 0x08;
  p->qos = (flags >> 1) & 0x03;
  p->retain = flags & 0x01;
  if (p->qos == 3) return r.Fail(Reason::kMalformedPacket, "PUBLISH: QoS 3");
  if (p->qos == 0 && p->dup) return r.Fail(Reason::kMalformedPacket, "PUBLISH: DUP set on a QoS 0 message");
  const size_t topic_at = r.pos();
  if (!r.Utf8(&p->topic, "PUBLISH topic")) return false;
  if (p->topic.empty() ? version != kMqtt5 : !ValidTopicName(p->topic)) {
    return r.Fail(Reason::kTopicNameInvalid, fmt::format("PUBLISH: \"{}\" is not a valid topic name (offset {})", p->topic, topic_at));
  }
  if (p->qos > 0) {
    if (!r.U16(&p->packet_id, "PUBLISH packet identifier")) return false;
    if (p->packet_id == 0) return r.Fail(Reason::kMalformedPacket, "PUBLISH: packet identifier 0");
  }
  if (version == kMqtt5 && !ReadProperties(r, PropertyContext::kPublish, &p->properties)) return false;
  if (p->topic.empty() && !p->properties.topic_alias) {
    return r.Fail(Reason::kProtocolError, "PUBLISH: an empty topic without a topic alias");
  }
  if (p->properties.payload_format_indicator.value_or(0) == 1 && !ValidUtf8(r.data().substr(r.pos()))) {
    return r.Fail(Reason::kPayloadFormatInvalid, "PUBLISH: the payload is marked UTF-8 but is not");
  }
  return r.Rest(&p->payload);
}

void EncodePublish(const Publish& p, uint8_t version, std::string* out) {
  std::string body;
  body.reserve(p.topic.size() + p.payload.size() + 16);
  PutString(&body, p.topic);
  if (p.qos > 0) PutU16(&body, p.packet_id);
  if (version == kMqtt5) WriteProperties(&body, p.properties);
  body.append(p.payload);
  const uint8_t header = 0x30 | (p.dup ? 0x08 : 0) | (p.qos << 1) | (p.retain ? 1 : 0);
  PutPacket(out, header, body);
}

bool DecodePubResponse(Reader& r, PacketType type, uint8_t version, PubResponse* p) {
  p->type = type;
  const char* name = PacketTypeName(type);
  if (!r.U16(&p->packet_id, name)) return false;
  if (p->packet_id == 0) return r.Fail(Reason::kMalformedPacket, fmt::format("{}: packet identifier 0", name));
  if (version != kMqtt5 || r.remaining() == 0) return r.End(name);
  uint8_t code = 0;
  if (!r.U8(&code, name)) return false;
  p->reason = static_cast<Reason>(code);
  if (r.remaining() == 0) return true;
  if (!ReadProperties(r, PropertyContext::kPubResponse, &p->properties)) return false;
  return r.End(name);
}

void EncodePubResponse(const PubResponse& p, uint8_t version, std::string* out) {
  std::string body;
  PutU16(&body, p.packet_id);
  if (version == kMqtt5 && (p.reason != Reason::kSuccess || p.properties != Properties{})) {
    body.push_back(static_cast<char>(p.reason));
    if (p.properties != Properties{}) WriteProperties(&body, p.properties);
  }
  const uint8_t header = static_cast<uint8_t>(static_cast<uint8_t>(p.type) << 4) | (p.type == PacketType::kPubrel ? 0x02 : 0);
  PutPacket(out, header, body);
}

}  // namespace shopfloor::connect::mqtt::wire
