// CONNECT and DISCONNECT (3.1, 3.14): client identifiers, authentication, session takeover,
// clean start and resumed sessions, keep-alive, wills.
#include <boost/asio/post.hpp>

#include "connect/mqtt/connection.h"

namespace shopfloor::connect::mqtt {

namespace {

std::string Refusal(uint8_t version, Reason reason) {
  std::string bytes;
  Encode(Connack{false, reason, {}}, version, &bytes);
  return bytes;
}

}  // namespace

void Connection::HandleConnect(Connect connect) {
  const BrokerOptions& options = broker_->options();
  version_ = connect.protocol_level;
  const bool v5 = version_ == kMqtt5;
  timer_.cancel();

  Connack connack;
  if (connect.client_id.empty()) {
    if (!v5 && !connect.clean_start) {
      // 3.1.1 (3.1.3-8): a zero-byte ClientId needs CleanSession=1.
      SendRaw(Refusal(version_, Reason::kClientIdentifierNotValid));
      broker_->counters().malformed_packets++;
      return CloseOnStrand(std::nullopt, false);
    }
    connect.client_id = broker_->AssignClientId();
    if (v5) connack.properties.assigned_client_identifier = connect.client_id;
  }
  if (v5 && connect.properties.authentication_method) {
    SendRaw(Refusal(version_, static_cast<Reason>(0x8C)));  // Bad authentication method
    broker_->counters().auth_failures++;
    return CloseOnStrand(std::nullopt, false);
  }
  std::string principal;
  const Reason auth = broker_->hooks().Authenticate(connect, remote_, &principal);
  if (auth != Reason::kSuccess) {
    SendRaw(Refusal(version_, auth));
    broker_->counters().auth_failures++;
    return CloseOnStrand(std::nullopt, false);
  }

  client_id_ = connect.client_id;
  username_ = connect.username.value_or("");
  principal_ = std::move(principal);
  uint32_t expiry = 0;
  if (v5) {
    expiry = std::min(connect.properties.session_expiry_interval.value_or(0), options.max_session_expiry);
  } else if (!connect.clean_start) {
    expiry = Session::kNeverExpires;
  }
  uint16_t keep_alive = connect.keep_alive;
  if (v5 && options.max_keep_alive != 0 && (keep_alive == 0 || keep_alive > options.max_keep_alive)) {
    keep_alive = options.max_keep_alive;
    connack.properties.server_keep_alive = keep_alive;
  }
  if (v5) {
    connack.properties.receive_maximum = options.receive_maximum;
    connack.properties.topic_alias_maximum = options.topic_alias_maximum;
    connack.properties.maximum_packet_size = options.max_packet_size;
    connack.properties.shared_subscription_available = 0;
    if (expiry != connect.properties.session_expiry_interval.value_or(0)) {
      connack.properties.session_expiry_interval = expiry;
    }
  }

  std::vector<PendingWill> wills;
  {
    std::lock_guard lock(broker_->mu());
    auto& sessions = broker_->sessions();
    std::shared_ptr<Session> session;
    if (auto it = sessions.find(client_id_); it != sessions.end()) session = it->second;
    if (session && session->connection) {
      // Takeover (3.1.4-3): the old connection ends; its will is published unless this
      // connection continues the session within the will delay.
      broker_->counters().sessions_taken_over++;
      std::shared_ptr<Connection> old = std::move(session->connection);
      if (session->will && (connect.clean_start || session->will->properties.will_delay_interval.value_or(0) == 0)) {
        broker_->TakeWillLocked(*session, &wills);
      }
      session->will.reset();
      old->Close(Reason::kSessionTakenOver, false);
    }
    if (session && connect.clean_start) {
      broker_->TakeWillLocked(*session, &wills);  // a delayed will of the ended session is due now
      broker_->RemoveSessionLocked(session);
      session.reset();
    }
    connack.session_present = session != nullptr;
    if (!session) {
      session = std::make_shared<Session>(client_id_);
      sessions.emplace(client_id_, session);
    }
    session->will_generation++;  // cancels the delayed will and expiry of the last connection
    session->will.reset();       // a pending delayed will is not sent: the session resumed (3.1.3-9)
    session->protocol_level = version_;
    session->expiry_interval = expiry;
    session->will = connect.will;
    session->username = username_;
    session->principal = principal_;
    session->client_receive_maximum = connect.properties.receive_maximum.value_or(65535);
    session->client_max_packet_size = connect.properties.maximum_packet_size.value_or(0);
    session->connection = shared_from_this();
    session_ = session;
    connected_ = true;
    Send(connack);
    if (connack.session_present) broker_->ResendLocked(*session);
  }
  for (PendingWill& will : wills) broker_->PostWill(std::move(will));

  keep_alive_ms_ = static_cast<uint32_t>(keep_alive) * 1500;  // 1.5 times the keep alive (3.1.2.10)
  ArmKeepAlive();
}

void Connection::HandleDisconnect(const Disconnect& disconnect) {
  if (version_ == kMqtt5 && disconnect.properties.session_expiry_interval) {
    bool violation = false;
    {
      std::lock_guard lock(broker_->mu());
      // 3.14.2.2.2: setting a non-zero expiry after connecting with zero is a Protocol Error.
      violation = session_->expiry_interval == 0 && *disconnect.properties.session_expiry_interval != 0;
      if (!violation) {
        session_->expiry_interval =
            std::min(*disconnect.properties.session_expiry_interval, broker_->options().max_session_expiry);
      }
    }
    if (violation) return ProtocolError({Reason::kProtocolError, "DISCONNECT sets a session expiry"}, nullptr);
  }
  // A normal DISCONNECT discards the will; reason 0x04 asks for it (3.14.2.1).
  CloseOnStrand(std::nullopt, disconnect.reason == Reason::kDisconnectWithWill);
}

}  // namespace shopfloor::connect::mqtt
