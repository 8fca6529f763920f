// A UA-TCP connection with one SecureChannel over it: SecurityPolicy None, or
// Basic256Sha256 (Sign or SignAndEncrypt) when ChannelOptions::security is set (security.h).
//
// Open() connects, exchanges HEL/ACK, and issues the channel with OPN. Call() sends one
// service request (already encoded: type NodeId then body) as MSG chunks sized for the
// server's receive buffer, and returns the reassembled response. Before each call the
// security token is renewed once 75% of its revised lifetime has passed (Part 4, 5.5.2);
// incoming chunks may carry the current or the previous token. Every wait is bounded by
// the timeout; a server that closes the socket, sends ERR or malformed chunks ends the
// channel with a Status naming what happened, and later calls fail fast with kUnavailable.
//
// Not thread-safe: one request is in flight at a time (the caller serialises).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "connect/opcua/security.h"
#include "connect/opcua/types.h"
#include "connect/opcua/transport.h"
#include "core/clock.h"
#include "core/status.h"

namespace shopfloor::connect::opcua {

struct ChannelOptions {
  std::string endpoint_url;                 // opc.tcp://host:port[/path]
  core::Duration timeout = 10 * core::kSecond;  // connect, and each request
  uint32_t requested_lifetime_ms = 3'600'000;
  uint32_t max_message_size = 16u << 20;    // what we accept from the server
  core::Clock* clock = nullptr;             // null: Clock::System()
  // Null: SecurityPolicy None. Otherwise the channel's Basic256Sha256 state (one per channel).
  std::shared_ptr<ChannelSecurity> security;
};

// Splits "opc.tcp://host:port/path" (port defaults to 4840).
struct EndpointAddress {
  std::string host;
  uint16_t port = 4840;
};
core::Result<EndpointAddress> ParseEndpointUrl(std::string_view url);

class SecureChannel {
 public:
  static core::Result<std::unique_ptr<SecureChannel>> Open(const ChannelOptions& options);
  ~SecureChannel();
  SecureChannel(const SecureChannel&) = delete;
  SecureChannel& operator=(const SecureChannel&) = delete;

  // Sends `request` (type NodeId + body; its RequestHeader must carry `handle`) and returns
  // the response message body (type NodeId + body).
  core::Result<std::string> Call(std::string_view request);

  // Sends CLO and closes the socket. Idempotent.
  void Close();

  uint32_t channel_id() const { return channel_id_; }
  uint32_t token_id() const { return token_id_; }
  uint32_t revised_lifetime_ms() const { return revised_lifetime_ms_; }
  uint32_t renewals() const { return renewals_; }
  const AcknowledgeMessage& ack() const { return ack_; }
  bool open() const { return fd_ >= 0; }
  ChannelSecurity* security() const { return options_.security.get(); }
  // The next request handle (monotonic, never 0).
  uint32_t NextHandle() { return ++next_handle_ == 0 ? ++next_handle_ : next_handle_; }
  core::Clock* clock() const { return clock_; }
  core::Duration timeout() const { return options_.timeout; }

 private:
  explicit SecureChannel(const ChannelOptions& options);
  core::Status Connect(const EndpointAddress& address);
  core::Status Hello();
  core::Status OpenOrRenew(bool renew);
  core::Status SendMessage(std::string_view type, uint32_t request_id, std::string_view body);
  core::Result<AssembledMessage> ReceiveMessage(uint32_t request_id, int64_t deadline);
  core::Status ReadRaw(std::string* message, int64_t deadline);
  core::Status ReadExact(char* out, size_t n, int64_t deadline);
  core::Status WriteAll(std::string_view bytes, int64_t deadline);
  core::Status Fail(core::Status status);
  std::string Peer() const;

  ChannelOptions options_;
  core::Clock* clock_;
  EndpointAddress address_;
  int fd_ = -1;
  core::Status broken_;  // set once the channel is unusable
  AcknowledgeMessage ack_;
  ChunkAssembler assembler_;
  uint32_t channel_id_ = 0;
  uint32_t token_id_ = 0;
  uint32_t previous_token_id_ = 0;
  uint32_t revised_lifetime_ms_ = 0;
  int64_t token_steady_ = 0;  // Clock::Steady() when the token was issued
  uint32_t renewals_ = 0;
  uint32_t next_sequence_ = 1;
  uint32_t next_request_id_ = 0;
  uint32_t next_handle_ = 0;
};

// Encodes the RequestHeader (Part 4, 7.28) every service request starts with.
void EncodeRequestHeader(Encoder& e, const NodeId& authentication_token, core::Timestamp now, uint32_t handle,
                         uint32_t timeout_hint_ms);

struct ResponseHeader {
  int64_t timestamp = 0;
  uint32_t request_handle = 0;
  uint32_t service_result = 0;
};
// Decodes a ResponseHeader (Part 4, 7.29); diagnostics and the string table are skipped.
core::Status DecodeResponseHeader(Decoder& d, ResponseHeader* header);

// Decodes the response type id and header, turns a ServiceFault or a bad serviceResult into
// a Status naming the service and the code, and checks the type id and request handle.
// On success `d` is positioned after the header. `code`, when given, receives the
// serviceResult (for callers that must tell failures apart).
core::Status BeginResponse(Decoder& d, std::string_view service, uint32_t expected_type, uint32_t handle,
                           uint32_t* code = nullptr);

// "BadNodeIdUnknown" for well-known codes, else "0x80340000".
std::string StatusCodeName(uint32_t code);

}  // namespace shopfloor::connect::opcua
