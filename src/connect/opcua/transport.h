// UA-TCP (Part 6, 7.1) and the SecureChannel chunk layer (Part 6, 6.7).
//
// Every message starts with an 8-byte header: a 3-letter type (HEL, ACK, ERR, RHE, OPN,
// MSG, CLO), a chunk type ('F' final, 'C' intermediate, 'A' abort) and the total size.
// OPN/MSG/CLO chunks then carry the channel id, a security header (asymmetric for OPN,
// the token id for MSG/CLO), a sequence header (sequence number, request id) and a body.
//
// ParseChunk and ChunkAssembler are the decoders for bytes from the network: they check
// every length against the chunk, enforce the negotiated message size and chunk count,
// and answer kInvalidArgument naming the field and offset. With SecurityPolicy None the
// chunk carries no signature or padding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace shopfloor::connect::opcua {

inline constexpr size_t kMessageHeaderSize = 8;
// Smallest buffer a peer may announce (Part 6, 7.1.2.3).
inline constexpr uint32_t kMinBufferSize = 8192;
inline constexpr std::string_view kSecurityPolicyNone = "http://opcfoundation.org/UA/SecurityPolicy#None";

struct HelloMessage {
  uint32_t protocol_version = 0;
  uint32_t receive_buffer_size = 65536;
  uint32_t send_buffer_size = 65536;
  uint32_t max_message_size = 16u << 20;  // 0 = no limit
  uint32_t max_chunk_count = 0;           // 0 = no limit
  std::string endpoint_url;
};

struct AcknowledgeMessage {
  uint32_t protocol_version = 0;
  uint32_t receive_buffer_size = 0;
  uint32_t send_buffer_size = 0;
  uint32_t max_message_size = 0;
  uint32_t max_chunk_count = 0;
};

struct ErrorMessage {
  uint32_t error = 0;  // an OPC UA StatusCode
  std::string reason;
};

std::string EncodeHello(const HelloMessage& hello);
// `body` is the message after the 8-byte header.
core::Status DecodeAcknowledge(std::string_view body, AcknowledgeMessage* ack);
core::Status DecodeError(std::string_view body, ErrorMessage* error);
// Checks that an ACK's buffer sizes are usable (>= kMinBufferSize).
core::Status ValidateAcknowledge(const AcknowledgeMessage& ack);

struct MessageHeader {
  std::string type;  // "HEL", "ACK", "ERR", "OPN", "MSG", "CLO", ...
  char chunk_type = 'F';
  uint32_t size = 0;  // whole message, header included
};
// Parses the first 8 bytes; fails on an unknown type, a chunk type other than F/C/A, or a
// size below 8 or above `max_size`.
core::Status ParseMessageHeader(std::string_view bytes, uint32_t max_size, MessageHeader* header);

// One OPN/MSG/CLO chunk.
struct Chunk {
  std::string type;
  char chunk_type = 'F';
  uint32_t channel_id = 0;
  // OPN: the asymmetric security header.
  std::string security_policy_uri;
  std::string sender_certificate;
  std::string receiver_thumbprint;
  // MSG/CLO: the symmetric security header.
  uint32_t token_id = 0;
  uint32_t sequence_number = 0;
  uint32_t request_id = 0;
  std::string_view body;  // points into the chunk bytes
};

// Parses a whole chunk (header included). The Chunk's body refers to `bytes`.
core::Status ParseChunk(std::string_view bytes, Chunk* chunk);

// Splits `body` into chunks of at most `max_chunk_size` bytes each (header included),
// numbering them from *next_sequence_number. For OPN the asymmetric header names
// SecurityPolicy None; for MSG/CLO `token_id` is written.
std::vector<std::string> EncodeChunks(std::string_view type, uint32_t channel_id, uint32_t token_id,
                                      uint32_t request_id, std::string_view body, uint32_t max_chunk_size,
                                      uint32_t* next_sequence_number);

struct AssembledMessage {
  std::string type;
  uint32_t channel_id = 0;
  uint32_t token_id = 0;
  uint32_t request_id = 0;
  std::string body;
};

// Joins chunks into messages. One message is assembled at a time (a chunk of another
// request before the final one is an error). Sequence numbers must increase by one per
// chunk across messages (wrapping to < 1024 after 4294966271, Part 6, 6.7.2.4).
class ChunkAssembler {
 public:
  struct Limits {
    uint32_t max_message_size = 16u << 20;  // 0 = no limit
    uint32_t max_chunk_count = 0;           // 0 = no limit
  };
  explicit ChunkAssembler(Limits limits) : limits_(limits) {}

  // Adds one parsed chunk. Sets *complete when a final chunk finished a message (then *out
  // holds it). An abort chunk ends the message with kAborted carrying the peer's reason.
  core::Status Add(const Chunk& chunk, bool* complete, AssembledMessage* out);

  bool in_progress() const { return chunks_ > 0; }

 private:
  Limits limits_;
  bool have_sequence_ = false;
  uint32_t last_sequence_ = 0;
  uint32_t chunks_ = 0;
  AssembledMessage partial_;
};

}  // namespace shopfloor::connect::opcua
