// Fuzz target for the UA-TCP chunk layer (connect/opcua/transport.h): message headers,
// HEL/ACK/ERR bodies, chunk parsing and the assembler with small limits.
// The input is split into chunks by its own size fields, as the socket reader does.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "connect/opcua/transport.h"

namespace opcua = shopfloor::connect::opcua;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  opcua::AcknowledgeMessage ack;
  opcua::DecodeAcknowledge(input, &ack).IgnoreError();
  opcua::ErrorMessage error;
  opcua::DecodeError(input, &error).IgnoreError();

  opcua::ChunkAssembler assembler({.max_message_size = 1 << 16, .max_chunk_count = 8});
  while (input.size() >= opcua::kMessageHeaderSize) {
    opcua::MessageHeader header;
    if (!opcua::ParseMessageHeader(input, 1 << 16, &header).ok()) return 0;
    if (header.size < opcua::kMessageHeaderSize) std::abort();
    if (header.size > input.size()) return 0;
    opcua::Chunk chunk;
    if (opcua::ParseChunk(input.substr(0, header.size), &chunk).ok()) {
      if (chunk.body.size() > header.size) std::abort();
      bool complete = false;
      opcua::AssembledMessage message;
      shopfloor::core::Status s = assembler.Add(chunk, &complete, &message);
      if (s.ok() && complete && message.body.size() > (1u << 16)) std::abort();
    }
    input.remove_prefix(header.size);
  }
  return 0;
}
