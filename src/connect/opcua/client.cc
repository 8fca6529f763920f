#include "connect/opcua/client.h"

#include <algorithm>

#include <fmt/format.h>

namespace shopfloor::connect::opcua {

namespace {

// Binary encoding ids of the service messages (Part 6, NodeIds.csv).
constexpr uint32_t kGetEndpointsRequest = 428, kGetEndpointsResponse = 431;
constexpr uint32_t kCreateSessionRequest = 461, kCreateSessionResponse = 464;
constexpr uint32_t kActivateSessionRequest = 467, kActivateSessionResponse = 470;
constexpr uint32_t kCloseSessionRequest = 473, kCloseSessionResponse = 476;
constexpr uint32_t kBrowseRequest = 527, kBrowseResponse = 530;
constexpr uint32_t kBrowseNextRequest = 533, kBrowseNextResponse = 536;
constexpr uint32_t kReadRequest = 631, kReadResponse = 634;
constexpr uint32_t kWriteRequest = 673, kWriteResponse = 676;
constexpr uint32_t kAnonymousIdentityToken = 321, kUserNameIdentityToken = 324;

constexpr std::string_view kApplicationUri = "urn:shopfloor:opcua-client";

core::Status DecodeEndpoint(Decoder& d, EndpointDescription* ep) {
  std::string ignored;
  LocalizedText name;
  int32_t application_type = 0;
  SF_RETURN_IF_ERROR(d.String(&ep->endpoint_url));
  SF_RETURN_IF_ERROR(d.String(&ep->application_uri));
  SF_RETURN_IF_ERROR(d.String(&ignored));  // productUri
  SF_RETURN_IF_ERROR(Decode(d, &name));
  SF_RETURN_IF_ERROR(d.Int32(&application_type));
  SF_RETURN_IF_ERROR(d.String(&ignored));  // gatewayServerUri
  SF_RETURN_IF_ERROR(d.String(&ignored));  // discoveryProfileUri
  uint32_t urls = 0;
  SF_RETURN_IF_ERROR(d.ArrayLength(&urls, 4));
  for (uint32_t i = 0; i < urls; ++i) SF_RETURN_IF_ERROR(d.String(&ignored));
  SF_RETURN_IF_ERROR(d.String(&ep->server_certificate));
  SF_RETURN_IF_ERROR(d.Int32(&ep->security_mode));
  SF_RETURN_IF_ERROR(d.String(&ep->security_policy_uri));
  uint32_t tokens = 0;
  SF_RETURN_IF_ERROR(d.ArrayLength(&tokens, 20));
  ep->user_tokens.resize(tokens);
  for (auto& token : ep->user_tokens) {
    SF_RETURN_IF_ERROR(d.String(&token.policy_id));
    SF_RETURN_IF_ERROR(d.Int32(&token.token_type));
    SF_RETURN_IF_ERROR(d.String(&ignored));  // issuedTokenType
    SF_RETURN_IF_ERROR(d.String(&ignored));  // issuerEndpointUrl
    SF_RETURN_IF_ERROR(d.String(&token.security_policy_uri));
  }
  SF_RETURN_IF_ERROR(d.String(&ignored));  // transportProfileUri
  return d.Byte(&ep->security_level);
}

void EncodeSignatureData(Encoder& e) {
  e.NullString();  // algorithm
  e.NullString();  // signature
}

core::Status CheckCount(std::string_view service, size_t got, size_t want) {
  if (got == want) return core::Status::OK();
  return core::Status::InvalidArgument(fmt::format("{} response: {} results for {} items", service, got, want));
}

}  // namespace

std::string_view NodeClassName(NodeClass node_class) {
  switch (node_class) {
    case NodeClass::kUnspecified: return "Unspecified";
    case NodeClass::kObject: return "Object";
    case NodeClass::kVariable: return "Variable";
    case NodeClass::kMethod: return "Method";
    case NodeClass::kObjectType: return "ObjectType";
    case NodeClass::kVariableType: return "VariableType";
    case NodeClass::kReferenceType: return "ReferenceType";
    case NodeClass::kDataType: return "DataType";
    case NodeClass::kView: return "View";
  }
  return "Unknown";
}

core::Status DecodeEndpoints(Decoder& d, std::vector<EndpointDescription>* endpoints) {
  uint32_t n = 0;
  SF_RETURN_IF_ERROR(d.ArrayLength(&n, 30));
  endpoints->resize(n);
  for (auto& ep : *endpoints) SF_RETURN_IF_ERROR(DecodeEndpoint(d, &ep));
  return core::Status::OK();
}

core::Status DecodeBrowseResults(Decoder& d, std::vector<ReferenceDescription>* references,
                                 std::vector<std::string>* continuation_points, std::vector<uint32_t>* statuses) {
  uint32_t results = 0;
  SF_RETURN_IF_ERROR(d.ArrayLength(&results, 12));
  for (uint32_t r = 0; r < results; ++r) {
    uint32_t status = 0;
    std::string continuation;
    SF_RETURN_IF_ERROR(d.UInt32(&status));
    SF_RETURN_IF_ERROR(d.String(&continuation));
    statuses->push_back(status);
    continuation_points->push_back(std::move(continuation));
    uint32_t count = 0;
    SF_RETURN_IF_ERROR(d.ArrayLength(&count, 12));
    for (uint32_t i = 0; i < count; ++i) {
      ReferenceDescription ref;
      int32_t node_class = 0;
      SF_RETURN_IF_ERROR(Decode(d, &ref.reference_type));
      SF_RETURN_IF_ERROR(d.Boolean(&ref.is_forward));
      SF_RETURN_IF_ERROR(Decode(d, &ref.node_id));
      SF_RETURN_IF_ERROR(Decode(d, &ref.browse_name));
      SF_RETURN_IF_ERROR(Decode(d, &ref.display_name));
      SF_RETURN_IF_ERROR(d.Int32(&node_class));
      ref.node_class = static_cast<NodeClass>(node_class);
      SF_RETURN_IF_ERROR(Decode(d, &ref.type_definition));
      references->push_back(std::move(ref));
    }
  }
  return SkipDiagnosticInfos(d);
}

core::Status DecodeDataValues(Decoder& d, std::vector<DataValue>* values) {
  uint32_t n = 0;
  SF_RETURN_IF_ERROR(d.ArrayLength(&n));
  values->resize(n);
  for (auto& v : *values) SF_RETURN_IF_ERROR(Decode(d, &v));
  return SkipDiagnosticInfos(d);
}

Client::Client(const ClientOptions& options, std::unique_ptr<SecureChannel> channel)
    : options_(options), channel_(std::move(channel)) {}

Client::~Client() { Close().IgnoreError(); }

void Client::BeginRequest(Encoder& e, uint32_t type, uint32_t* handle) {
  *handle = channel_->NextHandle();
  Encode(e, NodeId::Numeric(0, type));
  EncodeRequestHeader(e, authentication_token_, channel_->clock()->Now(), *handle,
                      static_cast<uint32_t>(options_.timeout / core::kMillisecond));
}

namespace {

ChannelOptions ChannelOptionsFrom(const ClientOptions& options) {
  ChannelOptions channel;
  channel.endpoint_url = options.endpoint_url;
  channel.timeout = options.timeout;
  channel.requested_lifetime_ms = options.requested_lifetime_ms;
  channel.clock = options.clock;
  return channel;
}

}  // namespace

core::Result<std::vector<EndpointDescription>> Client::GetEndpoints(const ClientOptions& options) {
  SF_ASSIGN_OR_RETURN(auto channel, SecureChannel::Open(ChannelOptionsFrom(options)));
  Client client(options, std::move(channel));
  uint32_t handle = 0;
  Encoder e;
  client.BeginRequest(e, kGetEndpointsRequest, &handle);
  e.String(options.endpoint_url);
  e.Int32(0);  // localeIds
  e.Int32(0);  // profileUris
  SF_ASSIGN_OR_RETURN(std::string response, client.channel_->Call(e.bytes()));
  Decoder d(response);
  SF_RETURN_IF_ERROR(BeginResponse(d, "GetEndpoints", kGetEndpointsResponse, handle));
  std::vector<EndpointDescription> endpoints;
  core::Status s = DecodeEndpoints(d, &endpoints);
  if (!s.ok()) return s.WithPrefix("GetEndpoints response: ");
  return endpoints;
}

core::Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  std::unique_ptr<Client> client(new Client(options, nullptr));
  SF_ASSIGN_OR_RETURN(client->channel_, client->OpenSecureChannel());
  SF_RETURN_IF_ERROR(client->CreateAndActivate());
  // The server's read batch limit, when it publishes one.
  auto limit = client->Read({ReadValueId{NodeId::Numeric(0, kMaxNodesPerReadNode), kAttributeValue}});
  if (limit.ok() && !limit->empty() && (*limit)[0].status_code() == 0 && (*limit)[0].value &&
      std::holds_alternative<uint32_t>((*limit)[0].value->scalar)) {
    client->max_nodes_per_read_ = std::get<uint32_t>((*limit)[0].value->scalar);
  } else if (!limit.ok()) {
    return limit.status().WithPrefix("reading MaxNodesPerRead: ");
  }
  return client;
}

core::Result<std::unique_ptr<SecureChannel>> Client::OpenSecureChannel() {
  ChannelOptions channel = ChannelOptionsFrom(options_);
  SF_ASSIGN_OR_RETURN(security_policy_uri_, ParseSecurityPolicy(options_.security_policy));
  SF_ASSIGN_OR_RETURN(security_mode_, ParseSecurityMode(options_.security_mode));
  if (security_policy_uri_ == kSecurityPolicyNone) {
    if (security_mode_ != SecurityMode::kNone) {
      return core::Status::InvalidArgument(fmt::format("security mode {} needs a security policy other than None",
                                                       SecurityModeName(security_mode_)));
    }
    return SecureChannel::Open(channel);
  }
  if (security_mode_ == SecurityMode::kNone) {
    return core::Status::InvalidArgument("security policy Basic256Sha256 needs security mode Sign or SignAndEncrypt");
  }
  core::Clock* clock = options_.clock ? options_.clock : core::Clock::System();
  if (!pki_) {
    auto pki = Pki::Open(options_.pki_dir, clock->Now());
    if (!pki.ok()) return pki.status().WithPrefix("OPC UA certificate store: ");
    pki_ = std::move(*pki);
  }
  auto endpoints = GetEndpoints(options_);
  if (!endpoints.ok()) return endpoints.status().WithPrefix("finding the server's secure endpoint: ");
  const EndpointDescription* chosen = nullptr;
  std::string offered;
  for (const auto& ep : *endpoints) {
    std::string_view policy = ep.security_policy_uri;
    policy.remove_prefix(std::min(policy.size(), policy.rfind('#') + 1));
    offered += fmt::format("{}{}/{}", offered.empty() ? "" : ", ", policy,
                           SecurityModeName(static_cast<SecurityMode>(ep.security_mode)));
    if (!chosen && ep.security_policy_uri == security_policy_uri_ &&
        ep.security_mode == static_cast<int32_t>(security_mode_)) {
      chosen = &ep;
    }
  }
  if (!chosen) {
    return core::Status::Unavailable(fmt::format("the server offers no Basic256Sha256/{} endpoint (it offers {})",
                                                 SecurityModeName(security_mode_), offered.empty() ? "none" : offered));
  }
  SF_RETURN_IF_ERROR(pki_->CheckServerCertificate(chosen->server_certificate, clock->Now()));
  SF_ASSIGN_OR_RETURN(channel.security, ChannelSecurity::Create(security_mode_, pki_, chosen->server_certificate));
  return SecureChannel::Open(channel);
}

namespace {

// The identity token of ActivateSession (Part 4, 7.36): anonymous, or a UserName token whose
// password is encrypted (Part 4, 7.36.4) when its policy names a security policy.
core::Result<ExtensionObject> IdentityToken(const UserTokenPolicy& policy, std::string_view channel_policy,
                                            const ClientOptions& options, std::string_view server_certificate,
                                            std::string_view server_nonce) {
  Encoder token;
  token.String(policy.policy_id);
  if (policy.token_type == 0) {
    return ExtensionObject{NodeId::Numeric(0, kAnonymousIdentityToken), ExtensionObject::Encoding::kBinary, token.Take()};
  }
  const std::string_view token_policy = policy.security_policy_uri.empty() ? channel_policy : policy.security_policy_uri;
  token.String(options.username);
  if (token_policy == kSecurityPolicyNone) {
    token.String(options.password);
    token.NullString();  // encryptionAlgorithm
  } else {
    // RSA-OAEP (SHA-1) is the user token algorithm of Basic256Sha256, Basic256 and
    // Aes128_Sha256_RsaOaep; the others (PKCS#1 v1.5, OAEP-SHA256) are not implemented.
    static constexpr std::string_view kOaepPolicies[] = {
        "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256",
        "http://opcfoundation.org/UA/SecurityPolicy#Basic256",
        "http://opcfoundation.org/UA/SecurityPolicy#Aes128_Sha256_RsaOaep"};
    if (std::find(std::begin(kOaepPolicies), std::end(kOaepPolicies), token_policy) == std::end(kOaepPolicies)) {
      return core::Status::Unimplemented(
          fmt::format("the server wants the password encrypted with {}, which is not supported", token_policy));
    }
    if (server_certificate.empty() || server_nonce.empty()) {
      return core::Status::InvalidArgument(
          "the server wants an encrypted password but gave no certificate or nonce in CreateSession");
    }
    auto cert = crypto::Certificate::FromDer(server_certificate);
    if (!cert.ok()) return cert.status().WithPrefix("CreateSession server certificate: ");
    SF_ASSIGN_OR_RETURN(auto key, (*cert)->PublicKey());
    Encoder secret;
    secret.UInt32(static_cast<uint32_t>(options.password.size() + server_nonce.size()));
    secret.Raw(options.password);
    secret.Raw(server_nonce);
    SF_ASSIGN_OR_RETURN(std::string encrypted, key->OaepEncrypt(secret.bytes()));
    token.String(encrypted);
    token.String(kRsaOaepUri);
  }
  return ExtensionObject{NodeId::Numeric(0, kUserNameIdentityToken), ExtensionObject::Encoding::kBinary, token.Take()};
}

}  // namespace

core::Status Client::CreateAndActivate() {
  const bool secure = security_mode_ != SecurityMode::kNone;
  const std::string client_nonce = crypto::RandomBytes(32);
  uint32_t handle = 0;
  Encoder e;
  BeginRequest(e, kCreateSessionRequest, &handle);
  e.String(secure ? pki_->application_uri() : std::string(kApplicationUri));
  e.String("urn:shopfloor");                     // productUri
  Encode(e, LocalizedText{"", "Shopfloor"});     // applicationName
  e.Int32(1);                                    // applicationType: Client
  e.NullString();                                // gatewayServerUri
  e.NullString();                                // discoveryProfileUri
  e.Int32(-1);                                   // discoveryUrls
  e.NullString();                                // serverUri
  e.String(options_.endpoint_url);
  e.String("shopfloor");                         // sessionName
  e.String(client_nonce);
  if (secure) {
    e.String(pki_->certificate().der());         // clientCertificate
  } else {
    e.NullString();
  }
  e.Double(options_.session_timeout_ms);
  e.UInt32(0);                                   // maxResponseMessageSize: no limit
  SF_ASSIGN_OR_RETURN(std::string response, channel_->Call(e.bytes()));
  Decoder d(response);
  SF_RETURN_IF_ERROR(BeginResponse(d, "CreateSession", kCreateSessionResponse, handle));
  NodeId session_id;
  double revised_timeout = 0;
  std::string server_nonce, server_certificate, ignored, signature_algorithm, signature;
  std::vector<EndpointDescription> endpoints;
  uint32_t software_certificates = 0;
  core::Status s = Decode(d, &session_id);
  if (s.ok()) s = Decode(d, &authentication_token_);
  if (s.ok()) s = d.Double(&revised_timeout);
  if (s.ok()) s = d.String(&server_nonce);
  if (s.ok()) s = d.String(&server_certificate);
  if (s.ok()) s = DecodeEndpoints(d, &endpoints);
  if (s.ok()) s = d.ArrayLength(&software_certificates, 8);
  for (uint32_t i = 0; s.ok() && i < software_certificates; ++i) {
    s = d.String(&ignored);          // certificateData
    if (s.ok()) s = d.String(&ignored);  // signature
  }
  if (s.ok()) s = d.String(&signature_algorithm);  // serverSignature
  if (s.ok()) s = d.String(&signature);
  if (!s.ok()) return s.WithPrefix("CreateSession response: ");

  if (secure) {
    // The server proves it holds its key by signing our certificate and nonce (Part 4, 5.6.2).
    const ChannelSecurity& security = *channel_->security();
    auto cert = crypto::Certificate::FromDer(server_certificate);
    if (!cert.ok() || (*cert)->thumbprint() != security.server_certificate().thumbprint()) {
      return core::Status::Unauthenticated("CreateSession: the server's certificate differs from its channel's");
    }
    if (signature_algorithm != kRsaSha256Uri) {
      return core::Status::Unauthenticated(fmt::format("CreateSession: server signature algorithm \"{}\"", signature_algorithm));
    }
    core::Status verified = security.server_key().VerifySha256(pki_->certificate().der() + client_nonce, signature);
    if (!verified.ok()) return verified.WithPrefix("CreateSession: the server's signature: ");
    if (server_nonce.size() < 32) {
      return core::Status::Unauthenticated(fmt::format("CreateSession: server nonce of {} bytes", server_nonce.size()));
    }
  }

  // Pick the identity token policy from an endpoint with the channel's policy and mode.
  const int32_t wanted_type = options_.username.empty() ? 0 : 1;
  const UserTokenPolicy* policy = nullptr;
  for (const auto& ep : endpoints) {
    if (ep.security_policy_uri != security_policy_uri_ || ep.security_mode != static_cast<int32_t>(security_mode_)) continue;
    for (const auto& token : ep.user_tokens) {
      if (token.token_type == wanted_type && !policy) policy = &token;
    }
  }
  if (!policy) {
    return core::Status::Unauthenticated(fmt::format("the server offers no {} login on a {} {} endpoint",
                                                     wanted_type == 0 ? "anonymous" : "username",
                                                     security_policy_uri_.substr(security_policy_uri_.rfind('#') + 1),
                                                     SecurityModeName(security_mode_)));
  }
  identity_policy_ = *policy;
  session_server_certificate_ = std::move(server_certificate);
  session_server_nonce_ = std::move(server_nonce);
  return ActivateSession();
}

core::Status Client::ActivateSession(uint32_t* code) {
  const bool secure = security_mode_ != SecurityMode::kNone;
  SF_ASSIGN_OR_RETURN(ExtensionObject identity, IdentityToken(*identity_policy_, security_policy_uri_, options_,
                                                              session_server_certificate_, session_server_nonce_));
  uint32_t handle = 0;
  Encoder a;
  BeginRequest(a, kActivateSessionRequest, &handle);
  if (secure) {
    // Proof of our key: the server's certificate and its latest nonce, signed (Part 4, 5.6.3).
    SF_ASSIGN_OR_RETURN(std::string signature, pki_->key().SignSha256(session_server_certificate_ + session_server_nonce_));
    a.String(kRsaSha256Uri);  // clientSignature
    a.String(signature);
  } else {
    EncodeSignatureData(a);
  }
  a.Int32(-1);             // clientSoftwareCertificates
  a.Int32(-1);             // localeIds
  Encode(a, identity);
  EncodeSignatureData(a);  // userTokenSignature
  SF_ASSIGN_OR_RETURN(std::string response, channel_->Call(a.bytes()));
  Decoder d(response);
  SF_RETURN_IF_ERROR(BeginResponse(d, "ActivateSession", kActivateSessionResponse, handle, code));
  std::string nonce;
  core::Status s = d.String(&nonce);  // serverNonce: the next activation signs this one
  if (!s.ok()) return s.WithPrefix("ActivateSession response: ");
  if (!nonce.empty()) session_server_nonce_ = std::move(nonce);
  session_open_ = true;
  return core::Status::OK();
}

core::Result<std::vector<ReferenceDescription>> Client::Browse(const NodeId& node, const NodeId& reference_type,
                                                               int32_t direction) {
  uint32_t handle = 0;
  Encoder e;
  BeginRequest(e, kBrowseRequest, &handle);
  Encode(e, NodeId{});  // view: the whole address space
  e.Int64(0);
  e.UInt32(0);
  e.UInt32(max_references_);
  e.Int32(1);
  Encode(e, node);
  e.Int32(direction);
  Encode(e, reference_type);
  e.Boolean(true);  // includeSubtypes
  e.UInt32(0);      // nodeClassMask: all
  e.UInt32(0x3F);   // resultMask: all fields
  std::vector<ReferenceDescription> references;
  std::string request = e.Take();
  uint32_t expected = kBrowseResponse;
  std::string_view service = "Browse";
  for (int round = 0;; ++round) {
    SF_ASSIGN_OR_RETURN(std::string response, channel_->Call(request));
    Decoder d(response);
    SF_RETURN_IF_ERROR(BeginResponse(d, service, expected, handle));
    std::vector<std::string> continuation;
    std::vector<uint32_t> statuses;
    core::Status s = DecodeBrowseResults(d, &references, &continuation, &statuses);
    if (!s.ok()) return s.WithPrefix(fmt::format("{} response: ", service));
    SF_RETURN_IF_ERROR(CheckCount(service, statuses.size(), 1));
    if (statuses[0] & 0x80000000u) {
      return core::Status(core::StatusCode::kNotFound,
                          fmt::format("{} {}: {}", service, node.ToString(), StatusCodeName(statuses[0])));
    }
    if (continuation[0].empty()) break;
    if (round > 100000) return core::Status::OutOfRange("Browse: the server keeps sending continuation points");
    Encoder next;
    BeginRequest(next, kBrowseNextRequest, &handle);
    next.Boolean(false);  // releaseContinuationPoints
    next.Int32(1);
    next.String(continuation[0]);
    request = next.Take();
    expected = kBrowseNextResponse;
    service = "BrowseNext";
  }
  return references;
}

core::Result<std::vector<DataValue>> Client::ReadBatch(const ReadValueId* items, size_t count) {
  uint32_t handle = 0;
  Encoder e;
  BeginRequest(e, kReadRequest, &handle);
  e.Double(0);  // maxAge
  e.Int32(2);   // timestampsToReturn: Both
  e.Int32(static_cast<int32_t>(count));
  for (size_t i = 0; i < count; ++i) {
    Encode(e, items[i].node_id);
    e.UInt32(items[i].attribute_id);
    e.NullString();             // indexRange
    e.UInt16(0);  // dataEncoding: a null QualifiedName (an empty name is refused for
    e.NullString();  // attributes other than Value with BadDataEncodingInvalid)
  }
  ++read_requests_;
  SF_ASSIGN_OR_RETURN(std::string response, channel_->Call(e.bytes()));
  Decoder d(response);
  SF_RETURN_IF_ERROR(BeginResponse(d, "Read", kReadResponse, handle));
  std::vector<DataValue> values;
  core::Status s = DecodeDataValues(d, &values);
  if (!s.ok()) return s.WithPrefix("Read response: ");
  SF_RETURN_IF_ERROR(CheckCount("Read", values.size(), count));
  return values;
}

core::Result<std::vector<DataValue>> Client::Read(const std::vector<ReadValueId>& items) {
  std::vector<DataValue> out;
  out.reserve(items.size());
  const size_t batch = max_nodes_per_read_ == 0 ? std::max<size_t>(items.size(), 1) : max_nodes_per_read_;
  for (size_t start = 0; start < items.size(); start += batch) {
    SF_ASSIGN_OR_RETURN(auto values, ReadBatch(items.data() + start, std::min(batch, items.size() - start)));
    for (auto& v : values) out.push_back(std::move(v));
  }
  return out;
}

core::Result<std::vector<uint32_t>> Client::Write(const std::vector<WriteValue>& items) {
  uint32_t handle = 0;
  Encoder e;
  BeginRequest(e, kWriteRequest, &handle);
  e.Int32(static_cast<int32_t>(items.size()));
  for (const auto& item : items) {
    Encode(e, item.node_id);
    e.UInt32(item.attribute_id);
    e.NullString();  // indexRange
    SF_RETURN_IF_ERROR(EncodeDataValue(e, item.value));
  }
  SF_ASSIGN_OR_RETURN(std::string response, channel_->Call(e.bytes()));
  Decoder d(response);
  SF_RETURN_IF_ERROR(BeginResponse(d, "Write", kWriteResponse, handle));
  uint32_t n = 0;
  core::Status s = d.ArrayLength(&n, 4);
  std::vector<uint32_t> results(s.ok() ? n : 0);
  for (uint32_t i = 0; s.ok() && i < n; ++i) s = d.UInt32(&results[i]);
  if (s.ok()) s = SkipDiagnosticInfos(d);
  if (!s.ok()) return s.WithPrefix("Write response: ");
  SF_RETURN_IF_ERROR(CheckCount("Write", results.size(), items.size()));
  return results;
}

core::Status Client::Close() {
  core::Status result;
  if (!channel_) return result;
  if (session_open_ && channel_->open()) {
    session_open_ = false;
    uint32_t handle = 0;
    Encoder e;
    BeginRequest(e, kCloseSessionRequest, &handle);
    e.Boolean(true);  // deleteSubscriptions
    auto response = channel_->Call(e.bytes());
    if (response.ok()) {
      Decoder d(*response);
      result = BeginResponse(d, "CloseSession", kCloseSessionResponse, handle);
    } else {
      result = response.status();
    }
  }
  session_open_ = false;
  channel_->Close();
  return result;
}

}  // namespace shopfloor::connect::opcua
