// OPC UA client session over one SecureChannel.
//
// Client::Connect opens the channel, creates a session and activates it (anonymous, or
// username/password). With SecurityPolicy Basic256Sha256 it first asks the server for its
// endpoints over an unsecured channel, picks the one with the wanted policy and mode, checks
// the server's certificate against the PKI's trust list (pki.h; unknown certificates are
// refused and kept under rejected/), then opens a signed (and encrypted) channel, proves
// possession of our certificate's key in ActivateSession and checks the server's proof in
// CreateSession. A password is encrypted with the server's key (RSA-OAEP) whenever the
// token policy asks for it, also on a None channel. Browse follows continuation points with BrowseNext; Read splits requests
// into batches no larger than the server's MaxNodesPerRead (read from the server once at
// connect; unlimited when absent). Every service failure is a Status naming the service
// and the OPC UA StatusCode; per-node results carry their own StatusCode.
//
// Not thread-safe: use one Client per thread or serialise calls.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connect/opcua/pki.h"
#include "connect/opcua/secure_channel.h"
#include "connect/opcua/subscription.h"
#include "connect/opcua/translate.h"
#include "connect/opcua/types.h"

namespace shopfloor::connect::opcua {

enum class NodeClass : uint32_t {
  kUnspecified = 0, kObject = 1, kVariable = 2, kMethod = 4, kObjectType = 8,
  kVariableType = 16, kReferenceType = 32, kDataType = 64, kView = 128,
};
std::string_view NodeClassName(NodeClass node_class);

// Attribute ids (Part 6, A.1).
inline constexpr uint32_t kAttributeNodeClass = 2;
inline constexpr uint32_t kAttributeBrowseName = 3;
inline constexpr uint32_t kAttributeDisplayName = 4;
inline constexpr uint32_t kAttributeValue = 13;
inline constexpr uint32_t kAttributeDataType = 14;

// Well-known nodes (ns=0).
inline constexpr uint32_t kObjectsFolder = 85;
inline constexpr uint32_t kHierarchicalReferences = 33;
inline constexpr uint32_t kMaxNodesPerReadNode = 11705;
inline constexpr uint32_t kMaxMonitoredItemsPerCallNode = 11714;
inline constexpr uint32_t kHasProperty = 46;

struct UserTokenPolicy {
  std::string policy_id;
  int32_t token_type = 0;  // 0 anonymous, 1 username, 2 certificate, 3 issued
  std::string security_policy_uri;
};

struct EndpointDescription {
  std::string endpoint_url;
  std::string application_uri;
  int32_t security_mode = 0;  // 1 None, 2 Sign, 3 SignAndEncrypt
  std::string security_policy_uri;
  std::vector<UserTokenPolicy> user_tokens;
  uint8_t security_level = 0;
  std::string server_certificate;  // DER (possibly a chain); empty for None-only servers
};

struct ReferenceDescription {
  NodeId reference_type;
  bool is_forward = true;
  ExpandedNodeId node_id;
  QualifiedName browse_name;
  LocalizedText display_name;
  NodeClass node_class = NodeClass::kUnspecified;
  ExpandedNodeId type_definition;
};

struct ReadValueId {
  NodeId node_id;
  uint32_t attribute_id = kAttributeValue;
};

struct WriteValue {
  NodeId node_id;
  uint32_t attribute_id = kAttributeValue;
  DataValue value;
};

struct ClientOptions {
  std::string endpoint_url;
  core::Duration timeout = 10 * core::kSecond;
  uint32_t requested_lifetime_ms = 3'600'000;  // secure channel token
  double session_timeout_ms = 60'000;
  std::string username;  // empty: anonymous
  std::string password;
  // Message security (Part 2/Part 7 profiles): policy "None" or "Basic256Sha256"; mode
  // "None" (only with policy None), "Sign" or "SignAndEncrypt".
  std::string security_policy = "None";
  std::string security_mode = "None";
  // The PKI directory (pki.h): own/ holds the application certificate and key (created on
  // first use), trusted/ the server certificates we accept, rejected/ the ones we refused
  // (move one to trusted/, or `shopfloor opcua trust`, to accept it). Required unless the
  // policy is None.
  std::string pki_dir;
  core::Clock* clock = nullptr;  // null: Clock::System()
};

class Client {
 public:
  static core::Result<std::unique_ptr<Client>> Connect(const ClientOptions& options);
  // Asks the endpoint for its endpoints over a fresh channel without a session.
  static core::Result<std::vector<EndpointDescription>> GetEndpoints(const ClientOptions& options);
  ~Client();

  // All references of `node` in `direction` (0 forward, 1 inverse, 2 both) of
  // `reference_type` and its subtypes, following continuation points.
  core::Result<std::vector<ReferenceDescription>> Browse(const NodeId& node,
                                                         const NodeId& reference_type = NodeId::Numeric(0, kHierarchicalReferences),
                                                         int32_t direction = 0);
  // One DataValue per item, in order, batched by MaxNodesPerRead. Timestamps: both.
  core::Result<std::vector<DataValue>> Read(const std::vector<ReadValueId>& items);
  // One StatusCode per item, in order.
  core::Result<std::vector<uint32_t>> Write(const std::vector<WriteValue>& items);

  // Subscriptions (subscription.cc). The client stays synchronous: Publish sends one
  // PublishRequest and blocks until its response, so at most one Publish is outstanding and
  // the caller's thread is the publish loop (see Collector). The server answers a Publish
  // when it has notifications or after max_keep_alive_count intervals (keep-alive), so that
  // period must be shorter than the request timeout; CreateSubscription refuses otherwise.
  core::Result<SubscriptionInfo> CreateSubscription(const SubscriptionParams& params);
  // Timestamps Both, monitoring mode Reporting, in batches of the server's
  // MaxMonitoredItemsPerCall (read once, on first use). Percent-deadband items need the
  // node's EURange: it is read first and returned in the result; a node without one fails
  // the call (kInvalidArgument naming the node) before anything is created.
  core::Result<std::vector<MonitoredItemResult>> CreateMonitoredItems(uint32_t subscription_id,
                                                                      const std::vector<MonitoredItemRequest>& items);
  // One Publish. It acknowledges every notification message received since the previous
  // successful Publish (their results are in ack_results); keep-alives are not acknowledged.
  core::Result<PublishResult> Publish();
  // One StatusCode per id. Pending acknowledgements for these subscriptions are dropped.
  core::Result<std::vector<uint32_t>> DeleteSubscriptions(const std::vector<uint32_t>& subscription_ids);
  // The EURange property of an analog item, or nullopt when it has none.
  core::Result<std::optional<EuRange>> ReadEuRange(const NodeId& node);
  size_t pending_acknowledgements() const { return pending_acks_.size(); }

  // A setpoint write with read-back verification (setpoint.cc): writes `value` to the
  // node's Value, reads it back and compares. Fails naming the node when the write is
  // refused (kAborted with the StatusCode), when the read-back is Bad, or when the value read
  // back differs from the one written (kAborted, both values shown) - e.g. a server that
  // clamps or rounds the setpoint.
  core::Status WriteVerified(const NodeId& node, const Variant& value);

  // Closes the session and the channel. Idempotent.
  core::Status Close();

  // ---- Address-space paths and session recovery (translate.cc, republish.cc) ----

  // TranslateBrowsePathsToNodeIds: one result per path, in order, with its StatusCode
  // (BadNoMatch when an element has no match) and targets. Batched by the server's
  // MaxNodesPerTranslateBrowsePathsToNodeIds (i=11712, read once, on first use).
  core::Result<std::vector<BrowsePathResult>> TranslateBrowsePaths(const std::vector<BrowsePath>& paths);
  uint32_t translate_requests() const { return translate_requests_; }

  // Session recovery after a lost connection (republish.cc). Reactivate opens a new
  // SecureChannel and activates the existing session on it (Part 4, 5.6.3), keeping its
  // subscriptions and the acknowledgements still to send. kNotFound when the server no
  // longer knows the session (BadSessionIdInvalid, BadSessionClosed): then RecreateSession
  // creates a new one on that channel, and TransferSubscriptions (Part 4, 5.13.7) moves
  // the old subscriptions to it. Under Basic256Sha256 the new channel is secured as the
  // first was and the activation signed with the latest server nonce. Other failures as
  // for any call.
  core::Status Reactivate();
  core::Status RecreateSession();
  core::Result<std::vector<TransferResult>> TransferSubscriptions(const std::vector<uint32_t>& subscription_ids,
                                                                  bool send_initial_values);
  // Republish (Part 4, 5.13.6) of one NotificationMessage the server still holds; it is
  // acknowledged with the next Publish. BadMessageNotAvailable when it is gone (kNotFound).
  core::Result<PublishResult> Republish(uint32_t subscription_id, uint32_t sequence_number);
  struct RecoveryStats {
    uint64_t reactivations = 0;  // sessions activated on a new channel
    uint64_t transfers = 0;      // subscriptions transferred to a new session
    uint64_t republished = 0;    // NotificationMessages fetched again
  };
  const RecoveryStats& recovery_stats() const { return recovery_; }

  uint32_t max_nodes_per_read() const { return max_nodes_per_read_; }
  // Browse requests this client asks for per call (for tests of BrowseNext).
  void set_max_references_per_browse(uint32_t n) { max_references_ = n; }
  uint32_t read_requests() const { return read_requests_; }
  SecureChannel& channel() { return *channel_; }

 private:
  Client(const ClientOptions& options, std::unique_ptr<SecureChannel> channel);
  core::Result<std::unique_ptr<SecureChannel>> OpenSecureChannel();
  core::Status CreateAndActivate();
  // ActivateSession for the session in authentication_token_ (client.cc): signed under
  // Basic256Sha256, with the identity token of identity_policy_; keeps the new server nonce.
  core::Status ActivateSession(uint32_t* code = nullptr);
  core::Result<std::vector<DataValue>> ReadBatch(const ReadValueId* items, size_t count);
  void BeginRequest(Encoder& e, uint32_t type, uint32_t* handle);

  ClientOptions options_;
  std::shared_ptr<const Pki> pki_;           // set unless the policy is None
  std::string security_policy_uri_;          // the channel's policy
  SecurityMode security_mode_ = SecurityMode::kNone;
  std::unique_ptr<SecureChannel> channel_;
  NodeId authentication_token_;
  uint32_t max_nodes_per_read_ = 0;  // 0 = unlimited
  uint32_t max_references_ = 1000;
  uint32_t read_requests_ = 0;
  bool session_open_ = false;
  std::optional<uint32_t> max_monitored_items_per_call_;  // 0 = unlimited; read lazily
  std::vector<SubscriptionAcknowledgement> pending_acks_;
  // translate.cc, republish.cc
  std::optional<uint32_t> max_nodes_per_translate_;  // 0 = unlimited; read lazily
  uint32_t translate_requests_ = 0;
  // The session's identity token policy, and the server's certificate and latest nonce
  // (what the next ActivateSession signs and encrypts the password with).
  std::optional<UserTokenPolicy> identity_policy_;
  std::string session_server_certificate_;
  std::string session_server_nonce_;
  std::map<uint32_t, uint32_t> last_sequence_;  // per subscription: last message received
  RecoveryStats recovery_;
  void NoteSequence(PublishResult* result);
};

// Decoders for service bodies (exposed for the fuzz target). `d` is positioned after the
// response header.
core::Status DecodeEndpoints(Decoder& d, std::vector<EndpointDescription>* endpoints);
core::Status DecodeBrowseResults(Decoder& d, std::vector<ReferenceDescription>* references,
                                 std::vector<std::string>* continuation_points, std::vector<uint32_t>* statuses);
core::Status DecodeDataValues(Decoder& d, std::vector<DataValue>* values);

}  // namespace shopfloor::connect::opcua
