// CONNECT, CONNACK, DISCONNECT and AUTH (MQTT 3.1.1 section 3.1-3.2, 3.14; MQTT 5 3.1-3.2,
// 3.14-3.15).
#include <fmt/format.h>

#include "connect/mqtt/wire.h"

namespace shopfloor::connect::mqtt::wire {

namespace {

// 3.1.1 CONNACK return codes for the reasons a server refuses a connection with.
uint8_t ReturnCode311(Reason reason) {
  switch (reason) {
    case Reason::kSuccess: return 0;
    case Reason::kUnsupportedProtocolVersion: return 1;
    case Reason::kClientIdentifierNotValid: return 2;
    case Reason::kServerUnavailable: case Reason::kServerBusy: case Reason::kServerShuttingDown: return 3;
    case Reason::kBadUserNameOrPassword: return 4;
    default: return 5;  // Not authorized
  }
}

Reason ReasonFrom311(uint8_t code) {
  switch (code) {
    case 0: return Reason::kSuccess;
    case 1: return Reason::kUnsupportedProtocolVersion;
    case 2: return Reason::kClientIdentifierNotValid;
    case 3: return Reason::kServerUnavailable;
    case 4: return Reason::kBadUserNameOrPassword;
    default: return Reason::kNotAuthorized;
  }
}

}  // namespace

bool DecodeConnect(Reader& r, uint8_t flags, Connect* c) {
  if (flags != 0) return r.Fail(Reason::kMalformedPacket, "CONNECT: reserved fixed header flags are set");
  std::string protocol;
  if (!r.Utf8(&protocol, "CONNECT protocol name") || !r.U8(&c->protocol_level, "CONNECT protocol level")) return false;
  if (protocol != "MQTT" && protocol != "MQIsdp") {
    return r.Fail(Reason::kUnsupportedProtocolVersion, fmt::format("CONNECT: protocol name \"{}\" is not MQTT", protocol));
  }
  if (protocol != "MQTT" || (c->protocol_level != kMqtt311 && c->protocol_level != kMqtt5)) {
    return r.Fail(Reason::kUnsupportedProtocolVersion,
                  fmt::format("CONNECT: protocol {} level {}; 4 (3.1.1) and 5 are supported", protocol, c->protocol_level));
  }
  uint8_t connect_flags = 0;
  if (!r.U8(&connect_flags, "CONNECT flags") || !r.U16(&c->keep_alive, "CONNECT keep alive")) return false;
  if (connect_flags & 0x01) return r.Fail(Reason::kMalformedPacket, "CONNECT: the reserved flag is set");
  const bool v5 = c->protocol_level == kMqtt5;
  c->clean_start = connect_flags & 0x02;
  const bool will = connect_flags & 0x04;
  const uint8_t will_qos = (connect_flags >> 3) & 0x03;
  const bool will_retain = connect_flags & 0x20;
  const bool password = connect_flags & 0x40;
  const bool username = connect_flags & 0x80;
  if (!will && (will_qos != 0 || will_retain)) {
    return r.Fail(Reason::kMalformedPacket, "CONNECT: will QoS or retain set without a will");
  }
  if (will_qos == 3) return r.Fail(Reason::kMalformedPacket, "CONNECT: will QoS 3");
  if (!v5 && password && !username) {
    return r.Fail(Reason::kMalformedPacket, "CONNECT: a password without a user name (MQTT 3.1.1)");
  }
  if (v5 && !ReadProperties(r, PropertyContext::kConnect, &c->properties)) return false;
  if (!r.Utf8(&c->client_id, "CONNECT client identifier")) return false;
  if (will) {
    Will w;
    w.qos = will_qos;
    w.retain = will_retain;
    if (v5 && !ReadProperties(r, PropertyContext::kWill, &w.properties)) return false;
    if (!r.Utf8(&w.topic, "CONNECT will topic") || !r.Binary(&w.payload, "CONNECT will payload")) return false;
    if (!ValidTopicName(w.topic)) return r.Fail(Reason::kTopicNameInvalid, "CONNECT: the will topic is not a valid topic name");
    c->will = std::move(w);
  }
  if (username) {
    c->username.emplace();
    if (!r.Utf8(&*c->username, "CONNECT user name")) return false;
  }
  if (password) {
    c->password.emplace();
    if (!r.Binary(&*c->password, "CONNECT password")) return false;
  }
  return r.End("CONNECT");
}

void EncodeConnect(const Connect& c, std::string* out) {
  const bool v5 = c.protocol_level == kMqtt5;
  std::string body;
  PutString(&body, "MQTT");
  body.push_back(static_cast<char>(c.protocol_level));
  uint8_t flags = c.clean_start ? 0x02 : 0;
  if (c.will) flags |= 0x04 | (c.will->qos << 3) | (c.will->retain ? 0x20 : 0);
  if (c.password) flags |= 0x40;
  if (c.username) flags |= 0x80;
  body.push_back(static_cast<char>(flags));
  PutU16(&body, c.keep_alive);
  if (v5) WriteProperties(&body, c.properties);
  PutString(&body, c.client_id);
  if (c.will) {
    if (v5) WriteProperties(&body, c.will->properties);
    PutString(&body, c.will->topic);
    PutString(&body, c.will->payload);
  }
  if (c.username) PutString(&body, *c.username);
  if (c.password) PutString(&body, *c.password);
  PutPacket(out, 0x10, body);
}

bool DecodeConnack(Reader& r, uint8_t version, Connack* c) {
  uint8_t ack_flags = 0, code = 0;
  if (!r.U8(&ack_flags, "CONNACK flags") || !r.U8(&code, "CONNACK reason")) return false;
  if (ack_flags & 0xFE) return r.Fail(Reason::kMalformedPacket, "CONNACK: reserved flags are set");
  c->session_present = ack_flags & 0x01;
  if (version == kMqtt5) {
    c->reason = static_cast<Reason>(code);
    if (!ReadProperties(r, PropertyContext::kConnack, &c->properties)) return false;
  } else {
    c->reason = ReasonFrom311(code);
  }
  return r.End("CONNACK");
}

void EncodeConnack(const Connack& c, uint8_t version, std::string* out) {
  std::string body;
  body.push_back(c.session_present ? 1 : 0);
  if (version == kMqtt5) {
    body.push_back(static_cast<char>(c.reason));
    WriteProperties(&body, c.properties);
  } else {
    body.push_back(static_cast<char>(ReturnCode311(c.reason)));
  }
  PutPacket(out, 0x20, body);
}

bool DecodeDisconnect(Reader& r, PacketType type, uint8_t version, Disconnect* d) {
  d->type = type;
  if (version != kMqtt5) {
    if (type == PacketType::kAuth) return r.Fail(Reason::kProtocolError, "AUTH is an MQTT 5 packet");
    return r.End("DISCONNECT");
  }
  if (r.remaining() == 0) return true;  // Normal disconnection / Success, no properties
  uint8_t code = 0;
  if (!r.U8(&code, "DISCONNECT reason")) return false;
  d->reason = static_cast<Reason>(code);
  if (r.remaining() == 0) return true;
  if (!ReadProperties(r, type == PacketType::kAuth ? PropertyContext::kAuth : PropertyContext::kDisconnect,
                      &d->properties)) {
    return false;
  }
  return r.End(type == PacketType::kAuth ? "AUTH" : "DISCONNECT");
}

void EncodeDisconnect(const Disconnect& d, uint8_t version, std::string* out) {
  const uint8_t header = d.type == PacketType::kAuth ? 0xF0 : 0xE0;
  std::string body;
  if (version == kMqtt5 && (d.reason != Reason::kSuccess || d.properties != Properties{})) {
    body.push_back(static_cast<char>(d.reason));
    WriteProperties(&body, d.properties);
  }
  PutPacket(out, header, body);
}

}  // namespace shopfloor::connect::mqtt::wire
