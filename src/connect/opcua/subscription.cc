// CreateSubscription, CreateMonitoredItems, Publish and DeleteSubscriptions (Part 4, 5.12,
// 5.13) and the NotificationMessage bodies they carry (Part 4, 7.20).
#include "connect/opcua/subscription.h"

#include <algorithm>

#include <fmt/format.h>

#include "connect/opcua/client.h"

namespace shopfloor::connect::opcua {

namespace {

// Binary encoding ids (Part 6, NodeIds.csv).
constexpr uint32_t kCreateMonitoredItemsRequest = 751, kCreateMonitoredItemsResponse = 754;
constexpr uint32_t kCreateSubscriptionRequest = 787, kCreateSubscriptionResponse = 790;
constexpr uint32_t kPublishRequest = 826, kPublishResponse = 829;
constexpr uint32_t kDeleteSubscriptionsRequest = 847, kDeleteSubscriptionsResponse = 850;
constexpr uint32_t kDataChangeFilter = 724;
constexpr uint32_t kDataChangeNotification = 811;
constexpr uint32_t kStatusChangeNotification = 820;
constexpr uint32_t kRange = 886;
constexpr int32_t kTimestampsBoth = 2;
constexpr int32_t kMonitoringModeReporting = 2;

core::Status DecodeStatusCodes(Decoder& d, std::vector<uint32_t>* codes) {
  uint32_t n = 0;
  SF_RETURN_IF_ERROR(d.ArrayLength(&n, 4));
  codes->resize(n);
  for (auto& code : *codes) SF_RETURN_IF_ERROR(d.UInt32(&code));
  return core::Status::OK();
}

// DataChangeNotification: MonitoredItemNotification[] then DiagnosticInfo[].
core::Status DecodeDataChange(std::string_view body, const DecodeLimits& limits,
                              std::vector<MonitoredItemNotification>* out) {
  Decoder d(body, limits);
  uint32_t n = 0;
  SF_RETURN_IF_ERROR(d.ArrayLength(&n, 5));
  for (uint32_t i = 0; i < n; ++i) {
    MonitoredItemNotification item;
    SF_RETURN_IF_ERROR(d.UInt32(&item.client_handle));
    SF_RETURN_IF_ERROR(Decode(d, &item.value));
    out->push_back(std::move(item));
  }
  return SkipDiagnosticInfos(d);
}

core::Status CheckResultCount(std::string_view service, size_t got, size_t want) {
  if (got == want) return core::Status::OK();
  return core::Status::InvalidArgument(fmt::format("{} response: {} results for {} items", service, got, want));
}

}  // namespace

core::Status DecodeCreateSubscription(Decoder& d, SubscriptionInfo* info) {
  SF_RETURN_IF_ERROR(d.UInt32(&info->id));
  SF_RETURN_IF_ERROR(d.Double(&info->publishing_interval_ms));
  SF_RETURN_IF_ERROR(d.UInt32(&info->lifetime_count));
  return d.UInt32(&info->max_keep_alive_count);
}

core::Status DecodeMonitoredItemResults(Decoder& d, std::vector<MonitoredItemResult>* results) {
  uint32_t n = 0;
  SF_RETURN_IF_ERROR(d.ArrayLength(&n, 20));
  for (uint32_t i = 0; i < n; ++i) {
    MonitoredItemResult result;
    ExtensionObject filter_result;
    SF_RETURN_IF_ERROR(d.UInt32(&result.status));
    SF_RETURN_IF_ERROR(d.UInt32(&result.monitored_item_id));
    SF_RETURN_IF_ERROR(d.Double(&result.sampling_interval_ms));
    SF_RETURN_IF_ERROR(d.UInt32(&result.queue_size));
    SF_RETURN_IF_ERROR(Decode(d, &filter_result));
    results->push_back(result);
  }
  return SkipDiagnosticInfos(d);
}

core::Status DecodePublish(Decoder& d, PublishResult* result) {
  SF_RETURN_IF_ERROR(d.UInt32(&result->subscription_id));
  SF_RETURN_IF_ERROR(DecodeStatusCodes(d, &result->available_sequence_numbers));
  SF_RETURN_IF_ERROR(d.Boolean(&result->more_notifications));
  SF_RETURN_IF_ERROR(d.UInt32(&result->sequence_number));
  SF_RETURN_IF_ERROR(d.Int64(&result->publish_time));
  SF_RETURN_IF_ERROR(DecodeNotificationData(d, result));
  SF_RETURN_IF_ERROR(DecodeStatusCodes(d, &result->ack_results));
  return SkipDiagnosticInfos(d);
}

core::Status DecodeNotificationData(Decoder& d, PublishResult* result) {
  uint32_t n = 0;
  SF_RETURN_IF_ERROR(d.ArrayLength(&n, 3));
  result->keep_alive = n == 0;
  for (uint32_t i = 0; i < n; ++i) {
    ExtensionObject notification;
    SF_RETURN_IF_ERROR(Decode(d, &notification));
    const bool binary = notification.encoding == ExtensionObject::Encoding::kBinary;
    if (binary && notification.type_id == NodeId::Numeric(0, kDataChangeNotification)) {
      core::Status s = DecodeDataChange(notification.body, d.limits(), &result->data_changes);
      if (!s.ok()) return s.WithPrefix("DataChangeNotification");
    } else if (binary && notification.type_id == NodeId::Numeric(0, kStatusChangeNotification)) {
      Decoder body(notification.body, d.limits());
      uint32_t status = 0;
      SF_RETURN_IF_ERROR(body.UInt32(&status).WithPrefix("StatusChangeNotification"));
      result->status_changes.push_back(status);
    } else {
      ++result->ignored_notifications;
    }
  }
  return core::Status::OK();
}

core::Status DecodeEuRange(const ExtensionObject& object, EuRange* range) {
  if (object.type_id != NodeId::Numeric(0, kRange) || object.encoding != ExtensionObject::Encoding::kBinary) {
    return core::Status::InvalidArgument(
        fmt::format("EURange: an ExtensionObject of type {} where a Range (i={}) was expected",
                    object.type_id.ToString(), kRange));
  }
  Decoder d(object.body);
  SF_RETURN_IF_ERROR(d.Double(&range->low));
  return d.Double(&range->high);
}

core::Result<SubscriptionInfo> Client::CreateSubscription(const SubscriptionParams& params) {
  const double keep_alive_ms = params.publishing_interval_ms * std::max<uint32_t>(params.max_keep_alive_count, 1);
  const double timeout_ms = static_cast<double>(options_.timeout / core::kMillisecond);
  if (keep_alive_ms >= timeout_ms) {
    return core::Status::InvalidArgument(fmt::format(
        "CreateSubscription: the keep-alive period ({} ms) must be shorter than the request timeout ({} ms)",
        keep_alive_ms, timeout_ms));
  }
  uint32_t handle = 0;
  Encoder e;
  BeginRequest(e, kCreateSubscriptionRequest, &handle);
  e.Double(params.publishing_interval_ms);
  e.UInt32(params.lifetime_count);
  e.UInt32(params.max_keep_alive_count);
  e.UInt32(params.max_notifications_per_publish);
  e.Boolean(true);  // publishingEnabled
  e.Byte(params.priority);
  SF_ASSIGN_OR_RETURN(std::string response, channel_->Call(e.bytes()));
  Decoder d(response);
  SF_RETURN_IF_ERROR(BeginResponse(d, "CreateSubscription", kCreateSubscriptionResponse, handle));
  SubscriptionInfo info;
  core::Status s = DecodeCreateSubscription(d, &info);
  if (!s.ok()) return s.WithPrefix("CreateSubscription response");
  return info;
}

core::Result<std::optional<EuRange>> Client::ReadEuRange(const NodeId& node) {
  SF_ASSIGN_OR_RETURN(auto properties, Browse(node, NodeId::Numeric(0, kHasProperty), 0));
  for (const auto& ref : properties) {
    if (ref.browse_name.namespace_index != 0 || ref.browse_name.name != "EURange") continue;
    SF_ASSIGN_OR_RETURN(auto values, Read({ReadValueId{ref.node_id.node_id, kAttributeValue}}));
    const DataValue& value = values.at(0);
    if (value.status_code() & 0x80000000u) {
      return core::Status::NotFound(
          fmt::format("EURange of {}: {}", node.ToString(), StatusCodeName(value.status_code())));
    }
    if (!value.value || !std::holds_alternative<ExtensionObject>(value.value->scalar)) {
      return core::Status::InvalidArgument(fmt::format("EURange of {} is not a Range", node.ToString()));
    }
    EuRange range;
    core::Status s = DecodeEuRange(std::get<ExtensionObject>(value.value->scalar), &range);
    if (!s.ok()) return s.WithPrefix(node.ToString());
    return std::optional<EuRange>(range);
  }
  return std::optional<EuRange>();
}

core::Result<std::vector<MonitoredItemResult>> Client::CreateMonitoredItems(
    uint32_t subscription_id, const std::vector<MonitoredItemRequest>& items) {
  std::vector<std::optional<EuRange>> ranges(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].deadband != DeadbandType::kPercent) continue;
    SF_ASSIGN_OR_RETURN(ranges[i], ReadEuRange(items[i].node_id));
    if (!ranges[i]) {
      return core::Status::InvalidArgument(fmt::format(
          "a percent deadband on {} needs an EURange property, and the node has none", items[i].node_id.ToString()));
    }
  }
  if (!max_monitored_items_per_call_) {
    auto limit = Read({ReadValueId{NodeId::Numeric(0, kMaxMonitoredItemsPerCallNode), kAttributeValue}});
    if (!limit.ok()) return limit.status().WithPrefix("reading MaxMonitoredItemsPerCall");
    const DataValue& value = limit->at(0);
    max_monitored_items_per_call_ = value.status_code() == 0 && value.value &&
                                            std::holds_alternative<uint32_t>(value.value->scalar)
                                        ? std::get<uint32_t>(value.value->scalar)
                                        : 0;
  }
  const size_t batch = *max_monitored_items_per_call_ == 0 ? std::max<size_t>(items.size(), 1)
                                                           : *max_monitored_items_per_call_;
  std::vector<MonitoredItemResult> results;
  results.reserve(items.size());
  for (size_t start = 0; start < items.size(); start += batch) {
    const size_t count = std::min(batch, items.size() - start);
    uint32_t handle = 0;
    Encoder e;
    BeginRequest(e, kCreateMonitoredItemsRequest, &handle);
    e.UInt32(subscription_id);
    e.Int32(kTimestampsBoth);
    e.Int32(static_cast<int32_t>(count));
    for (size_t i = start; i < start + count; ++i) {
      const MonitoredItemRequest& item = items[i];
      Encode(e, item.node_id);
      e.UInt32(item.attribute_id);
      e.NullString();  // indexRange
      e.UInt16(0);     // dataEncoding: null QualifiedName
      e.NullString();
      e.Int32(kMonitoringModeReporting);
      e.UInt32(item.client_handle);
      e.Double(item.sampling_interval_ms);
      if (item.deadband == DeadbandType::kNone && item.trigger == DataChangeTrigger::kStatusValue) {
        Encode(e, ExtensionObject{});
      } else {
        Encoder filter;
        filter.Int32(static_cast<int32_t>(item.trigger));
        filter.UInt32(static_cast<uint32_t>(item.deadband));
        filter.Double(item.deadband_value);
        Encode(e, ExtensionObject{NodeId::Numeric(0, kDataChangeFilter), ExtensionObject::Encoding::kBinary,
                                  filter.Take()});
      }
      e.UInt32(item.queue_size);
      e.Boolean(item.discard_oldest);
    }
    SF_ASSIGN_OR_RETURN(std::string response, channel_->Call(e.bytes()));
    Decoder d(response);
    SF_RETURN_IF_ERROR(BeginResponse(d, "CreateMonitoredItems", kCreateMonitoredItemsResponse, handle));
    std::vector<MonitoredItemResult> batch_results;
    core::Status s = DecodeMonitoredItemResults(d, &batch_results);
    if (!s.ok()) return s.WithPrefix("CreateMonitoredItems response");
    SF_RETURN_IF_ERROR(CheckResultCount("CreateMonitoredItems", batch_results.size(), count));
    for (size_t i = 0; i < count; ++i) {
      batch_results[i].eu_range = ranges[start + i];
      results.push_back(batch_results[i]);
    }
  }
  return results;
}

core::Result<PublishResult> Client::Publish() {
  uint32_t handle = 0;
  Encoder e;
  BeginRequest(e, kPublishRequest, &handle);
  e.Int32(static_cast<int32_t>(pending_acks_.size()));
  for (const auto& ack : pending_acks_) {
    e.UInt32(ack.subscription_id);
    e.UInt32(ack.sequence_number);
  }
  SF_ASSIGN_OR_RETURN(std::string response, channel_->Call(e.bytes()));
  Decoder d(response);
  SF_RETURN_IF_ERROR(BeginResponse(d, "Publish", kPublishResponse, handle));
  PublishResult result;
  core::Status s = DecodePublish(d, &result);
  if (!s.ok()) return s.WithPrefix("Publish response");
  SF_RETURN_IF_ERROR(CheckResultCount("Publish acknowledgement", result.ack_results.size(), pending_acks_.size()));
  pending_acks_.clear();
  if (!result.keep_alive) pending_acks_.push_back({result.subscription_id, result.sequence_number});
  NoteSequence(&result);  // republish.cc
  return result;
}

core::Result<std::vector<uint32_t>> Client::DeleteSubscriptions(const std::vector<uint32_t>& subscription_ids) {
  uint32_t handle = 0;
  Encoder e;
  BeginRequest(e, kDeleteSubscriptionsRequest, &handle);
  e.Int32(static_cast<int32_t>(subscription_ids.size()));
  for (uint32_t id : subscription_ids) e.UInt32(id);
  SF_ASSIGN_OR_RETURN(std::string response, channel_->Call(e.bytes()));
  Decoder d(response);
  SF_RETURN_IF_ERROR(BeginResponse(d, "DeleteSubscriptions", kDeleteSubscriptionsResponse, handle));
  std::vector<uint32_t> results;
  core::Status s = DecodeStatusCodes(d, &results);
  if (s.ok()) s = SkipDiagnosticInfos(d);
  if (!s.ok()) return s.WithPrefix("DeleteSubscriptions response");
  SF_RETURN_IF_ERROR(CheckResultCount("DeleteSubscriptions", results.size(), subscription_ids.size()));
  std::erase_if(pending_acks_, [&](const SubscriptionAcknowledgement& ack) {
    return std::find(subscription_ids.begin(), subscription_ids.end(), ack.subscription_id) != subscription_ids.end();
  });
  return results;
}

}  // namespace shopfloor::connect::opcua
