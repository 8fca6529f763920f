#include "connect/mqtt/session.h"

#include <algorithm>

#include "connect/mqtt/retained.h"

namespace shopfloor::connect::mqtt {

bool Session::InUse(uint16_t id) const {
  return std::any_of(inflight.begin(), inflight.end(), [id](const Outbound& o) { return o.packet_id == id; });
}

// Invariant: at most 65535 messages are in flight (Receive Maximum is a uint16), so a free
// id exists whenever this is called.
uint16_t Session::NextPacketId() {
  do {
    last_packet_id_ = static_cast<uint16_t>(last_packet_id_ == 65535 ? 1 : last_packet_id_ + 1);
  } while (InUse(last_packet_id_));
  return last_packet_id_;
}

Session::Placement Session::Admit(Outbound* out, bool connected, size_t max_queued) {
  if (out->qos == 0) return connected ? Placement::kSend : Placement::kDropped;
  if (connected && queued.empty() && inflight.size() < client_receive_maximum) {
    out->packet_id = NextPacketId();
    inflight.push_back(std::move(*out));
    return Placement::kSend;
  }
  if (queued.size() >= max_queued) return Placement::kDropped;
  queued.push_back(std::move(*out));
  return Placement::kQueued;
}

std::vector<Outbound*> Session::Promote(size_t max_inflight) {
  std::vector<Outbound*> promoted;
  while (!queued.empty() && inflight.size() < max_inflight) {
    Outbound out = std::move(queued.front());
    queued.pop_front();
    out.packet_id = NextPacketId();
    inflight.push_back(std::move(out));
    promoted.push_back(&inflight.back());
  }
  return promoted;
}

bool Session::ToPublish(const Outbound& out, bool dup, int64_t now, Publish* p) const {
  const Publish& in = out.message->publish;
  uint32_t remaining = 0;
  if (!RemainingExpiry(in, now - out.message->received_at, &remaining)) return false;
  p->dup = dup;
  p->qos = out.qos;
  p->retain = out.retain;
  p->topic = in.topic;
  p->packet_id = out.packet_id;
  p->payload = in.payload;
  if (protocol_level == kMqtt5) {
    p->properties = in.properties;
    if (p->properties.message_expiry_interval) p->properties.message_expiry_interval = remaining;
    p->properties.subscription_identifiers = out.identifiers;
  } else {
    p->properties = Properties{};
  }
  return true;
}

bool Session::OnPuback(uint16_t packet_id) {
  auto it = std::find_if(inflight.begin(), inflight.end(),
                         [&](const Outbound& o) { return o.packet_id == packet_id && o.qos == 1; });
  if (it == inflight.end()) return false;
  inflight.erase(it);
  return true;
}

bool Session::OnPubrec(uint16_t packet_id, bool failed) {
  auto it = std::find_if(inflight.begin(), inflight.end(),
                         [&](const Outbound& o) { return o.packet_id == packet_id && o.qos == 2; });
  if (it == inflight.end()) return false;
  if (failed) {
    inflight.erase(it);  // 5.0: a PUBREC with an error ends the exchange (4.3.3)
  } else {
    it->pubrec_received = true;
  }
  return true;
}

bool Session::OnPubcomp(uint16_t packet_id) {
  auto it = std::find_if(inflight.begin(), inflight.end(),
                         [&](const Outbound& o) { return o.packet_id == packet_id && o.pubrec_received; });
  if (it == inflight.end()) return false;
  inflight.erase(it);
  return true;
}

void Session::DropInflight(uint16_t packet_id) {
  std::erase_if(inflight, [&](const Outbound& o) { return o.packet_id == packet_id; });
}

}  // namespace shopfloor::connect::mqtt
