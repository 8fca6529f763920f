// OPC UA subscriptions (Part 4, 5.12 and 5.13): the parameter and result types of
// CreateSubscription, CreateMonitoredItems, Publish and DeleteSubscriptions, and the
// decoders of their response bodies. The services themselves are Client methods
// (client.h); the decoders are exposed for the fuzz target.
//
// NotificationMessage bodies: DataChangeNotification and StatusChangeNotification are
// decoded; every other notification (events, unknown extensions) is counted in
// `ignored_notifications` and otherwise skipped.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "connect/opcua/binary.h"
#include "connect/opcua/types.h"

namespace shopfloor::connect::opcua {

struct SubscriptionParams {
  double publishing_interval_ms = 1000;
  // The server ends the subscription after lifetime_count intervals without a Publish;
  // it must be at least 3 * max_keep_alive_count (Part 4, 5.13.2).
  uint32_t lifetime_count = 60;
  // An empty Publish response (keep-alive) comes after this many intervals without data.
  uint32_t max_keep_alive_count = 10;
  uint32_t max_notifications_per_publish = 0;  // 0: no limit
  uint8_t priority = 0;
};

struct SubscriptionInfo {
  uint32_t id = 0;
  double publishing_interval_ms = 0;  // as revised by the server
  uint32_t lifetime_count = 0;
  uint32_t max_keep_alive_count = 0;
};

enum class DeadbandType : uint32_t { kNone = 0, kAbsolute = 1, kPercent = 2 };
// DataChangeFilter trigger (Part 4, 7.22.2).
enum class DataChangeTrigger : int32_t { kStatus = 0, kStatusValue = 1, kStatusValueTimestamp = 2 };

struct MonitoredItemRequest {
  NodeId node_id;
  uint32_t attribute_id = 13;  // Value
  uint32_t client_handle = 0;  // echoed in every notification of this item
  double sampling_interval_ms = -1;  // -1: the subscription's publishing interval
  uint32_t queue_size = 1;
  bool discard_oldest = true;
  // A DataChangeFilter is sent unless deadband is kNone and the trigger is StatusValue.
  DeadbandType deadband = DeadbandType::kNone;
  double deadband_value = 0;  // absolute: in the value's unit; percent: 0..100 of the EURange
  DataChangeTrigger trigger = DataChangeTrigger::kStatusValue;
};

// An EURange (Range, Part 8, 5.6.2).
struct EuRange {
  double low = 0;
  double high = 0;
};

struct MonitoredItemResult {
  uint32_t status = 0;  // per item: Good, or why the server refused it
  uint32_t monitored_item_id = 0;
  double sampling_interval_ms = 0;  // revised
  uint32_t queue_size = 0;          // revised
  std::optional<EuRange> eu_range;  // read for percent-deadband items
};

struct MonitoredItemNotification {
  uint32_t client_handle = 0;
  DataValue value;
};

// One Publish response. A keep-alive has no notifications; its sequence number is the next
// one the server will use and is not acknowledged.
struct PublishResult {
  uint32_t subscription_id = 0;
  uint32_t sequence_number = 0;
  int64_t publish_time = 0;  // UA ticks
  bool keep_alive = false;
  bool more_notifications = false;
  std::vector<uint32_t> available_sequence_numbers;  // sent but not yet acknowledged
  std::vector<MonitoredItemNotification> data_changes;
  std::vector<uint32_t> status_changes;  // StatusChangeNotification codes (e.g. BadTimeout)
  uint32_t ignored_notifications = 0;    // events and unknown notification types
  std::vector<uint32_t> ack_results;     // one per acknowledgement sent with the request
  // Filled by Client::Publish from the sequence numbers this client has seen (republish.cc):
  // the numbers between the last message received and this one that the server still
  // holds (available, so Client::Republish can fetch them, oldest first), and how many
  // are gone for good (neither received nor available: data lost).
  std::vector<uint32_t> missing_sequence_numbers;
  uint32_t lost_messages = 0;
};

// TransferSubscriptions result (Part 4, 5.13.7): per subscription.
struct TransferResult {
  uint32_t status = 0;
  std::vector<uint32_t> available_sequence_numbers;
};

struct SubscriptionAcknowledgement {
  uint32_t subscription_id = 0;
  uint32_t sequence_number = 0;
};

// Response bodies; `d` is positioned after the response header.
core::Status DecodeCreateSubscription(Decoder& d, SubscriptionInfo* info);
core::Status DecodeMonitoredItemResults(Decoder& d, std::vector<MonitoredItemResult>* results);
core::Status DecodePublish(Decoder& d, PublishResult* result);
// The NotificationData array of a NotificationMessage (sets keep_alive, data_changes,
// status_changes, ignored_notifications).
core::Status DecodeNotificationData(Decoder& d, PublishResult* result);
// Republish response body: a NotificationMessage (sequence number, publish time, data).
core::Status DecodeRepublish(Decoder& d, PublishResult* result);
// TransferSubscriptions response body: TransferResult[] then DiagnosticInfo[].
core::Status DecodeTransferResults(Decoder& d, std::vector<TransferResult>* results);
// The body of a Range ExtensionObject.
core::Status DecodeEuRange(const ExtensionObject& object, EuRange* range);

}  // namespace shopfloor::connect::opcua
