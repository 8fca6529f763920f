// SUBSCRIBE and UNSUBSCRIBE (3.8-3.11): filter validation, ACL, granted QoS, subscription
// identifiers and retained messages on subscribe (Retain Handling).
#include "connect/mqtt/connection.h"

namespace shopfloor::connect::mqtt {

namespace {
constexpr uint8_t kMaxQos = 2;
}  // namespace

void Connection::HandleSubscribe(const Subscribe& subscribe) {
  const bool v5 = version_ == kMqtt5;
  const uint32_t identifier =
      subscribe.properties.subscription_identifiers.empty() ? 0 : subscribe.properties.subscription_identifiers[0];
  SubResponse suback{PacketType::kSuback, subscribe.packet_id, {}, {}};
  std::vector<bool> allowed;
  for (const auto& [filter, options] : subscribe.filters) {
    if (v5 && filter.rfind("$share/", 0) == 0) {
      // Shared subscriptions are not offered (CONNACK says so); 3.1.1 has no such prefix.
      suback.reasons.push_back(Reason::kSharedSubscriptionsNotSupported);
      allowed.push_back(false);
    } else if (!ValidTopicFilter(filter)) {
      suback.reasons.push_back(v5 ? Reason::kTopicFilterInvalid : Reason::kUnspecifiedError);
      allowed.push_back(false);
    } else if (!broker_->hooks().AuthorizeSubscribe(View(), filter)) {
      broker_->counters().subscribes_denied++;
      suback.reasons.push_back(v5 ? Reason::kNotAuthorized : Reason::kUnspecifiedError);
      allowed.push_back(false);
    } else {
      suback.reasons.push_back(static_cast<Reason>(std::min(options.max_qos, kMaxQos)));
      allowed.push_back(true);
    }
  }
  std::lock_guard lock(broker_->mu());
  Session& session = *session_;
  // The SUBACK goes first, then the retained messages (3.8.4).
  std::vector<std::pair<Subscription, std::vector<Publish>>> retained;
  for (size_t i = 0; i < subscribe.filters.size(); ++i) {
    if (!allowed[i]) continue;
    const auto& [filter, options] = subscribe.filters[i];
    Subscription sub{options, identifier};
    sub.options.max_qos = std::min(options.max_qos, kMaxQos);
    const bool existed = broker_->trie().Add(client_id_, filter, sub);
    session.subscriptions[filter] = sub;
    const uint8_t handling = v5 ? options.retain_handling : 0;
    if (handling == 0 || (handling == 1 && !existed)) {
      retained.emplace_back(sub, broker_->retained().Match(filter, broker_->Now()));
    }
  }
  Send(suback);
  for (auto& [sub, messages] : retained) {
    for (Publish& p : messages) {
      auto message = std::make_shared<Message>();
      message->publish = std::move(p);
      message->received_at = broker_->Now();  // the expiry was already reduced by the store
      Outbound out;
      out.qos = std::min(message->publish.qos, sub.options.max_qos);
      out.retain = true;  // 3.3.1.3: retained messages sent on subscribe keep RETAIN=1
      if (sub.identifier != 0) out.identifiers.push_back(sub.identifier);
      out.message = std::move(message);
      broker_->DeliverLocked(session, std::move(out));
    }
  }
}

void Connection::HandleUnsubscribe(const Unsubscribe& unsubscribe) {
  SubResponse unsuback{PacketType::kUnsuback, unsubscribe.packet_id, {}, {}};
  std::lock_guard lock(broker_->mu());
  for (const std::string& filter : unsubscribe.filters) {
    const bool existed = broker_->trie().Remove(client_id_, filter);
    session_->subscriptions.erase(filter);
    unsuback.reasons.push_back(existed ? Reason::kSuccess : Reason::kNoSubscriptionExisted);
  }
  Send(unsuback);
}

}  // namespace shopfloor::connect::mqtt
