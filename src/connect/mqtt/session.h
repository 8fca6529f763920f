// A client's session state (4.1): its subscriptions, the QoS 1 and 2 messages in flight in
// both directions, and the messages queued while it is offline or over its Receive Maximum.
// A session outlives its network connection when it has a Session Expiry Interval (5.0) or
// CleanSession=0 (3.1.1).
//
// Thread safety: none; every field is guarded by the broker's mutex.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "connect/mqtt/packet.h"
#include "connect/mqtt/subscriptions.h"

namespace shopfloor::connect::mqtt {

class Connection;

// A routed message, shared by every session it goes to.
struct Message {
  Publish publish;          // as received: topic resolved, no alias or subscription ids
  std::string publisher;    // client id, for No Local
  int64_t received_at = 0;  // steady ns, for Message Expiry
};
using MessagePtr = std::shared_ptr<const Message>;

// One session's copy of a message.
struct Outbound {
  MessagePtr message;
  uint8_t qos = 0;
  bool retain = false;
  std::vector<uint32_t> identifiers;
  uint16_t packet_id = 0;
  bool pubrec_received = false;  // QoS 2: PUBREL sent, waiting for PUBCOMP
};

class Session {
 public:
  static constexpr uint32_t kNeverExpires = 0xFFFFFFFF;

  explicit Session(std::string client_id) : client_id_(std::move(client_id)) {}

  const std::string& client_id() const { return client_id_; }

  // Puts `out` in flight (assigning a packet id) when the client is connected and its
  // Receive Maximum allows, else queues it. Returns false when the queue is full (the
  // message is dropped) or when a QoS 0 message finds the client offline.
  enum class Placement { kSend, kQueued, kDropped };
  Placement Admit(Outbound* out, bool connected, size_t max_queued);
  // Moves queued messages in flight while the Receive Maximum allows; returns them.
  std::vector<Outbound*> Promote(size_t max_inflight);
  // The PUBLISH for an outbound message, with the remaining message expiry; false when the
  // message has expired (the caller drops it).
  bool ToPublish(const Outbound& out, bool dup, int64_t now, Publish* publish) const;
  // Acknowledgements from the client. Return false for an unknown packet id.
  bool OnPuback(uint16_t packet_id);
  bool OnPubrec(uint16_t packet_id, bool failed);
  bool OnPubcomp(uint16_t packet_id);
  // Drops in-flight messages the client cannot take (expired, too large) without an ack.
  void DropInflight(uint16_t packet_id);

  // Fields kept across connections.
  uint8_t protocol_level = kMqtt311;
  uint32_t expiry_interval = 0;  // seconds after disconnect; kNeverExpires for 3.1.1 persistent
  std::string username;
  std::string principal;
  std::map<std::string, Subscription> subscriptions;  // filter -> options, mirrors the trie
  // Lists, not deques: an empty std::deque allocates ~600 bytes, and most sessions are idle.
  std::list<Outbound> inflight;                       // sent, in send order
  std::list<Outbound> queued;
  std::set<uint16_t> awaiting_pubrel;                 // inbound QoS 2 ids (PUBREC sent)
  std::optional<Will> will;
  uint64_t will_generation = 0;                       // cancels delayed wills and expiry timers

  // The current connection's limits (5.0 CONNECT properties).
  uint16_t client_receive_maximum = 65535;
  uint32_t client_max_packet_size = 0;  // 0 = no limit
  std::shared_ptr<Connection> connection;

 private:
  uint16_t NextPacketId();
  bool InUse(uint16_t id) const;

  std::string client_id_;
  uint16_t last_packet_id_ = 0;
};

}  // namespace shopfloor::connect::mqtt
