// SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK (3.8-3.11 in both specifications).
#include <fmt/format.h>

#include "connect/mqtt/wire.h"

namespace shopfloor::connect::mqtt::wire {

bool DecodeSubscribe(Reader& r, uint8_t version, Subscribe* s) {
  const bool v5 = version == kMqtt5;
  if (!r.U16(&s->packet_id, "SUBSCRIBE packet identifier")) return false;
  if (s->packet_id == 0) return r.Fail(Reason::kMalformedPacket, "SUBSCRIBE: packet identifier 0");
  if (v5 && !ReadProperties(r, PropertyContext::kSubscribe, &s->properties)) return false;
  while (r.remaining() > 0) {
    std::string filter;
    uint8_t options = 0;
    if (!r.Utf8(&filter, "SUBSCRIBE topic filter") || !r.U8(&options, "SUBSCRIBE options")) return false;
    if (options & (v5 ? 0xC0 : 0xFC)) {
      return r.Fail(Reason::kMalformedPacket, fmt::format("SUBSCRIBE: reserved option bits set for \"{}\"", filter));
    }
    SubscribeOptions o;
    o.max_qos = options & 0x03;
    if (o.max_qos == 3) return r.Fail(Reason::kMalformedPacket, fmt::format("SUBSCRIBE: QoS 3 for \"{}\"", filter));
    if (v5) {
      o.no_local = options & 0x04;
      o.retain_as_published = options & 0x08;
      o.retain_handling = (options >> 4) & 0x03;
      if (o.retain_handling == 3) {
        return r.Fail(Reason::kProtocolError, fmt::format("SUBSCRIBE: retain handling 3 for \"{}\"", filter));
      }
    }
    s->filters.emplace_back(std::move(filter), o);
  }
  if (s->filters.empty()) return r.Fail(Reason::kProtocolError, "SUBSCRIBE without a topic filter");
  return true;
}

void EncodeSubscribe(const Subscribe& s, uint8_t version, std::string* out) {
  std::string body;
  PutU16(&body, s.packet_id);
  if (version == kMqtt5) WriteProperties(&body, s.properties);
  for (const auto& [filter, o] : s.filters) {
    PutString(&body, filter);
    uint8_t options = o.max_qos;
    if (version == kMqtt5) {
      options |= (o.no_local ? 0x04 : 0) | (o.retain_as_published ? 0x08 : 0) | (o.retain_handling << 4);
    }
    body.push_back(static_cast<char>(options));
  }
  PutPacket(out, 0x82, body);
}

bool DecodeSubResponse(Reader& r, PacketType type, uint8_t version, SubResponse* s) {
  s->type = type;
  const char* name = PacketTypeName(type);
  if (!r.U16(&s->packet_id, name)) return false;
  if (version == kMqtt5) {
    if (!ReadProperties(r, type == PacketType::kSuback ? PropertyContext::kSuback : PropertyContext::kUnsuback,
                        &s->properties)) {
      return false;
    }
  } else if (type == PacketType::kUnsuback) {
    return r.End(name);
  }
  while (r.remaining() > 0) {
    uint8_t code = 0;
    r.U8(&code, name);
    if (version != kMqtt5 && code > 2 && code != 0x80) {
      return r.Fail(Reason::kMalformedPacket, fmt::format("SUBACK: return code 0x{:02X}", code));
    }
    s->reasons.push_back(code == 0x80 && version != kMqtt5 ? Reason::kUnspecifiedError : static_cast<Reason>(code));
  }
  return true;
}

void EncodeSubResponse(const SubResponse& s, uint8_t version, std::string* out) {
  std::string body;
  PutU16(&body, s.packet_id);
  if (version == kMqtt5) {
    WriteProperties(&body, s.properties);
    for (Reason reason : s.reasons) body.push_back(static_cast<char>(reason));
  } else if (s.type == PacketType::kSuback) {
    for (Reason reason : s.reasons) body.push_back(static_cast<char>(IsError(reason) ? 0x80 : static_cast<uint8_t>(reason)));
  }
  PutPacket(out, s.type == PacketType::kSuback ? 0x90 : 0xB0, body);
}

bool DecodeUnsubscribe(Reader& r, uint8_t version, Unsubscribe* u) {
  if (!r.U16(&u->packet_id, "UNSUBSCRIBE packet identifier")) return false;
  if (u->packet_id == 0) return r.Fail(Reason::kMalformedPacket, "UNSUBSCRIBE: packet identifier 0");
  if (version == kMqtt5 && !ReadProperties(r, PropertyContext::kUnsubscribe, &u->properties)) return false;
  while (r.remaining() > 0) {
    std::string filter;
    if (!r.Utf8(&filter, "UNSUBSCRIBE topic filter")) return false;
    u->filters.push_back(std::move(filter));
  }
  if (u->filters.empty()) return r.Fail(Reason::kProtocolError, "UNSUBSCRIBE without a topic filter");
  return true;
}

void EncodeUnsubscribe(const Unsubscribe& u, uint8_t version, std::string* out) {
  std::string body;
  PutU16(&body, u.packet_id);
  if (version == kMqtt5) WriteProperties(&body, u.properties);
  for (const auto& filter : u.filters) PutString(&body, filter);
  PutPacket(out, 0xA2, body);
}

}  // namespace shopfloor::connect::mqtt::wire
