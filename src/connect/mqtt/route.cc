// Routing: from an accepted PUBLISH to each matching session's connection or queue, the
// outbound QoS 1/2 window (the client's Receive Maximum), resending on resume, and the end
// of a connection (wills with their delay, session expiry).
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "connect/mqtt/codec.h"
#include "connect/mqtt/connection.h"

namespace shopfloor::connect::mqtt {

size_t Broker::Impl::Route(const MessagePtr& message) {
  std::lock_guard lock(mu_);
  size_t delivered = 0;
  if (message->publish.retain) retained_.Set(message->publish, message->received_at);
  for (Delivery& d : trie_.Match(message->publish.topic, message->publisher)) {
    auto it = sessions_.find(d.client_id);
    if (it == sessions_.end()) continue;
    Outbound out;
    out.message = message;
    out.qos = std::min(message->publish.qos, d.qos);
    // 3.1.1 and 5.0 without Retain As Published: RETAIN is cleared on forwarding.
    out.retain = message->publish.retain && d.retain_as_published && it->second->protocol_level == kMqtt5;
    out.identifiers = std::move(d.identifiers);
    DeliverLocked(*it->second, std::move(out));
    ++delivered;
  }
  return delivered;
}

void Broker::Impl::DeliverLocked(Session& session, Outbound out) {
  const uint8_t qos = out.qos;
  switch (session.Admit(&out, session.connection != nullptr, options_.max_queued_messages)) {
    case Session::Placement::kDropped:
      stats_.messages_dropped++;
      return;
    case Session::Placement::kQueued:
      return;
    case Session::Placement::kSend:
      if (qos == 0) {
        SendLocked(session, out, false);
      } else {
        SendLocked(session, session.inflight.back(), false);
      }
      return;
  }
}

// Sends a message that is in flight (or QoS 0). One the client cannot take (expired, or
// larger than its Maximum Packet Size, 3.1.2.25) is dropped as if it had been delivered.
void Broker::Impl::SendLocked(Session& session, Outbound& out, bool dup) {
  mqtt::Publish publish;  // the packet type, not Broker::Publish
  bool deliverable = session.ToPublish(out, dup, Now(), &publish);
  if (deliverable && session.client_max_packet_size != 0 &&
      EncodedSize(publish, session.protocol_level) > session.client_max_packet_size) {
    deliverable = false;
  }
  if (!deliverable) {
    stats_.messages_dropped++;
    if (out.qos > 0) {
      session.DropInflight(out.packet_id);  // `out` is gone from here on
      PromoteLocked(session);
    }
    return;
  }
  stats_.messages_delivered++;
  session.connection->Send(publish);
}

void Broker::Impl::PromoteLocked(Session& session) {
  if (!session.connection) return;
  for (Outbound* out : session.Promote(session.client_receive_maximum)) SendLocked(session, *out, false);
}

// On resume (4.4): unacknowledged PUBLISHes again with DUP, PUBRELs again, then the queue.
void Broker::Impl::ResendLocked(Session& session) {
  std::vector<uint16_t> ids;
  for (const Outbound& out : session.inflight) ids.push_back(out.packet_id);
  for (uint16_t id : ids) {
    auto it = std::find_if(session.inflight.begin(), session.inflight.end(),
                           [id](const Outbound& o) { return o.packet_id == id; });
    if (it == session.inflight.end()) continue;
    if (it->pubrec_received) {
      session.connection->Send(PubResponse{PacketType::kPubrel, id});
    } else {
      SendLocked(session, *it, true);
    }
  }
  PromoteLocked(session);
}

void Broker::Impl::RemoveSessionLocked(const std::shared_ptr<Session>& session) {
  for (const auto& [filter, sub] : session->subscriptions) trie_.Remove(session->client_id(), filter);
  session->subscriptions.clear();
  auto it = sessions_.find(session->client_id());
  if (it != sessions_.end() && it->second == session) sessions_.erase(it);
}

void Broker::Impl::TakeWillLocked(Session& session, std::vector<PendingWill>* out) {
  if (!session.will) return;
  out->push_back(PendingWill{session.client_id(), session.username, session.principal, session.protocol_level,
                             std::move(*session.will)});
  session.will.reset();
}

void Broker::Impl::Detach(Connection* connection, const std::shared_ptr<Session>& session, bool publish_will) {
  std::vector<PendingWill> wills;
  {
    std::lock_guard lock(mu_);
    if (session->connection.get() != connection) return;  // taken over: the new connection owns it
    session->connection.reset();
    session->will_generation++;
    if (!publish_will) session->will.reset();
    const uint32_t delay = session->will ? session->will->properties.will_delay_interval.value_or(0) : 0;
    // The will goes out after its delay or when the session ends, whichever is first (3.1.3.2.2).
    if (session->will && (delay == 0 || session->expiry_interval == 0)) TakeWillLocked(*session, &wills);
    if (session->expiry_interval == 0) {
      RemoveSessionLocked(session);
    } else {
      if (session->will) ScheduleLocked(session, delay, false);
      if (session->expiry_interval != Session::kNeverExpires) ScheduleLocked(session, session->expiry_interval, true);
    }
  }
  for (PendingWill& will : wills) PostWill(std::move(will));
}

void Broker::Impl::ScheduleLocked(const std::shared_ptr<Session>& session, uint32_t seconds, bool expiry) {
  auto timer = std::make_shared<net::steady_timer>(ioc_, std::chrono::seconds(seconds));
  timer->async_wait([this, timer, weak = std::weak_ptr<Session>(session), generation = session->will_generation,
                     expiry](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto s = weak.lock()) OnTimer(s, generation, expiry);
  });
}

void Broker::Impl::OnTimer(const std::shared_ptr<Session>& session, uint64_t generation, bool expiry) {
  std::vector<PendingWill> wills;
  {
    std::lock_guard lock(mu_);
    if (session->will_generation != generation || session->connection) return;  // resumed since
    TakeWillLocked(*session, &wills);
    if (expiry) RemoveSessionLocked(session);
  }
  for (PendingWill& will : wills) PostWill(std::move(will));
}

void Broker::Impl::PostWill(PendingWill will) {
  net::post(ioc_, [this, will = std::move(will)]() mutable { PublishWill(std::move(will)); });
}

void Broker::Impl::PublishWill(PendingWill pending) {
  mqtt::Publish publish;  // the packet type, not Broker::Publish
  publish.topic = std::move(pending.will.topic);
  publish.payload = std::move(pending.will.payload);
  publish.qos = pending.will.qos;
  publish.retain = pending.will.retain;
  publish.properties = std::move(pending.will.properties);
  publish.properties.will_delay_interval.reset();  // a will property, not a PUBLISH one
  const ClientView view{pending.client_id, pending.username, pending.principal, {}, pending.protocol_level};
  if (!hooks_->AuthorizePublish(view, publish.topic)) {
    stats_.publishes_denied++;
    return;
  }
  auto message = std::make_shared<Message>();
  message->publish = publish;
  message->publisher = pending.client_id;
  message->received_at = Now();
  stats_.wills_published++;
  hooks_->OnPublish(view, publish, [this, message](Reason reason) {
    if (reason == Reason::kSuccess) {
      Route(message);
    } else {
      stats_.publishes_failed++;
    }
  });
}

}  // namespace shopfloor::connect::mqtt
