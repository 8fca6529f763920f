// NodeId, ExpandedNodeId and Guid: binary encoding (Part 6, 5.2.2.9-10) and text form
// (Part 6, 5.3.1.10).
#include <charconv>

#include <fmt/format.h>

#include "connect/opcua/types.h"

namespace shopfloor::connect::opcua {

namespace {

// NodeId encoding byte (low 6 bits); ExpandedNodeId adds the two flags.
constexpr uint8_t kTwoByte = 0x00;
constexpr uint8_t kFourByte = 0x01;
constexpr uint8_t kNumeric = 0x02;
constexpr uint8_t kString = 0x03;
constexpr uint8_t kGuid = 0x04;
constexpr uint8_t kByteString = 0x05;
constexpr uint8_t kServerIndexFlag = 0x40;
constexpr uint8_t kNamespaceUriFlag = 0x80;

constexpr std::string_view kBase64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(std::string_view in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kBase64Chars[(n >> shift) & 63]);
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint8_t(in[i]) << 16;
    out.push_back(kBase64Chars[(n >> 18) & 63]);
    out.push_back(kBase64Chars[(n >> 12) & 63]);
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out.push_back(kBase64Chars[(n >> 18) & 63]);
    out.push_back(kBase64Chars[(n >> 12) & 63]);
    out.push_back(kBase64Chars[(n >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

bool Base64Decode(std::string_view in, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t padding = 0;
  for (char c : in) {
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return false;
    size_t idx = kBase64Chars.find(c);
    if (idx == std::string_view::npos) return false;
    acc = (acc << 6) | static_cast<uint32_t>(idx);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return padding <= 2 && (in.size() % 4 == 0);
}

template <typename T>
bool ParseNumber(std::string_view text, T* out, int base = 10) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out, base);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool ParseGuid(std::string_view text, Guid* g) {
  // 8-4-4-4-12 hex digits.
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-') return false;
  if (!ParseNumber(text.substr(0, 8), &g->data1, 16) || !ParseNumber(text.substr(9, 4), &g->data2, 16) ||
      !ParseNumber(text.substr(14, 4), &g->data3, 16)) {
    return false;
  }
  std::string_view tail[2] = {text.substr(19, 4), text.substr(24, 12)};
  size_t k = 0;
  for (auto part : tail) {
    for (size_t i = 0; i < part.size(); i += 2) {
      if (!ParseNumber(part.substr(i, 2), &g->data4[k++], 16)) return false;
    }
  }
  return true;
}

void EncodeNodeIdWithFlags(Encoder& e, const NodeId& v, uint8_t flags) {
  switch (v.id_type) {
    case IdType::kNumeric:
      if (v.namespace_index == 0 && v.numeric <= 0xFF) {
        e.Byte(kTwoByte | flags);
        e.Byte(static_cast<uint8_t>(v.numeric));
      } else if (v.namespace_index <= 0xFF && v.numeric <= 0xFFFF) {
        e.Byte(kFourByte | flags);
        e.Byte(static_cast<uint8_t>(v.namespace_index));
        e.UInt16(static_cast<uint16_t>(v.numeric));
      } else {
        e.Byte(kNumeric | flags);
        e.UInt16(v.namespace_index);
        e.UInt32(v.numeric);
      }
      break;
    case IdType::kString:
      e.Byte(kString | flags);
      e.UInt16(v.namespace_index);
      e.String(v.text);
      break;
    case IdType::kGuid:
      e.Byte(kGuid | flags);
      e.UInt16(v.namespace_index);
      Encode(e, v.guid);
      break;
    case IdType::kOpaque:
      e.Byte(kByteString | flags);
      e.UInt16(v.namespace_index);
      e.String(v.text);
      break;
  }
}

core::Status DecodeNodeIdBody(Decoder& d, uint8_t encoding, NodeId* v) {
  *v = NodeId{};
  switch (encoding & 0x3F) {
    case kTwoByte: {
      uint8_t id = 0;
      SF_RETURN_IF_ERROR(d.Byte(&id));
      v->numeric = id;
      return core::Status::OK();
    }
    case kFourByte: {
      uint8_t ns = 0;
      uint16_t id = 0;
      SF_RETURN_IF_ERROR(d.Byte(&ns));
      SF_RETURN_IF_ERROR(d.UInt16(&id));
      v->namespace_index = ns;
      v->numeric = id;
      return core::Status::OK();
    }
    case kNumeric:
      SF_RETURN_IF_ERROR(d.UInt16(&v->namespace_index));
      return d.UInt32(&v->numeric);
    case kString:
      v->id_type = IdType::kString;
      SF_RETURN_IF_ERROR(d.UInt16(&v->namespace_index));
      return d.String(&v->text);
    case kGuid:
      v->id_type = IdType::kGuid;
      SF_RETURN_IF_ERROR(d.UInt16(&v->namespace_index));
      return Decode(d, &v->guid);
    case kByteString:
      v->id_type = IdType::kOpaque;
      SF_RETURN_IF_ERROR(d.UInt16(&v->namespace_index));
      return d.String(&v->text);
    default:
      return d.Error(fmt::format("unknown NodeId encoding 0x{:02x}", encoding));
  }
}

}  // namespace

std::string Guid::ToString() const {
  return fmt::format("{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}", data1, data2, data3,
                     data4[0], data4[1], data4[2], data4[3], data4[4], data4[5], data4[6], data4[7]);
}

std::string NodeId::ToString() const {
  std::string prefix = namespace_index == 0 ? "" : fmt::format("ns={};", namespace_index);
  switch (id_type) {
    case IdType::kNumeric: return prefix + fmt::format("i={}", numeric);
    case IdType::kString: return prefix + "s=" + text;
    case IdType::kGuid: return prefix + "g=" + guid.ToString();
    case IdType::kOpaque: return prefix + "b=" + Base64Encode(text);
  }
  return prefix;
}

core::Result<NodeId> ParseNodeId(std::string_view text) {
  const std::string original(text);
  auto bad = [&original](std::string_view why) {
    return core::Status::InvalidArgument(fmt::format("bad NodeId \"{}\": {}", original, why));
  };
  NodeId id;
  if (text.starts_with("ns=")) {
    size_t semi = text.find(';');
    if (semi == std::string_view::npos) return bad("expected ';' after the namespace index");
    if (!ParseNumber(text.substr(3, semi - 3), &id.namespace_index)) return bad("namespace index is not 0..65535");
    text.remove_prefix(semi + 1);
  }
  if (text.size() < 2 || text[1] != '=') return bad("expected i=, s=, g= or b=");
  std::string_view body = text.substr(2);
  switch (text[0]) {
    case 'i':
      if (!ParseNumber(body, &id.numeric)) return bad("numeric identifier is not 0..4294967295");
      break;
    case 's':
      id.id_type = IdType::kString;
      id.text = std::string(body);
      break;
    case 'g':
      id.id_type = IdType::kGuid;
      if (!ParseGuid(body, &id.guid)) return bad("GUID must be 8-4-4-4-12 hex digits");
      break;
    case 'b':
      id.id_type = IdType::kOpaque;
      if (!Base64Decode(body, &id.text)) return bad("opaque identifier is not base64");
      break;
    default:
      return bad("expected i=, s=, g= or b=");
  }
  return id;
}

std::string ExpandedNodeId::ToString() const {
  std::string out;
  if (server_index != 0) out += fmt::format("svr={};", server_index);
  if (!namespace_uri.empty()) {
    NodeId copy = node_id;
    copy.namespace_index = 0;
    return out + "nsu=" + namespace_uri + ";" + copy.ToString();
  }
  return out + node_id.ToString();
}

void Encode(Encoder& e, const Guid& v) {
  e.UInt32(v.data1);
  e.UInt16(v.data2);
  e.UInt16(v.data3);
  for (uint8_t b : v.data4) e.Byte(b);
}

core::Status Decode(Decoder& d, Guid* v) {
  SF_RETURN_IF_ERROR(d.UInt32(&v->data1));
  SF_RETURN_IF_ERROR(d.UInt16(&v->data2));
  SF_RETURN_IF_ERROR(d.UInt16(&v->data3));
  for (uint8_t& b : v->data4) SF_RETURN_IF_ERROR(d.Byte(&b));
  return core::Status::OK();
}

void Encode(Encoder& e, const NodeId& v) { EncodeNodeIdWithFlags(e, v, 0); }

core::Status Decode(Decoder& d, NodeId* v) {
  uint8_t encoding = 0;
  SF_RETURN_IF_ERROR(d.Byte(&encoding));
  if (encoding & (kServerIndexFlag | kNamespaceUriFlag)) {
    return d.Error(fmt::format("NodeId encoding 0x{:02x} carries ExpandedNodeId flags", encoding));
  }
  return DecodeNodeIdBody(d, encoding, v);
}

void Encode(Encoder& e, const ExpandedNodeId& v) {
  uint8_t flags = 0;
  if (!v.namespace_uri.empty()) flags |= kNamespaceUriFlag;
  if (v.server_index != 0) flags |= kServerIndexFlag;
  EncodeNodeIdWithFlags(e, v.node_id, flags);
  if (!v.namespace_uri.empty()) e.String(v.namespace_uri);
  if (v.server_index != 0) e.UInt32(v.server_index);
}

core::Status Decode(Decoder& d, ExpandedNodeId* v) {
  uint8_t encoding = 0;
  SF_RETURN_IF_ERROR(d.Byte(&encoding));
  SF_RETURN_IF_ERROR(DecodeNodeIdBody(d, encoding, &v->node_id));
  v->namespace_uri.clear();
  v->server_index = 0;
  if (encoding & kNamespaceUriFlag) SF_RETURN_IF_ERROR(d.String(&v->namespace_uri));
  if (encoding & kServerIndexFlag) SF_RETURN_IF_ERROR(d.UInt32(&v->server_index));
  return core::Status::OK();
}

}  // namespace shopfloor::connect::opcua
