#include "connect/mqtt/wire.h"

#include <fmt/format.h>

namespace shopfloor::connect::mqtt::wire {

bool Reader::Fail(Reason reason, std::string message) {
  if (error_) {
    error_->reason = reason;
    error_->message = std::move(message);
  }
  return false;
}

bool Reader::Need(size_t n, const char* what) {
  if (remaining() >= n) return true;
  return Fail(Reason::kMalformedPacket, fmt::format("{}: {} bytes needed at offset {}, {} left", what, n, pos_, remaining()));
}

bool Reader::U8(uint8_t* v, const char* what) {
  if (!Need(1, what)) return false;
  *v = static_cast<uint8_t>(data_[pos_++]);
  return true;
}

bool Reader::U16(uint16_t* v, const char* what) {
  if (!Need(2, what)) return false;
  *v = static_cast<uint16_t>((static_cast<uint8_t>(data_[pos_]) << 8) | static_cast<uint8_t>(data_[pos_ + 1]));
  pos_ += 2;
  return true;
}

bool Reader::U32(uint32_t* v, const char* what) {
  if (!Need(4, what)) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i) *v = (*v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
  pos_ += 4;
  return true;
}

bool Reader::VarInt(uint32_t* v, const char* what) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    uint8_t byte = 0;
    if (!U8(&byte, what)) return false;
    value |= static_cast<uint32_t>(byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) {
      *v = value;
      return true;
    }
  }
  return Fail(Reason::kMalformedPacket, fmt::format("{}: variable byte integer longer than 4 bytes at offset {}", what, pos_));
}

bool Reader::Utf8(std::string* v, const char* what) {
  const size_t at = pos_;
  if (!Binary(v, what)) return false;
  if (!ValidUtf8(*v)) return Fail(Reason::kMalformedPacket, fmt::format("{}: not valid UTF-8 (offset {})", what, at));
  return true;
}

bool Reader::Binary(std::string* v, const char* what) {
  uint16_t n = 0;
  if (!U16(&n, what) || !Need(n, what)) return false;
  v->assign(data_.substr(pos_, n));
  pos_ += n;
  return true;
}

bool Reader::End(const char* packet) {
  if (remaining() == 0) return true;
  return Fail(Reason::kMalformedPacket, fmt::format("{}: {} unexpected bytes at offset {}", packet, remaining(), pos_));
}

bool Reader::Sub(size_t n, Reader* sub, const char* what) {
  if (!Need(n, what)) return false;
  *sub = Reader(data_.substr(pos_, n), error_);
  pos_ += n;
  return true;
}

void PutU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xFF));
}

void PutU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xFF));
}

void PutVarInt(std::string* out, uint32_t v) {
  do {
    uint8_t byte = v & 0x7F;
    v >>= 7;
    if (v) byte |= 0x80;
    out->push_back(static_cast<char>(byte));
  } while (v);
}

size_t VarIntSize(uint32_t v) { return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4; }

void PutString(std::string* out, std::string_view s) {
  PutU16(out, static_cast<uint16_t>(s.size()));
  out->append(s);
}

void PutPacket(std::string* out, uint8_t header, std::string_view body) {
  out->push_back(static_cast<char>(header));
  PutVarInt(out, static_cast<uint32_t>(body.size()));
  out->append(body);
}

// ---- properties ----

namespace {

using C = PropertyContext;
constexpr uint32_t Bit(C c) { return 1u << static_cast<int>(c); }
constexpr uint32_t kMessage = Bit(C::kPublish) | Bit(C::kWill);
constexpr uint32_t kReasonString = Bit(C::kConnack) | Bit(C::kPubResponse) | Bit(C::kSuback) | Bit(C::kUnsuback) |
                                   Bit(C::kDisconnect) | Bit(C::kAuth);
constexpr uint32_t kAll = 0x7FF;

// Where each property identifier may appear (MQTT 5, Table 2-4); 0 = unknown identifier.
uint32_t AllowedIn(uint8_t id) {
  switch (id) {
    case 0x01: case 0x02: case 0x03: case 0x08: case 0x09: return kMessage;
    case 0x0B: return Bit(C::kPublish) | Bit(C::kSubscribe);
    case 0x11: return Bit(C::kConnect) | Bit(C::kConnack) | Bit(C::kDisconnect);
    case 0x12: case 0x13: case 0x1A: case 0x24: case 0x25: case 0x28: case 0x29: case 0x2A: return Bit(C::kConnack);
    case 0x15: case 0x16: return Bit(C::kConnect) | Bit(C::kConnack) | Bit(C::kAuth);
    case 0x17: case 0x19: return Bit(C::kConnect);
    case 0x18: return Bit(C::kWill);
    case 0x1C: return Bit(C::kConnack) | Bit(C::kDisconnect);
    case 0x1F: return kReasonString;
    case 0x21: case 0x22: case 0x27: return Bit(C::kConnect) | Bit(C::kConnack);
    case 0x23: return Bit(C::kPublish);
    case 0x26: return kAll;
    default: return 0;
  }
}

template <typename T>
bool Once(Reader& r, std::optional<T>* field, uint8_t id) {
  if (field->has_value()) return r.Fail(Reason::kProtocolError, fmt::format("property 0x{:02X} appears twice", id));
  field->emplace();
  return true;
}

bool ReadByte(Reader& r, std::optional<uint8_t>* f, uint8_t id, uint8_t max) {
  if (!Once(r, f, id) || !r.U8(&**f, "property")) return false;
  if (**f > max) return r.Fail(Reason::kProtocolError, fmt::format("property 0x{:02X}: value {} above {}", id, **f, max));
  return true;
}
bool ReadU16(Reader& r, std::optional<uint16_t>* f, uint8_t id, bool nonzero) {
  if (!Once(r, f, id) || !r.U16(&**f, "property")) return false;
  if (nonzero && **f == 0) return r.Fail(Reason::kProtocolError, fmt::format("property 0x{:02X} may not be 0", id));
  return true;
}
bool ReadU32(Reader& r, std::optional<uint32_t>* f, uint8_t id, bool nonzero) {
  if (!Once(r, f, id) || !r.U32(&**f, "property")) return false;
  if (nonzero && **f == 0) return r.Fail(Reason::kProtocolError, fmt::format("property 0x{:02X} may not be 0", id));
  return true;
}
bool ReadStr(Reader& r, std::optional<std::string>* f, uint8_t id, bool utf8) {
  if (!Once(r, f, id)) return false;
  return utf8 ? r.Utf8(&**f, "property") : r.Binary(&**f, "property");
}

}  // namespace

bool ReadProperties(Reader& r, PropertyContext context, Properties* p) {
  uint32_t length = 0;
  if (!r.VarInt(&length, "property length")) return false;
  Reader block(std::string_view(), nullptr);
  if (!r.Sub(length, &block, "properties")) return false;
  while (block.remaining() > 0) {
    uint32_t id32 = 0;
    if (!block.VarInt(&id32, "property identifier")) return false;
    const uint8_t id = static_cast<uint8_t>(id32);
    if (id32 > 0xFF || AllowedIn(id) == 0) {
      return block.Fail(Reason::kMalformedPacket, fmt::format("unknown property identifier 0x{:X}", id32));
    }
    if ((AllowedIn(id) & Bit(context)) == 0) {
      return block.Fail(Reason::kProtocolError, fmt::format("property 0x{:02X} is not allowed in this packet", id));
    }
    bool ok = true;
    switch (id) {
      case 0x01: ok = ReadByte(block, &p->payload_format_indicator, id, 1); break;
      case 0x02: ok = ReadU32(block, &p->message_expiry_interval, id, false); break;
      case 0x03: ok = ReadStr(block, &p->content_type, id, true); break;
      case 0x08: ok = ReadStr(block, &p->response_topic, id, true) &&
                      (ValidTopicName(*p->response_topic) ||
                       block.Fail(Reason::kProtocolError, "Response Topic is not a valid topic name"));
        break;
      case 0x09: ok = ReadStr(block, &p->correlation_data, id, false); break;
      case 0x0B: {
        uint32_t sub_id = 0;
        ok = block.VarInt(&sub_id, "subscription identifier");
        if (ok && sub_id == 0) ok = block.Fail(Reason::kProtocolError, "Subscription Identifier 0");
        if (ok && context == C::kSubscribe && !p->subscription_identifiers.empty()) {
          ok = block.Fail(Reason::kProtocolError, "SUBSCRIBE with two Subscription Identifiers");
        }
        if (ok) p->subscription_identifiers.push_back(sub_id);
        break;
      }
      case 0x11: ok = ReadU32(block, &p->session_expiry_interval, id, false); break;
      case 0x12: ok = ReadStr(block, &p->assigned_client_identifier, id, true); break;
      case 0x13: ok = ReadU16(block, &p->server_keep_alive, id, false); break;
      case 0x15: ok = ReadStr(block, &p->authentication_method, id, true); break;
      case 0x16: ok = ReadStr(block, &p->authentication_data, id, false); break;
      case 0x17: ok = ReadByte(block, &p->request_problem_information, id, 1); break;
      case 0x18: ok = ReadU32(block, &p->will_delay_interval, id, false); break;
      case 0x19: ok = ReadByte(block, &p->request_response_information, id, 1); break;
      case 0x1A: ok = ReadStr(block, &p->response_information, id, true); break;
      case 0x1C: ok = ReadStr(block, &p->server_reference, id, true); break;
      case 0x1F: ok = ReadStr(block, &p->reason_string, id, true); break;
      case 0x21: ok = ReadU16(block, &p->receive_maximum, id, true); break;
      case 0x22: ok = ReadU16(block, &p->topic_alias_maximum, id, false); break;
      case 0x23: ok = ReadU16(block, &p->topic_alias, id, true); break;
      case 0x24: ok = ReadByte(block, &p->maximum_qos, id, 1); break;
      case 0x25: ok = ReadByte(block, &p->retain_available, id, 1); break;
      case 0x26: {
        std::string key, value;
        ok = block.Utf8(&key, "user property name") && block.Utf8(&value, "user property value");
        if (ok) p->user_properties.emplace_back(std::move(key), std::move(value));
        break;
      }
      case 0x27: ok = ReadU32(block, &p->maximum_packet_size, id, true); break;
      case 0x28: ok = ReadByte(block, &p->wildcard_subscription_available, id, 1); break;
      case 0x29: ok = ReadByte(block, &p->subscription_identifier_available, id, 1); break;
      case 0x2A: ok = ReadByte(block, &p->shared_subscription_available, id, 1); break;
    }
    if (!ok) return false;
  }
  return true;
}

namespace {

std::string PropertyBytes(const Properties& p) {
  std::string out;
  auto byte = [&](uint8_t id, const std::optional<uint8_t>& v) {
    if (v) { out.push_back(static_cast<char>(id)); out.push_back(static_cast<char>(*v)); }
  };
  auto u16 = [&](uint8_t id, const std::optional<uint16_t>& v) {
    if (v) { out.push_back(static_cast<char>(id)); PutU16(&out, *v); }
  };
  auto u32 = [&](uint8_t id, const std::optional<uint32_t>& v) {
    if (v) { out.push_back(static_cast<char>(id)); PutU32(&out, *v); }
  };
  auto str = [&](uint8_t id, const std::optional<std::string>& v) {
    if (v) { out.push_back(static_cast<char>(id)); PutString(&out, *v); }
  };
  byte(0x01, p.payload_format_indicator);
  u32(0x02, p.message_expiry_interval);
  str(0x03, p.content_type);
  str(0x08, p.response_topic);
  str(0x09, p.correlation_data);
  for (uint32_t id : p.subscription_identifiers) {
    out.push_back(0x0B);
    PutVarInt(&out, id);
  }
  u32(0x11, p.session_expiry_interval);
  str(0x12, p.assigned_client_identifier);
  u16(0x13, p.server_keep_alive);
  str(0x15, p.authentication_method);
  str(0x16, p.authentication_data);
  byte(0x17, p.request_problem_information);
  u32(0x18, p.will_delay_interval);
  byte(0x19, p.request_response_information);
  str(0x1A, p.response_information);
  str(0x1C, p.server_reference);
  str(0x1F, p.reason_string);
  u16(0x21, p.receive_maximum);
  u16(0x22, p.topic_alias_maximum);
  u16(0x23, p.topic_alias);
  byte(0x24, p.maximum_qos);
  byte(0x25, p.retain_available);
  for (const auto& [key, value] : p.user_properties) {
    out.push_back(0x26);
    PutString(&out, key);
    PutString(&out, value);
  }
  u32(0x27, p.maximum_packet_size);
  byte(0x28, p.wildcard_subscription_available);
  byte(0x29, p.subscription_identifier_available);
  byte(0x2A, p.shared_subscription_available);
  return out;
}

}  // namespace

void WriteProperties(std::string* out, const Properties& p) {
  const std::string bytes = PropertyBytes(p);
  PutVarInt(out, static_cast<uint32_t>(bytes.size()));
  out->append(bytes);
}

size_t PropertiesSize(const Properties& p) {
  const size_t n = PropertyBytes(p).size();
  return VarIntSize(static_cast<uint32_t>(n)) + n;
}

}  // namespace shopfloor::connect::mqtt::wire
