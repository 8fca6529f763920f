#include "connect/opcua/secure_channel.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace shopfloor::connect::opcua {

namespace {

constexpr uint32_t kOpenSecureChannelRequest = 446;
constexpr uint32_t kOpenSecureChannelResponse = 449;
constexpr uint32_t kCloseSecureChannelRequest = 452;
constexpr uint32_t kServiceFault = 397;
constexpr int32_t kSecurityModeNone = 1;

int MillisUntil(core::Clock* clock, int64_t deadline) {
  int64_t left = deadline - clock->Steady();
  if (left <= 0) return 0;
  return static_cast<int>(std::min<int64_t>((left + core::kMillisecond - 1) / core::kMillisecond, 60'000));
}

}  // namespace

core::Result<EndpointAddress> ParseEndpointUrl(std::string_view url) {
  constexpr std::string_view kScheme = "opc.tcp://";
  if (!url.starts_with(kScheme)) {
    return core::Status::InvalidArgument(fmt::format("endpoint \"{}\" does not start with opc.tcp://", url));
  }
  std::string_view rest = url.substr(kScheme.size());
  rest = rest.substr(0, rest.find('/'));
  EndpointAddress address;
  size_t colon = rest.rfind(':');
  if (!rest.empty() && rest[0] == '[') {  // [v6]:port
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return core::Status::InvalidArgument(fmt::format("endpoint \"{}\": unclosed '['", url));
    address.host = std::string(rest.substr(1, close - 1));
    colon = rest.size() > close + 1 && rest[close + 1] == ':' ? close + 1 : std::string_view::npos;
  } else {
    address.host = std::string(rest.substr(0, colon));
  }
  if (colon != std::string_view::npos) {
    std::string_view port = rest.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), address.port);
    if (ec != std::errc() || ptr != port.data() + port.size() || address.port == 0) {
      return core::Status::InvalidArgument(fmt::format("endpoint \"{}\": bad port \"{}\"", url, port));
    }
  }
  if (address.host.empty()) return core::Status::InvalidArgument(fmt::format("endpoint \"{}\" has no host", url));
  return address;
}

void EncodeRequestHeader(Encoder& e, const NodeId& authentication_token, core::Timestamp now, uint32_t handle,
                         uint32_t timeout_hint_ms) {
  Encode(e, authentication_token);
  e.Int64(TimestampToUaTicks(now));
  e.UInt32(handle);
  e.UInt32(0);  // returnDiagnostics
  e.NullString();  // auditEntryId
  e.UInt32(timeout_hint_ms);
  Encode(e, ExtensionObject{});  // additionalHeader
}

core::Status DecodeResponseHeader(Decoder& d, ResponseHeader* header) {
  SF_RETURN_IF_ERROR(d.Int64(&header->timestamp));
  SF_RETURN_IF_ERROR(d.UInt32(&header->request_handle));
  SF_RETURN_IF_ERROR(d.UInt32(&header->service_result));
  DiagnosticInfo diagnostics;
  SF_RETURN_IF_ERROR(Decode(d, &diagnostics));
  uint32_t strings = 0;
  SF_RETURN_IF_ERROR(d.ArrayLength(&strings, 4));
  std::string ignored;
  for (uint32_t i = 0; i < strings; ++i) SF_RETURN_IF_ERROR(d.String(&ignored));
  ExtensionObject additional;
  return Decode(d, &additional);
}

core::Status BeginResponse(Decoder& d, std::string_view service, uint32_t expected_type, uint32_t handle,
                           uint32_t* code) {
  NodeId type;
  ResponseHeader header;
  core::Status s = Decode(d, &type);
  if (s.ok()) s = DecodeResponseHeader(d, &header);
  if (!s.ok()) return s.WithPrefix(fmt::format("{} response: ", service));
  if (code) *code = header.service_result;
  if (header.request_handle != handle) {
    return core::Status::InvalidArgument(
        fmt::format("{} response: request handle {} does not match {}", service, header.request_handle, handle));
  }
  if (type == NodeId::Numeric(0, kServiceFault) || (header.service_result & 0x80000000u)) {
    return core::Status(core::StatusCode::kAborted,
                        fmt::format("{} failed: {}", service, StatusCodeName(header.service_result)));
  }
  if (type != NodeId::Numeric(0, expected_type)) {
    return core::Status::InvalidArgument(
        fmt::format("{} response: type {} where i={} was expected", service, type.ToString(), expected_type));
  }
  return core::Status::OK();
}

SecureChannel::SecureChannel(const ChannelOptions& options)
    : options_(options),
      clock_(options.clock ? options.clock : core::Clock::System()),
      assembler_(ChunkAssembler::Limits{options.max_message_size, 0}) {}

SecureChannel::~SecureChannel() { Close(); }

std::string SecureChannel::Peer() const { return fmt::format("{}:{}", address_.host, address_.port); }

core::Status SecureChannel::Fail(core::Status status) {
  core::StatusContext ctx = status.context();
  ctx.peer = Peer();
  core::Status with_peer(status.code(), status.message(), ctx);
  if (broken_.ok()) broken_ = with_peer;
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  return with_peer;
}

core::Result<std::unique_ptr<SecureChannel>> SecureChannel::Open(const ChannelOptions& options) {
  SF_ASSIGN_OR_RETURN(EndpointAddress address, ParseEndpointUrl(options.endpoint_url));
  std::unique_ptr<SecureChannel> channel(new SecureChannel(options));
  channel->address_ = address;
  SF_RETURN_IF_ERROR(channel->Connect(address));
  SF_RETURN_IF_ERROR(channel->Hello());
  SF_RETURN_IF_ERROR(channel->OpenOrRenew(false));
  return channel;
}

core::Status SecureChannel::Connect(const EndpointAddress& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const std::string port = std::to_string(address.port);
  int rc = ::getaddrinfo(address.host.c_str(), port.c_str(), &hints, &list);
  if (rc != 0) return Fail(core::Status::Unavailable(fmt::format("cannot resolve {}: {}", address.host, gai_strerror(rc))));
  const int64_t deadline = clock_->Steady() + options_.timeout;
  core::Status last = core::Status::Unavailable("no address");
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = core::Status::Unavailable(fmt::format("connect to {}: {}", Peer(), std::strerror(errno)));
      ::close(fd);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int ready = ::poll(&p, 1, MillisUntil(clock_, deadline));
    int err = 0;
    socklen_t len = sizeof(err);
    if (ready == 1) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (ready == 1 && err == 0) {
      fd_ = fd;
      break;
    }
    last = ready == 0 ? core::Status::Timeout(fmt::format("connect to {} timed out", Peer()))
                      : core::Status::Unavailable(fmt::format("connect to {}: {}", Peer(), std::strerror(err ? err : errno)));
    ::close(fd);
  }
  ::freeaddrinfo(list);
  if (fd_ < 0) return Fail(last);
  return core::Status::OK();
}

core::Status SecureChannel::WriteAll(std::string_view bytes, int64_t deadline) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return Fail(core::Status::Unavailable(fmt::format("send: {}", std::strerror(errno))));
    }
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, MillisUntil(clock_, deadline)) == 0) return Fail(core::Status::Timeout("send timed out"));
  }
  return core::Status::OK();
}

core::Status SecureChannel::ReadExact(char* out, size_t n, int64_t deadline) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::recv(fd_, out + got, n - got, 0);
    if (r > 0) {
      got += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) return Fail(core::Status::Unavailable("server closed the connection"));
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return Fail(core::Status::Unavailable(fmt::format("recv: {}", std::strerror(errno))));
    }
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, MillisUntil(clock_, deadline));
    if (ready == 0 && clock_->Steady() >= deadline) {
      return Fail(core::Status::Timeout(fmt::format("no answer within {} ms", options_.timeout / core::kMillisecond)));
    }
  }
  return core::Status::OK();
}

core::Status SecureChannel::ReadRaw(std::string* message, int64_t deadline) {
  char header_bytes[kMessageHeaderSize];
  SF_RETURN_IF_ERROR(ReadExact(header_bytes, sizeof(header_bytes), deadline));
  MessageHeader header;
  const uint32_t max_chunk = ack_.send_buffer_size != 0 ? ack_.send_buffer_size : options_.max_message_size;
  core::Status s = ParseMessageHeader(std::string_view(header_bytes, sizeof(header_bytes)), max_chunk, &header);
  if (!s.ok()) return Fail(s);
  message->assign(header_bytes, sizeof(header_bytes));
  message->resize(header.size);
  SF_RETURN_IF_ERROR(ReadExact(message->data() + kMessageHeaderSize, header.size - kMessageHeaderSize, deadline));
  if (header.type == "ERR") {
    ErrorMessage error;
    s = DecodeError(std::string_view(*message).substr(kMessageHeaderSize), &error);
    if (!s.ok()) return Fail(s);
    return Fail(core::Status::Unavailable(
        fmt::format("server sent ERR {}: {}", StatusCodeName(error.error), error.reason)));
  }
  return core::Status::OK();
}

core::Status SecureChannel::Hello() {
  HelloMessage hello;
  hello.endpoint_url = options_.endpoint_url;
  hello.max_message_size = options_.max_message_size;
  const int64_t deadline = clock_->Steady() + options_.timeout;
  SF_RETURN_IF_ERROR(WriteAll(EncodeHello(hello), deadline));
  std::string message;
  SF_RETURN_IF_ERROR(ReadRaw(&message, deadline));
  if (message.compare(0, 3, "ACK") != 0) {
    return Fail(core::Status::InvalidArgument(fmt::format("expected ACK, got {}", message.substr(0, 3))));
  }
  core::Status s = DecodeAcknowledge(std::string_view(message).substr(kMessageHeaderSize), &ack_);
  if (s.ok()) s = ValidateAcknowledge(ack_);
  return s.ok() ? s : Fail(s);
}

core::Status SecureChannel::SendMessage(std::string_view type, uint32_t request_id, std::string_view body) {
  if (ack_.max_message_size != 0 && body.size() > ack_.max_message_size) {
    return core::Status::InvalidArgument(fmt::format("request of {} bytes exceeds the server's limit of {}",
                                                     body.size(), ack_.max_message_size));
  }
  std::vector<std::string> chunks;
  if (options_.security) {
    auto secured = options_.security->EncodeChunks(type, channel_id_, token_id_, request_id, body,
                                                   ack_.receive_buffer_size, &next_sequence_);
    if (!secured.ok()) return secured.status();
    chunks = std::move(*secured);
  } else {
    chunks = EncodeChunks(type, channel_id_, token_id_, request_id, body, ack_.receive_buffer_size, &next_sequence_);
  }
  if (ack_.max_chunk_count != 0 && chunks.size() > ack_.max_chunk_count) {
    return core::Status::InvalidArgument(fmt::format("request needs {} chunks, the server accepts {}", chunks.size(),
                                                     ack_.max_chunk_count));
  }
  const int64_t deadline = clock_->Steady() + options_.timeout;
  for (const std::string& chunk : chunks) SF_RETURN_IF_ERROR(WriteAll(chunk, deadline));
  return core::Status::OK();
}

core::Result<AssembledMessage> SecureChannel::ReceiveMessage(uint32_t request_id, int64_t deadline) {
  std::string raw;
  for (;;) {
    SF_RETURN_IF_ERROR(ReadRaw(&raw, deadline));
    if (options_.security) {
      auto plain = options_.security->Unprotect(raw);
      if (!plain.ok()) return Fail(plain.status());
      raw = std::move(*plain);
    }
    Chunk chunk;
    core::Status s = ParseChunk(raw, &chunk);
    if (s.ok() && channel_id_ != 0 && chunk.channel_id != channel_id_) {
      s = core::Status::InvalidArgument(fmt::format("{} chunk for channel {}, ours is {}", chunk.type,
                                                    chunk.channel_id, channel_id_));
    }
    if (s.ok() && chunk.type == "MSG" && chunk.token_id != token_id_ && chunk.token_id != previous_token_id_) {
      s = core::Status::InvalidArgument(fmt::format("MSG chunk with unknown token {}", chunk.token_id));
    }
    if (s.ok() && chunk.request_id != request_id) {
      s = core::Status::InvalidArgument(
          fmt::format("{} chunk answers request {}, {} is outstanding", chunk.type, chunk.request_id, request_id));
    }
    bool complete = false;
    AssembledMessage message;
    if (s.ok()) s = assembler_.Add(chunk, &complete, &message);
    if (!s.ok()) return Fail(s);
    if (complete) return message;
  }
}

core::Status SecureChannel::OpenOrRenew(bool renew) {
  const uint32_t request_id = ++next_request_id_;
  const uint32_t handle = NextHandle();
  Encoder e;
  Encode(e, NodeId::Numeric(0, kOpenSecureChannelRequest));
  EncodeRequestHeader(e, NodeId{}, clock_->Now(), handle, static_cast<uint32_t>(options_.timeout / core::kMillisecond));
  e.UInt32(0);                     // clientProtocolVersion
  e.Int32(renew ? 1 : 0);          // requestType: Issue or Renew
  ChannelSecurity* security = options_.security.get();
  e.Int32(security ? static_cast<int32_t>(security->mode()) : kSecurityModeNone);
  if (security) {
    e.String(security->NewClientNonce());
  } else {
    e.NullString();                // clientNonce (none for SecurityPolicy None)
  }
  e.UInt32(options_.requested_lifetime_ms);
  SF_RETURN_IF_ERROR(SendMessage("OPN", request_id, e.bytes()));
  SF_ASSIGN_OR_RETURN(AssembledMessage message, ReceiveMessage(request_id, clock_->Steady() + options_.timeout));
  if (message.type != "OPN") {
    return Fail(core::Status::InvalidArgument(fmt::format("expected OPN response, got {}", message.type)));
  }
  Decoder d(message.body);
  core::Status s = BeginResponse(d, "OpenSecureChannel", kOpenSecureChannelResponse, handle);
  uint32_t server_protocol = 0, channel_id = 0, token_id = 0, lifetime = 0;
  int64_t created_at = 0;
  std::string server_nonce;
  if (s.ok()) s = d.UInt32(&server_protocol);
  if (s.ok()) s = d.UInt32(&channel_id);
  if (s.ok()) s = d.UInt32(&token_id);
  if (s.ok()) s = d.Int64(&created_at);
  if (s.ok()) s = d.UInt32(&lifetime);
  if (s.ok()) s = d.String(&server_nonce);
  if (s.ok() && renew && channel_id != channel_id_) {
    s = core::Status::InvalidArgument(fmt::format("renewal answered for channel {}, ours is {}", channel_id, channel_id_));
  }
  if (s.ok() && lifetime == 0) s = core::Status::InvalidArgument("OpenSecureChannel: revised lifetime is 0");
  if (s.ok() && security) s = security->DeriveKeys(token_id, server_nonce);
  if (!s.ok()) return Fail(s.WithPrefix(renew ? "renewing the security token: " : "opening the channel: "));
  channel_id_ = channel_id;
  previous_token_id_ = renew ? token_id_ : token_id;
  token_id_ = token_id;
  revised_lifetime_ms_ = lifetime;
  token_steady_ = clock_->Steady();
  if (renew) ++renewals_;
  return core::Status::OK();
}

core::Result<std::string> SecureChannel::Call(std::string_view request) {
  if (!broken_.ok()) return core::Status::Unavailable("channel is closed: " + broken_.message());
  if (fd_ < 0) return core::Status::Unavailable("channel is closed");
  const int64_t renew_after = token_steady_ + static_cast<int64_t>(revised_lifetime_ms_) * 3 / 4 * core::kMillisecond;
  if (clock_->Steady() >= renew_after) SF_RETURN_IF_ERROR(OpenOrRenew(true));
  const uint32_t request_id = ++next_request_id_;
  SF_RETURN_IF_ERROR(SendMessage("MSG", request_id, request));
  SF_ASSIGN_OR_RETURN(AssembledMessage message, ReceiveMessage(request_id, clock_->Steady() + options_.timeout));
  if (message.type != "MSG") {
    return Fail(core::Status::InvalidArgument(fmt::format("expected MSG response, got {}", message.type)));
  }
  return std::move(message.body);
}

void SecureChannel::Close() {
  if (fd_ < 0) return;
  Encoder e;
  Encode(e, NodeId::Numeric(0, kCloseSecureChannelRequest));
  EncodeRequestHeader(e, NodeId{}, clock_->Now(), NextHandle(), 0);
  SendMessage("CLO", ++next_request_id_, e.bytes()).IgnoreError();  // no response is sent
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (broken_.ok()) broken_ = core::Status::Unavailable("closed by the client");
}

}  // namespace shopfloor::connect::opcua
