// Internal to the MQTT codec: the primitive reader and writer (big-endian integers, variable
// byte integers, length-prefixed UTF-8 strings and binary data) and the property block.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "connect/mqtt/codec.h"

namespace shopfloor::connect::mqtt::wire {

class Reader {
 public:
  Reader(std::string_view data, CodecError* error) : data_(data), error_(error) {}

  bool U8(uint8_t* v, const char* what);
  bool U16(uint16_t* v, const char* what);
  bool U32(uint32_t* v, const char* what);
  bool VarInt(uint32_t* v, const char* what);
  bool Utf8(std::string* v, const char* what);    // checked with ValidUtf8
  bool Binary(std::string* v, const char* what);
  bool Rest(std::string* v) {
    v->assign(data_.substr(pos_));
    pos_ = data_.size();
    return true;
  }
  // Fails (Malformed Packet) unless everything was read.
  bool End(const char* packet);
  bool Fail(Reason reason, std::string message);

  size_t pos() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  std::string_view data() const { return data_; }
  // A reader over the next `n` bytes (a property block); this one skips past them.
  bool Sub(size_t n, Reader* sub, const char* what);

 private:
  bool Need(size_t n, const char* what);
  std::string_view data_;
  size_t pos_ = 0;
  CodecError* error_;
};

void PutU16(std::string* out, uint16_t v);
void PutU32(std::string* out, uint32_t v);
void PutVarInt(std::string* out, uint32_t v);
size_t VarIntSize(uint32_t v);
void PutString(std::string* out, std::string_view s);  // UTF-8 string and binary data alike

// Where a property block sits (which properties are allowed, Table 2-4).
enum class PropertyContext : uint8_t {
  kConnect, kConnack, kPublish, kWill, kPubResponse, kSubscribe, kSuback, kUnsubscribe, kUnsuback,
  kDisconnect, kAuth,
};

// Reads a property length and block. A property not allowed in `context`, a repeated
// single-valued one, or a bad value (e.g. Receive Maximum 0) is a Protocol Error.
bool ReadProperties(Reader& r, PropertyContext context, Properties* p);
// The encoded block, length prefix included.
void WriteProperties(std::string* out, const Properties& p);
size_t PropertiesSize(const Properties& p);  // length prefix included

// Wraps `body` with the fixed header.
void PutPacket(std::string* out, uint8_t header, std::string_view body);

}  // namespace shopfloor::connect::mqtt::wire

namespace shopfloor::connect::mqtt::wire {

// One file per packet family: connect.cc (CONNECT, CONNACK, DISCONNECT, AUTH),
// publish.cc (PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP), subscribe.cc (SUBSCRIBE, SUBACK,
// UNSUBSCRIBE, UNSUBACK). Decoders get the body and the fixed header's flags.
bool DecodeConnect(Reader& r, uint8_t flags, Connect* c);
bool DecodeConnack(Reader& r, uint8_t version, Connack* c);
bool DecodeDisconnect(Reader& r, PacketType type, uint8_t version, Disconnect* d);
void EncodeConnect(const Connect& c, std::string* out);
void EncodeConnack(const Connack& c, uint8_t version, std::string* out);
void EncodeDisconnect(const Disconnect& d, uint8_t version, std::string* out);

bool DecodePublish(Reader& r, uint8_t flags, uint8_t version, Publish* p);
bool DecodePubResponse(Reader& r, PacketType type, uint8_t version, PubResponse* p);
void EncodePublish(const Publish& p, uint8_t version, std::string* out);
void EncodePubResponse(const PubResponse& p, uint8_t version, std::string* out);

bool DecodeSubscribe(Reader& r, uint8_t version, Subscribe* s);
bool DecodeSubResponse(Reader& r, PacketType type, uint8_t version, SubResponse* s);
bool DecodeUnsubscribe(Reader& r, uint8_t version, Unsubscribe* u);
void EncodeSubscribe(const Subscribe& s, uint8_t version, std::string* out);
void EncodeSubResponse(const SubResponse& s, uint8_t version, std::string* out);
void EncodeUnsubscribe(const Unsubscribe& u, uint8_t version, std::string* out);

}  // namespace shopfloor::connect::mqtt::wire
