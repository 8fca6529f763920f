// MQTT wire format (3.1.1 and 5.0): splitting a byte stream into packets, decoding each into
// a Packet (packet.h) with every rule the specifications put on the bytes checked, and
// encoding packets.
//
// A server reads many packets per socket read: call NextFrame in a loop on the buffered bytes
// until it needs more. A decoding failure carries the MQTT 5 reason the peer must be told
// (Malformed Packet, Protocol Error, Topic Name invalid, Packet too large, Unsupported
// Protocol Version) and a message naming the field and offset; a 3.1.1 peer is told through
// the CONNACK return code or by closing the connection, as its specification says.
//
// Thread safety: the functions are pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "connect/mqtt/packet.h"

namespace shopfloor::connect::mqtt {

struct CodecError {
  Reason reason = Reason::kMalformedPacket;
  std::string message;
};

struct Frame {
  uint8_t header = 0;     // packet type (high nibble) and flags (low nibble)
  std::string_view body;  // the variable header and payload ("remaining length" bytes)
  size_t size = 0;        // the whole packet, fixed header included
};

enum class FrameStatus { kFrame, kNeedMore, kError };

// Looks at the start of `bytes`. kError when the remaining length is not a valid variable
// byte integer (Malformed Packet) or the packet would exceed `max_packet_size` bytes
// (Packet too large); kNeedMore until the whole packet is there.
FrameStatus NextFrame(std::string_view bytes, uint32_t max_packet_size, Frame* frame, CodecError* error);

// Decodes one packet. `version` is the connection's protocol level (kMqtt311 or kMqtt5);
// a CONNECT carries its own. The whole body must be consumed.
bool Decode(const Frame& frame, uint8_t version, Packet* packet, CodecError* error);

// Appends the encoded packet. Fields of MQTT 5 are left out for a 3.1.1 peer. A CONNECT is
// encoded at its own protocol level.
void Encode(const Packet& packet, uint8_t version, std::string* out);

// The encoded size of a PUBLISH (for Maximum Packet Size checks before queueing).
size_t EncodedSize(const Publish& publish, uint8_t version);

// Topic rules (4.7). A topic name has no wildcards; a filter's '#' is last and alone in its
// level, '+' alone in its level; both are 1..65535 bytes of valid UTF-8 without U+0000.
bool ValidTopicName(std::string_view topic);
bool ValidTopicFilter(std::string_view filter);
// Whether `topic` matches `filter`. Wildcards at the first level do not match topics that
// start with '$' (4.7.2).
bool TopicMatches(std::string_view filter, std::string_view topic);
// MQTT's UTF-8 rules (1.5.4): well-formed, no U+0000, no surrogates.
bool ValidUtf8(std::string_view s);

}  // namespace shopfloor::connect::mqtt
