// PUBLISH from the client and the acknowledgement flows in both directions (3.3-3.7, 4.3):
// topic aliases, the inbound Receive Maximum, OnPublish before PUBACK/PUBREC, QoS 2
// exactly-once delivery (packet ids awaiting PUBREL are kept in the session).
#include <algorithm>

#include <boost/asio/post.hpp>

#include "connect/mqtt/connection.h"

namespace shopfloor::connect::mqtt {

namespace {

// Failures that may pass if the message is sent again (storage full or failing, overload).
bool Retryable(Reason reason) {
  switch (reason) {
    case Reason::kUnspecifiedError:
    case Reason::kImplementationSpecificError:
    case Reason::kServerUnavailable:
    case Reason::kServerBusy:
    case Reason::kQuotaExceeded:
      return true;
    default:
      return false;
  }
}

}  // namespace

void Connection::HandlePublish(Publish publish) {
  const bool v5 = version_ == kMqtt5;
  if (v5 && publish.properties.topic_alias) {
    const uint16_t alias = *publish.properties.topic_alias;
    if (alias == 0 || alias > broker_->options().topic_alias_maximum) {
      broker_->counters().malformed_packets++;
      return DisconnectWith(Reason::kTopicAliasInvalid);
    }
    if (aliases_.empty()) aliases_.resize(broker_->options().topic_alias_maximum);
    std::string& mapped = aliases_[alias - 1];
    if (!publish.topic.empty()) {
      mapped = publish.topic;
    } else if (mapped.empty()) {
      // 3.3.2.3.4: an alias without a mapping is a Protocol Error.
      return ProtocolError({Reason::kProtocolError, "PUBLISH: unknown topic alias"}, nullptr);
    } else {
      publish.topic = mapped;
    }
    publish.properties.topic_alias.reset();
  }
  if (publish.qos == 2) {
    std::lock_guard lock(broker_->mu());
    if (session_->awaiting_pubrel.count(publish.packet_id) != 0) {
      // A resent QoS 2 PUBLISH that was already accepted: acknowledge, do not deliver twice.
      Send(PubResponse{PacketType::kPubrec, publish.packet_id});
      return;
    }
  }
  if (publish.qos > 0) {
    ++inbound_unacked_;
    if (v5 && inbound_unacked_ > broker_->options().receive_maximum) {
      broker_->counters().malformed_packets++;
      return DisconnectWith(Reason::kReceiveMaximumExceeded);
    }
  }
  broker_->counters().messages_received++;
  Inbound& in = inbound_.emplace_back();
  in.sequence = next_sequence_++;
  in.publish = std::move(publish);
  in.authorized = broker_->hooks().AuthorizePublish(View(), in.publish.topic);
  if (!in.authorized) {
    broker_->counters().publishes_denied++;
    return CompletePublish(in.sequence, Reason::kNotAuthorized);
  }
  const uint64_t sequence = in.sequence;
  broker_->hooks().OnPublish(View(), in.publish, [self = shared_from_this(), sequence](Reason reason) {
    net::post(self->socket_.get_executor(), [self, sequence, reason] { self->CompletePublish(sequence, reason); });
  });
}

void Connection::CompletePublish(uint64_t sequence, Reason reason) {
  auto it = std::find_if(inbound_.begin(), inbound_.end(), [&](const Inbound& in) { return in.sequence == sequence; });
  if (it == inbound_.end()) return;
  it->done = true;
  it->reason = reason;
  DrainInbound();
}

// Acknowledges and routes completed PUBLISHes in the order they arrived, so neither
// acknowledgements nor deliveries are reordered by hooks that complete out of order.
void Connection::DrainInbound() {
  const bool v5 = version_ == kMqtt5;
  while (!inbound_.empty() && inbound_.front().done) {
    Inbound in = std::move(inbound_.front());
    inbound_.pop_front();
    Publish& p = in.publish;
    const bool ok = in.reason == Reason::kSuccess;
    if (!ok && in.authorized) broker_->counters().publishes_failed++;
    if (ok) {
      auto message = std::make_shared<Message>();
      message->publish = p;
      message->publish.dup = false;
      message->publish.packet_id = 0;
      message->publisher = client_id_;
      message->received_at = broker_->Now();
      broker_->Route(message);
    }
    if (p.qos == 0) continue;
    if (!ok && in.authorized && !v5 && Retryable(in.reason)) {
      // 3.1.1 has no negative acknowledgement: close so the client sends it again.
      CloseOnStrand(std::nullopt, true);
      continue;
    }
    // 3.1.1: a denied or permanently refused message (a bad payload, a path it may not
    // create) is acknowledged and dropped: sending it again could not succeed.
    const Reason ack = v5 ? in.reason : Reason::kSuccess;
    if (p.qos == 1) {
      if (inbound_unacked_ > 0) --inbound_unacked_;
      Send(PubResponse{PacketType::kPuback, p.packet_id, ack});
      continue;
    }
    if (IsError(ack)) {
      if (inbound_unacked_ > 0) --inbound_unacked_;  // 5.0: a failed PUBREC ends the exchange
    } else {
      std::lock_guard lock(broker_->mu());
      session_->awaiting_pubrel.insert(p.packet_id);
    }
    Send(PubResponse{PacketType::kPubrec, p.packet_id, ack});
  }
  if (read_paused_ && inbound_.size() < broker_->options().receive_maximum && !closing_) {
    read_paused_ = false;
    WaitReadable();
  }
}

void Connection::HandlePubResponse(const PubResponse& response) {
  const uint16_t id = response.packet_id;
  std::lock_guard lock(broker_->mu());
  Session& session = *session_;
  switch (response.type) {
    case PacketType::kPubrel: {
      const bool known = session.awaiting_pubrel.erase(id) > 0;
      if (known && inbound_unacked_ > 0) --inbound_unacked_;
      Send(PubResponse{PacketType::kPubcomp, id, known ? Reason::kSuccess : Reason::kPacketIdentifierNotFound});
      return;
    }
    case PacketType::kPuback:
      if (session.OnPuback(id)) broker_->PromoteLocked(session);
      return;
    case PacketType::kPubrec:
      if (!session.OnPubrec(id, IsError(response.reason))) {
        Send(PubResponse{PacketType::kPubrel, id, Reason::kPacketIdentifierNotFound});
      } else if (IsError(response.reason)) {
        broker_->PromoteLocked(session);
      } else {
        Send(PubResponse{PacketType::kPubrel, id});
      }
      return;
    case PacketType::kPubcomp:
      if (session.OnPubcomp(id)) broker_->PromoteLocked(session);
      return;
    default:
      return;
  }
}

}  // namespace shopfloor::connect::mqtt
