// Session recovery after a lost connection: ActivateSession on a new SecureChannel
// (Part 4, 5.6.3), TransferSubscriptions (5.13.7) and Republish (5.13.6), and the
// sequence-number bookkeeping that tells which NotificationMessages were missed.
#include <algorithm>

#include <fmt/format.h>

#include "connect/opcua/client.h"

namespace shopfloor::connect::opcua {

namespace {

constexpr uint32_t kRepublishRequest = 832, kRepublishResponse = 835;
constexpr uint32_t kTransferSubscriptionsRequest = 841, kTransferSubscriptionsResponse = 844;
constexpr uint32_t kBadSessionIdInvalid = 0x80250000u, kBadSessionClosed = 0x80260000u;
constexpr uint32_t kBadMessageNotAvailable = 0x807B0000u;

// Sequence numbers wrap at 2^32 (Part 4, 7.20.3 says they roll over to 1).
bool SequenceAfter(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }

}  // namespace

core::Status DecodeRepublish(Decoder& d, PublishResult* result) {
  SF_RETURN_IF_ERROR(d.UInt32(&result->sequence_number));
  SF_RETURN_IF_ERROR(d.Int64(&result->publish_time));
  return DecodeNotificationData(d, result);
}

core::Status DecodeTransferResults(Decoder& d, std::vector<TransferResult>* results) {
  uint32_t n = 0;
  SF_RETURN_IF_ERROR(d.ArrayLength(&n, 8));
  results->resize(n);
  for (auto& result : *results) {
    SF_RETURN_IF_ERROR(d.UInt32(&result.status));
    uint32_t count = 0;
    SF_RETURN_IF_ERROR(d.ArrayLength(&count, 4));
    result.available_sequence_numbers.resize(count);
    for (auto& number : result.available_sequence_numbers) SF_RETURN_IF_ERROR(d.UInt32(&number));
  }
  return SkipDiagnosticInfos(d);
}

void Client::NoteSequence(PublishResult* result) {
  if (result->subscription_id == 0) return;
  auto last = last_sequence_.find(result->subscription_id);
  if (last != last_sequence_.end()) {
    // Everything after the last message received and before this one (a keep-alive
    // carries the next number the server will use) was sent while we were not listening.
    // The server keeps unacknowledged messages; those it lists as available can be
    // republished, the others are lost.
    const uint32_t from = last->second;
    const uint32_t to = result->sequence_number;
    if (SequenceAfter(to, from + 1)) {
      const uint32_t expected = to - from - 1;
      for (uint32_t n : result->available_sequence_numbers) {
        if (SequenceAfter(n, from) && SequenceAfter(to, n)) result->missing_sequence_numbers.push_back(n);
      }
      std::sort(result->missing_sequence_numbers.begin(), result->missing_sequence_numbers.end(),
                [from](uint32_t a, uint32_t b) { return a - from < b - from; });
      result->missing_sequence_numbers.erase(
          std::unique(result->missing_sequence_numbers.begin(), result->missing_sequence_numbers.end()),
          result->missing_sequence_numbers.end());
      result->lost_messages = expected - static_cast<uint32_t>(result->missing_sequence_numbers.size());
    }
  }
  if (!result->keep_alive && (last == last_sequence_.end() || SequenceAfter(result->sequence_number, last->second))) {
    last_sequence_[result->subscription_id] = result->sequence_number;
  } else if (last == last_sequence_.end() && result->keep_alive && result->sequence_number > 0) {
    // The first answer is a keep-alive: nothing was sent before its number.
    last_sequence_[result->subscription_id] = result->sequence_number - 1;
  }
}

core::Status Client::Reactivate() {
  // A new channel, secured as the first one was (the server's certificate checked again).
  SF_ASSIGN_OR_RETURN(auto channel, OpenSecureChannel());
  channel_->Close();
  channel_ = std::move(channel);
  session_open_ = false;
  if (!identity_policy_ || authentication_token_.is_null()) {
    // A session that was never activated (or a RecreateSession that failed half-way).
    return core::Status::NotFound("Reactivate: there is no session to reactivate");
  }
  uint32_t code = 0;
  core::Status s = ActivateSession(&code);
  if (!s.ok()) {
    const uint32_t base = code & 0xFFFF0000u;
    if (base == kBadSessionIdInvalid || base == kBadSessionClosed) {
      return core::Status::NotFound(fmt::format("ActivateSession on a new channel: {}", StatusCodeName(code)));
    }
    return s;
  }
  ++recovery_.reactivations;
  return core::Status::OK();
}

core::Status Client::RecreateSession() {
  session_open_ = false;
  authentication_token_ = NodeId{};
  return CreateAndActivate();
}

core::Result<std::vector<TransferResult>> Client::TransferSubscriptions(const std::vector<uint32_t>& subscription_ids,
                                                                        bool send_initial_values) {
  uint32_t handle = 0;
  Encoder e;
  BeginRequest(e, kTransferSubscriptionsRequest, &handle);
  e.Int32(static_cast<int32_t>(subscription_ids.size()));
  for (uint32_t id : subscription_ids) e.UInt32(id);
  e.Boolean(send_initial_values);
  SF_ASSIGN_OR_RETURN(std::string response, channel_->Call(e.bytes()));
  Decoder d(response);
  SF_RETURN_IF_ERROR(BeginResponse(d, "TransferSubscriptions", kTransferSubscriptionsResponse, handle));
  std::vector<TransferResult> results;
  core::Status s = DecodeTransferResults(d, &results);
  if (!s.ok()) return s.WithPrefix("TransferSubscriptions response");
  if (results.size() != subscription_ids.size()) {
    return core::Status::InvalidArgument(fmt::format("TransferSubscriptions response: {} results for {} subscriptions",
                                                     results.size(), subscription_ids.size()));
  }
  for (const auto& result : results) {
    if (!(result.status & 0x80000000u)) ++recovery_.transfers;
  }
  return results;
}

core::Result<PublishResult> Client::Republish(uint32_t subscription_id, uint32_t sequence_number) {
  uint32_t handle = 0;
  Encoder e;
  BeginRequest(e, kRepublishRequest, &handle);
  e.UInt32(subscription_id);
  e.UInt32(sequence_number);
  SF_ASSIGN_OR_RETURN(std::string response, channel_->Call(e.bytes()));
  Decoder d(response);
  uint32_t code = 0;
  core::Status s = BeginResponse(d, "Republish", kRepublishResponse, handle, &code);
  if (!s.ok()) {
    if ((code & 0xFFFF0000u) == kBadMessageNotAvailable) {
      return core::Status::NotFound(
          fmt::format("Republish {} of subscription {}: {}", sequence_number, subscription_id, StatusCodeName(code)));
    }
    return s;
  }
  PublishResult result;
  result.subscription_id = subscription_id;
  s = DecodeRepublish(d, &result);
  if (!s.ok()) return s.WithPrefix("Republish response");
  if (result.sequence_number != sequence_number) {
    return core::Status::InvalidArgument(
        fmt::format("Republish response: message {} where {} was asked for", result.sequence_number, sequence_number));
  }
  const bool pending = std::any_of(pending_acks_.begin(), pending_acks_.end(), [&](const auto& ack) {
    return ack.subscription_id == subscription_id && ack.sequence_number == sequence_number;
  });
  if (!pending) pending_acks_.push_back({subscription_id, sequence_number});
  auto last = last_sequence_.find(subscription_id);
  if (last == last_sequence_.end() || SequenceAfter(sequence_number, last->second)) {
    last_sequence_[subscription_id] = sequence_number;
  }
  ++recovery_.republished;
  return result;
}

}  // namespace shopfloor::connect::opcua
