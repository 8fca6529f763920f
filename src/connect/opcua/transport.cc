#include "connect/opcua/transport.h"

#include <algorithm>

#include <fmt/format.h>

#include "connect/opcua/binary.h"

namespace shopfloor::connect::opcua {

namespace {

// Sequence numbers wrap to a value below 1024 after this one (Part 6, 6.7.2.4).
constexpr uint32_t kSequenceWrapAfter = 4294966271u;

bool IsSecureType(std::string_view type) { return type == "OPN" || type == "MSG" || type == "CLO"; }

core::Status WithChunkPrefix(core::Status s, std::string_view what) {
  return s.ok() ? s : s.WithPrefix(what);
}

}  // namespace

std::string EncodeHello(const HelloMessage& hello) {
  Encoder e;
  e.Raw("HELF");
  e.UInt32(0);
  e.UInt32(hello.protocol_version);
  e.UInt32(hello.receive_buffer_size);
  e.UInt32(hello.send_buffer_size);
  e.UInt32(hello.max_message_size);
  e.UInt32(hello.max_chunk_count);
  e.String(hello.endpoint_url);
  e.PatchUInt32(4, static_cast<uint32_t>(e.size()));
  return e.Take();
}

core::Status DecodeAcknowledge(std::string_view body, AcknowledgeMessage* ack) {
  Decoder d(body);
  core::Status s = d.UInt32(&ack->protocol_version);
  if (s.ok()) s = d.UInt32(&ack->receive_buffer_size);
  if (s.ok()) s = d.UInt32(&ack->send_buffer_size);
  if (s.ok()) s = d.UInt32(&ack->max_message_size);
  if (s.ok()) s = d.UInt32(&ack->max_chunk_count);
  return WithChunkPrefix(std::move(s), "ACK: ");
}

core::Status ValidateAcknowledge(const AcknowledgeMessage& ack) {
  if (ack.receive_buffer_size < kMinBufferSize || ack.send_buffer_size < kMinBufferSize) {
    return core::Status::InvalidArgument(fmt::format("ACK: buffer sizes {}/{} are below the minimum {}",
                                                     ack.receive_buffer_size, ack.send_buffer_size, kMinBufferSize));
  }
  return core::Status::OK();
}

core::Status DecodeError(std::string_view body, ErrorMessage* error) {
  Decoder d(body, DecodeLimits{.max_string_length = 4096});
  core::Status s = d.UInt32(&error->error);
  if (s.ok()) s = d.String(&error->reason);
  return WithChunkPrefix(std::move(s), "ERR: ");
}

core::Status ParseMessageHeader(std::string_view bytes, uint32_t max_size, MessageHeader* header) {
  if (bytes.size() < kMessageHeaderSize) {
    return core::Status::InvalidArgument(fmt::format("message header: {} bytes, need 8", bytes.size()));
  }
  header->type.assign(bytes.substr(0, 3));
  header->chunk_type = bytes[3];
  static constexpr std::string_view kTypes[] = {"HEL", "ACK", "ERR", "RHE", "OPN", "MSG", "CLO"};
  if (std::find(std::begin(kTypes), std::end(kTypes), header->type) == std::end(kTypes)) {
    std::string printable;
    for (char c : header->type) printable += (c >= 0x20 && c < 0x7F) ? std::string(1, c) : fmt::format("\\x{:02x}", uint8_t(c));
    return core::Status::InvalidArgument(fmt::format("message header: unknown message type \"{}\"", printable));
  }
  if (header->chunk_type != 'F' && header->chunk_type != 'C' && header->chunk_type != 'A') {
    return core::Status::InvalidArgument(
        fmt::format("message header: chunk type 0x{:02x} is not F, C or A", uint8_t(header->chunk_type)));
  }
  if (!IsSecureType(header->type) && header->chunk_type != 'F') {
    return core::Status::InvalidArgument(fmt::format("message header: {} must be a final chunk", header->type));
  }
  Decoder d(bytes.substr(4, 4));
  SF_RETURN_IF_ERROR(d.UInt32(&header->size));
  if (header->size < kMessageHeaderSize) {
    return core::Status::InvalidArgument(fmt::format("message header: size {} is below 8", header->size));
  }
  if (max_size != 0 && header->size > max_size) {
    return core::Status::InvalidArgument(
        fmt::format("message header: {} of {} bytes exceeds the limit {}", header->type, header->size, max_size));
  }
  return core::Status::OK();
}

core::Status ParseChunk(std::string_view bytes, Chunk* chunk) {
  MessageHeader header;
  SF_RETURN_IF_ERROR(ParseMessageHeader(bytes, 0, &header));
  if (!IsSecureType(header.type)) {
    return core::Status::InvalidArgument(fmt::format("chunk: {} is not a secure channel message", header.type));
  }
  if (header.size != bytes.size()) {
    return core::Status::InvalidArgument(
        fmt::format("chunk: header says {} bytes, the chunk has {}", header.size, bytes.size()));
  }
  chunk->type = header.type;
  chunk->chunk_type = header.chunk_type;
  DecodeLimits limits;
  limits.max_string_length = static_cast<uint32_t>(bytes.size());
  Decoder d(bytes, limits);
  std::string_view skip;
  core::Status s = d.Raw(kMessageHeaderSize, &skip);
  if (s.ok()) s = d.UInt32(&chunk->channel_id);
  if (s.ok() && header.type == "OPN") {
    s = d.String(&chunk->security_policy_uri);
    if (s.ok()) s = d.String(&chunk->sender_certificate);
    if (s.ok()) s = d.String(&chunk->receiver_thumbprint);
  } else if (s.ok()) {
    s = d.UInt32(&chunk->token_id);
  }
  if (s.ok()) s = d.UInt32(&chunk->sequence_number);
  if (s.ok()) s = d.UInt32(&chunk->request_id);
  if (!s.ok()) return s.WithPrefix(fmt::format("{} chunk: ", header.type));
  chunk->body = bytes.substr(d.offset());
  return core::Status::OK();
}

std::vector<std::string> EncodeChunks(std::string_view type, uint32_t channel_id, uint32_t token_id,
                                      uint32_t request_id, std::string_view body, uint32_t max_chunk_size,
                                      uint32_t* next_sequence_number) {
  const bool asymmetric = type == "OPN";
  const size_t security_header = asymmetric ? 4 + kSecurityPolicyNone.size() + 4 + 4 : 4;
  const size_t overhead = kMessageHeaderSize + 4 + security_header + 8;
  const size_t max_body = max_chunk_size > overhead ? max_chunk_size - overhead : 1;
  std::vector<std::string> chunks;
  size_t offset = 0;
  do {
    const size_t n = std::min(max_body, body.size() - offset);
    const bool final = offset + n == body.size();
    Encoder e;
    e.Raw(type);
    e.Raw(final ? "F" : "C");
    e.UInt32(0);
    e.UInt32(channel_id);
    if (asymmetric) {
      e.String(kSecurityPolicyNone);
      e.NullString();
      e.NullString();
    } else {
      e.UInt32(token_id);
    }
    e.UInt32((*next_sequence_number)++);
    if (*next_sequence_number == 0) *next_sequence_number = 1;
    e.UInt32(request_id);
    e.Raw(body.substr(offset, n));
    e.PatchUInt32(4, static_cast<uint32_t>(e.size()));
    chunks.push_back(e.Take());
    offset += n;
  } while (offset < body.size());
  return chunks;
}

core::Status ChunkAssembler::Add(const Chunk& chunk, bool* complete, AssembledMessage* out) {
  *complete = false;
  if (have_sequence_) {
    const bool next = chunk.sequence_number == last_sequence_ + 1;
    const bool wrapped = last_sequence_ > kSequenceWrapAfter && chunk.sequence_number < 1024;
    if (!next && !wrapped) {
      return core::Status::InvalidArgument(fmt::format("{} chunk: sequence number {} does not follow {}", chunk.type,
                                                       chunk.sequence_number, last_sequence_));
    }
  }
  have_sequence_ = true;
  last_sequence_ = chunk.sequence_number;

  if (chunks_ > 0 && (chunk.request_id != partial_.request_id || chunk.type != partial_.type)) {
    return core::Status::InvalidArgument(
        fmt::format("{} chunk for request {} arrived while {} for request {} was incomplete", chunk.type,
                    chunk.request_id, partial_.type, partial_.request_id));
  }
  if (chunk.chunk_type == 'A') {
    const uint32_t request_id = chunk.request_id;
    chunks_ = 0;
    partial_ = AssembledMessage{};
    ErrorMessage error;
    core::Status s = DecodeError(chunk.body, &error);
    if (!s.ok()) return s.WithPrefix("abort chunk: ");
    return core::Status::Aborted(fmt::format("peer aborted the response to request {}: 0x{:08X} {}", request_id,
                                             error.error, error.reason));
  }
  if (chunks_ == 0) {
    partial_ = AssembledMessage{chunk.type, chunk.channel_id, chunk.token_id, chunk.request_id, {}};
  }
  ++chunks_;
  if (limits_.max_chunk_count != 0 && chunks_ > limits_.max_chunk_count) {
    chunks_ = 0;
    partial_ = AssembledMessage{};
    return core::Status::InvalidArgument(
        fmt::format("{} message exceeds the limit of {} chunks", chunk.type, limits_.max_chunk_count));
  }
  if (limits_.max_message_size != 0 && partial_.body.size() + chunk.body.size() > limits_.max_message_size) {
    chunks_ = 0;
    partial_ = AssembledMessage{};
    return core::Status::InvalidArgument(
        fmt::format("{} message exceeds the limit of {} bytes", chunk.type, limits_.max_message_size));
  }
  partial_.body.append(chunk.body);
  if (chunk.chunk_type == 'F') {
    *out = std::move(partial_);
    partial_ = AssembledMessage{};
    chunks_ = 0;
    *complete = true;
  }
  return core::Status::OK();
}

}  // namespace shopfloor::connect::opcua
