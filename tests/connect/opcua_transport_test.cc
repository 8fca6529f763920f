// UA-TCP messages and the chunk layer: HEL/ACK/ERR layouts, chunk splitting and assembly,
// and the limits the assembler enforces on what a peer sends.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "connect/opcua/binary.h"
#include "connect/opcua/transport.h"

namespace shopfloor::connect::opcua {
namespace {

TEST(OpcUaTransport, HelloLayout) {
  HelloMessage hello;
  hello.endpoint_url = "opc.tcp://h:4840";
  std::string bytes = EncodeHello(hello);
  ASSERT_EQ(bytes.size(), 8u + 20u + 4u + 16u);
  EXPECT_EQ(bytes.substr(0, 4), "HELF");
  MessageHeader header;
  ASSERT_TRUE(ParseMessageHeader(bytes, 0, &header).ok());
  EXPECT_EQ(header.type, "HEL");
  EXPECT_EQ(header.size, bytes.size());
  Decoder d(std::string_view(bytes).substr(8));
  uint32_t v = 1;
  ASSERT_TRUE(d.UInt32(&v).ok());
  EXPECT_EQ(v, 0u);  // protocol version
  ASSERT_TRUE(d.UInt32(&v).ok());
  EXPECT_EQ(v, 65536u);
}

TEST(OpcUaTransport, AcknowledgeAndError) {
  Encoder e;
  for (uint32_t v : {0u, 8192u, 8192u, 1000000u, 10u}) e.UInt32(v);
  AcknowledgeMessage ack;
  ASSERT_TRUE(DecodeAcknowledge(e.bytes(), &ack).ok());
  EXPECT_EQ(ack.max_message_size, 1000000u);
  EXPECT_TRUE(ValidateAcknowledge(ack).ok());
  ack.send_buffer_size = 100;
  EXPECT_FALSE(ValidateAcknowledge(ack).ok());
  EXPECT_FALSE(DecodeAcknowledge(e.bytes().substr(0, 10), &ack).ok());

  Encoder err;
  err.UInt32(0x807E0000u);
  err.String("endpoint unknown");
  ErrorMessage error;
  ASSERT_TRUE(DecodeError(err.bytes(), &error).ok());
  EXPECT_EQ(error.error, 0x807E0000u);
  EXPECT_EQ(error.reason, "endpoint unknown");
}

TEST(OpcUaTransport, HeaderRejectsGarbage) {
  MessageHeader header;
  EXPECT_NE(ParseMessageHeader("GET / HTTP/1.1", 0, &header).message().find("unknown message type \"GET\""),
            std::string::npos);
  EXPECT_NE(ParseMessageHeader(std::string("MSGX\x10\0\0\0", 8), 0, &header).message().find("chunk type 0x58"),
            std::string::npos);
  EXPECT_NE(ParseMessageHeader(std::string("MSGF\x04\0\0\0", 8), 0, &header).message().find("below 8"),
            std::string::npos);
  EXPECT_NE(ParseMessageHeader(std::string("MSGF\0\0\0\x10", 8), 65536, &header).message().find("exceeds the limit"),
            std::string::npos);
  EXPECT_NE(ParseMessageHeader(std::string("ACKC\x10\0\0\0", 8), 0, &header).message().find("final chunk"),
            std::string::npos);
}

std::string Body(size_t n) {
  std::string body(n, '\0');
  for (size_t i = 0; i < n; ++i) body[i] = static_cast<char>(i * 7 + 1);
  return body;
}

TEST(OpcUaTransport, ChunksSplitAndReassemble) {
  for (const char* type : {"OPN", "MSG"}) {
    std::string body = Body(20000);
    uint32_t seq = 51;
    auto chunks = EncodeChunks(type, 9, 3, 77, body, 8192, &seq);
    ASSERT_EQ(chunks.size(), 3u) << type;
    EXPECT_EQ(seq, 54u);
    ChunkAssembler assembler({});
    AssembledMessage message;
    for (size_t i = 0; i < chunks.size(); ++i) {
      EXPECT_LE(chunks[i].size(), 8192u);
      Chunk chunk;
      ASSERT_TRUE(ParseChunk(chunks[i], &chunk).ok());
      EXPECT_EQ(chunk.chunk_type, i + 1 == chunks.size() ? 'F' : 'C');
      EXPECT_EQ(chunk.channel_id, 9u);
      EXPECT_EQ(chunk.request_id, 77u);
      if (std::string(type) == "OPN") {
        EXPECT_EQ(chunk.security_policy_uri, kSecurityPolicyNone);
      } else {
        EXPECT_EQ(chunk.token_id, 3u);
      }
      bool complete = false;
      ASSERT_TRUE(assembler.Add(chunk, &complete, &message).ok());
      EXPECT_EQ(complete, i + 1 == chunks.size());
    }
    EXPECT_EQ(message.body, body);
    EXPECT_EQ(message.request_id, 77u);
    EXPECT_FALSE(assembler.in_progress());
  }
}

TEST(OpcUaTransport, EmptyBodyIsOneFinalChunk) {
  uint32_t seq = 1;
  auto chunks = EncodeChunks("CLO", 1, 1, 2, "", 8192, &seq);
  ASSERT_EQ(chunks.size(), 1u);
  Chunk chunk;
  ASSERT_TRUE(ParseChunk(chunks[0], &chunk).ok());
  EXPECT_EQ(chunk.chunk_type, 'F');
  EXPECT_TRUE(chunk.body.empty());
}

TEST(OpcUaTransport, AssemblerEnforcesLimitsAndOrder) {
  uint32_t seq = 1;
  auto chunks = EncodeChunks("MSG", 1, 1, 5, Body(30000), 8192, &seq);
  ASSERT_EQ(chunks.size(), 4u);
  auto feed = [&](ChunkAssembler& a, const std::vector<std::string>& list) {
    AssembledMessage m;
    for (const auto& bytes : list) {
      Chunk c;
      core::Status s = ParseChunk(bytes, &c);
      if (!s.ok()) return s;
      bool complete = false;
      s = a.Add(c, &complete, &m);
      if (!s.ok()) return s;
    }
    return core::Status::OK();
  };
  ChunkAssembler few_chunks({.max_message_size = 0, .max_chunk_count = 3});
  EXPECT_NE(feed(few_chunks, chunks).message().find("limit of 3 chunks"), std::string::npos);
  ChunkAssembler small({.max_message_size = 20000, .max_chunk_count = 0});
  EXPECT_NE(feed(small, chunks).message().find("limit of 20000 bytes"), std::string::npos);
  ChunkAssembler gap({});
  EXPECT_NE(feed(gap, {chunks[0], chunks[2]}).message().find("sequence number 3 does not follow 1"),
            std::string::npos);
  // Another request's chunk while one is incomplete.
  uint32_t seq2 = 2;
  auto other = EncodeChunks("MSG", 1, 1, 6, "x", 8192, &seq2);
  ChunkAssembler interleaved({});
  EXPECT_NE(feed(interleaved, {chunks[0], other[0]}).message().find("was incomplete"), std::string::npos);
  // A truncated chunk and a lying size.
  Chunk c;
  EXPECT_FALSE(ParseChunk(chunks[0].substr(0, 14), &c).ok());
  std::string lying = chunks[3];
  lying[4] = static_cast<char>(lying[4] + 1);
  EXPECT_NE(ParseChunk(lying, &c).message().find("header says"), std::string::npos);
}

TEST(OpcUaTransport, AbortChunkEndsTheMessage) {
  uint32_t seq = 10;
  auto first = EncodeChunks("MSG", 1, 1, 8, Body(9000), 8192, &seq);
  Encoder error;
  error.UInt32(0x80080000u);
  error.String("response too large");
  seq = 11;  // only the first of the two chunks is sent before the abort
  auto abort = EncodeChunks("MSG", 1, 1, 8, error.bytes(), 8192, &seq);
  abort[0][3] = 'A';
  ChunkAssembler assembler({});
  AssembledMessage m;
  bool complete = false;
  Chunk c;
  ASSERT_TRUE(ParseChunk(first[0], &c).ok());
  ASSERT_TRUE(assembler.Add(c, &complete, &m).ok());
  ASSERT_TRUE(ParseChunk(abort[0], &c).ok());
  core::Status s = assembler.Add(c, &complete, &m);
  EXPECT_EQ(s.code(), core::StatusCode::kAborted);
  EXPECT_NE(s.message().find("0x80080000 response too large"), std::string::npos) << s.message();
  EXPECT_FALSE(assembler.in_progress());
}

}  // namespace
}  // namespace shopfloor::connect::opcua
