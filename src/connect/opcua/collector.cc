#include "connect/opcua/collector.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "ingest/writer.h"
#include "storage/storage.h"

namespace shopfloor::connect::opcua {

namespace {

constexpr uint32_t kBadTypeMismatch = 0x80740000u;
constexpr core::Duration kStopSlice = 20 * core::kMillisecond;

core::Value ZeroOf(core::ValueType type) {
  switch (type) {
    case core::ValueType::kDouble: return core::Value(0.0);
    case core::ValueType::kInt64: return core::Value(int64_t{0});
    case core::ValueType::kBool: return core::Value(false);
    case core::ValueType::kString: return core::Value(std::string());
  }
  return core::Value(0.0);
}

// Numeric scalars as double; false for everything else (Boolean included: a tag typed
// double bound to a Boolean node is a configuration error worth seeing).
bool NumberOf(const Scalar& s, double* out) {
  return std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
          *out = static_cast<double>(v);
          return true;
        } else {
          return false;
        }
      },
      s);
}

bool IntegerOf(const Scalar& s, int64_t* out) {
  return std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          if constexpr (std::is_same_v<T, uint64_t>) {
            if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
          }
          *out = static_cast<int64_t>(v);
          return true;
        } else if constexpr (std::is_floating_point_v<T>) {
          // Only whole numbers inside int64's range convert without loss.
          if (!std::isfinite(v) || v != std::floor(v) || std::fabs(static_cast<double>(v)) >= 9.2e18) return false;
          *out = static_cast<int64_t>(v);
          return true;
        } else {
          return false;
        }
      },
      s);
}

std::optional<core::Value> ConvertValue(const Variant& variant, core::ValueType type) {
  if (variant.is_array) return std::nullopt;
  const Scalar& s = variant.scalar;
  switch (type) {
    case core::ValueType::kDouble: {
      double d = 0;
      if (NumberOf(s, &d)) return core::Value(d);
      return std::nullopt;
    }
    case core::ValueType::kInt64: {
      int64_t i = 0;
      if (IntegerOf(s, &i)) return core::Value(i);
      return std::nullopt;
    }
    case core::ValueType::kBool:
      if (std::holds_alternative<bool>(s)) return core::Value(std::get<bool>(s));
      return std::nullopt;
    case core::ValueType::kString:
      if (std::holds_alternative<std::string>(s)) return core::Value(std::get<std::string>(s));
      if (std::holds_alternative<LocalizedText>(s)) return core::Value(std::get<LocalizedText>(s).text);
      if (variant.is_null()) return std::nullopt;
      return core::Value(ScalarToString(s));
  }
  return std::nullopt;
}

}  // namespace

core::Sample SampleFromDataValue(const DataValue& value, core::ValueType type, core::Timestamp now) {
  core::Sample sample;
  if (value.source_timestamp && *value.source_timestamp > 0) {
    sample.ts = UaTicksToTimestamp(*value.source_timestamp);
  } else if (value.server_timestamp && *value.server_timestamp > 0) {
    sample.ts = UaTicksToTimestamp(*value.server_timestamp);
  } else {
    sample.ts = now;
  }
  const uint32_t status = value.status_code();
  std::optional<core::Value> converted;
  if (value.value && !value.value->is_null()) converted = ConvertValue(*value.value, type);
  if (converted) {
    sample.value = std::move(*converted);
    sample.quality = core::Quality::FromOpcUaStatus(status);
  } else {
    // Nothing usable: the zero value, marked Bad (the server's code when it sent a Bad one).
    sample.value = ZeroOf(type);
    const bool bad = (status & 0xC0000000u) == 0x80000000u;
    sample.quality = core::Quality::FromOpcUaStatus(bad ? status : kBadTypeMismatch);
  }
  return sample;
}

core::Result<std::unique_ptr<Collector>> Collector::Create(const model::SourceConfig& source,
                                                           std::vector<CollectorTag> tags, ingest::Writer* writer,
                                                           core::Clock* clock, CollectorOptions options) {
  if (source.protocol != model::Protocol::kOpcUa) {
    return core::Status::InvalidArgument(fmt::format("source \"{}\" speaks {}, not opcua", source.name,
                                                     model::ProtocolName(source.protocol)));
  }
  if (writer == nullptr || writer->storage() == nullptr || clock == nullptr) {
    return core::Status::InvalidArgument("Collector needs a Writer over a storage and a Clock");
  }
  options.client.endpoint_url =
      source.endpoint.starts_with("opc.tcp://") ? source.endpoint : "opc.tcp://" + source.endpoint;
  options.client.clock = clock;
  SF_RETURN_IF_ERROR(ParseEndpointUrl(options.client.endpoint_url).status().WithPrefix(
      fmt::format("source \"{}\"", source.name)));
  std::vector<Bound> bound;
  bound.reserve(tags.size());
  for (auto& tag : tags) {
    auto node = ParseNodeId(tag.node_id);
    if (!node.ok()) return node.status().WithPrefix(fmt::format("tag {}", tag.series_key));
    auto series = writer->storage()->GetOrCreateSeries(tag.series_key, tag.type);
    if (!series.ok()) return series.status().WithPrefix(fmt::format("tag {}", tag.series_key));
    bound.push_back(Bound{std::move(tag), std::move(*node), *series});
  }
  if (bound.empty()) return core::Status::InvalidArgument(fmt::format("source \"{}\" has no bound tags", source.name));
  return std::unique_ptr<Collector>(new Collector(std::move(bound), writer, clock, std::move(options)));
}

Collector::Collector(std::vector<Bound> tags, ingest::Writer* writer, core::Clock* clock, CollectorOptions options)
    : tags_(std::move(tags)), writer_(writer), clock_(clock), options_(std::move(options)) {}

Collector::~Collector() { Stop(); }

void Collector::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_.store(false, std::memory_order_release);
  thread_ = std::thread([this] { Run(); });
}

void Collector::Stop() {
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true, std::memory_order_release);
    thread = std::move(thread_);
  }
  if (thread.joinable()) thread.join();
}

CollectorStats Collector::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

bool Collector::WaitFor(core::Duration d) {
  const int64_t deadline = clock_->Steady() + d;
  for (;;) {
    if (stopping()) return false;
    const int64_t left = deadline - clock_->Steady();
    if (left <= 0) return true;
    clock_->SleepFor(std::min(left, kStopSlice));
  }
}

void Collector::Write(const core::SampleBatch& batch) {
  if (batch.empty()) return;
  core::Status s = writer_->Write(batch);
  std::lock_guard<std::mutex> lock(mu_);
  if (s.ok()) {
    stats_.samples_written += batch.size();
  } else {
    ++stats_.write_failures;
    stats_.last_error = s.WithPrefix("writing samples").ToString();
    stats_.last_error_at = clock_->Now();
  }
}

void Collector::RecordGap(core::Timestamp at) {
  gap_at_ = std::max(gap_at_, at);
  core::SampleBatch batch;
  for (const Bound& b : tags_) batch.Add(b.series, at, ZeroOf(b.tag.type), core::Quality::BadNoCommunication());
  Write(batch);
}

void Collector::GapOnce(Live* live) {
  if (live->gap_written) return;
  live->gap_written = true;
  RecordGap(live->lost_at);
  Count(&CollectorStats::gaps_recorded);
}

void Collector::Count(uint64_t CollectorStats::*field, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.*field += n;
}

void Collector::Run() {
  core::Duration backoff = options_.initial_backoff;
  Live live;
  while (!stopping()) {
    bool delivered = false;
    core::Status s;
    if (live.recovering) {
      s = Resume(&live);
      if (s.ok()) {
        live.recovering = false;
        delivered = true;
        connected_.store(true, std::memory_order_release);
        s = Deliver(&live);
      } else {
        const double lifetime_ms = live.subscription.publishing_interval_ms * live.subscription.lifetime_count;
        const bool expired =
            static_cast<double>(clock_->Steady() - live.lost_steady) >= lifetime_ms * core::kMillisecond;
        if (s.code() == core::StatusCode::kNotFound || s.code() == core::StatusCode::kUnimplemented ||
            s.code() == core::StatusCode::kPermissionDenied || expired) {
          // The subscription cannot come back: what it held is lost. Record the gap and
          // re-create at once.
          {
            std::lock_guard<std::mutex> lock(mu_);
            stats_.last_error = s.ToString();
          }
          GapOnce(&live);
          live = Live{};
          continue;
        }
        if (clock_->Steady() - live.lost_steady >= options_.gap_grace) GapOnce(&live);
      }
    } else {
      s = RunSession(&live, &delivered);
    }
    connected_.store(false, std::memory_order_release);
    if (stopping()) break;
    if (delivered) {
      // Before the loss is counted, so that whoever sees the count sees a gap stamp <= now.
      live.lost_at = clock_->Now();
      live.lost_steady = clock_->Steady();
      live.gap_written = false;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.last_error = s.ToString();
      stats_.last_error_at = clock_->Now();
      if (delivered) {
        ++stats_.connection_losses;
      } else {
        ++stats_.failed_attempts;
      }
    }
    if (delivered) {
      if (s.code() == core::StatusCode::kNotFound) {
        // The subscription ended on the server (a Bad StatusChangeNotification): no resume.
        GapOnce(&live);
        live = Live{};
      } else {
        live.recovering = true;
      }
      backoff = options_.initial_backoff;  // the connection was good: retry at once, then soon
      continue;
    }
    if (!WaitFor(backoff)) break;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  if (live.recovering) {
    // Stopped before the subscription was resumed: nothing after the loss was received.
    GapOnce(&live);
  }
}

core::Status Collector::Resume(Live* live) {
  Client& client = *live->client;
  core::Status s = client.Reactivate();
  if (s.ok()) {
    Count(&CollectorStats::reactivations);
    return s;
  }
  if (s.code() != core::StatusCode::kNotFound) return s;  // e.g. still unreachable: later
  // The session is gone; its subscription may not be (Part 4, 5.13.7).
  SF_RETURN_IF_ERROR(client.RecreateSession());
  auto transferred = client.TransferSubscriptions({live->subscription.id}, /*send_initial_values=*/true);
  if (!transferred.ok()) {
    if (transferred.status().code() == core::StatusCode::kAborted) {  // refused by the server
      return core::Status::NotFound(transferred.status().ToString());
    }
    return transferred.status();
  }
  if (transferred->at(0).status & 0x80000000u) {
    return core::Status::NotFound(fmt::format("TransferSubscriptions of subscription {}: {}", live->subscription.id,
                                              StatusCodeName(transferred->at(0).status)));
  }
  Count(&CollectorStats::transfers);
  fresh_.assign(tags_.size(), true);  // initial values follow
  return core::Status::OK();
}

void Collector::WritePublished(const PublishResult& published, bool may_restamp) {
  core::SampleBatch batch;
  const core::Timestamp received = clock_->Now();
  uint64_t restamped = 0;
  for (const auto& change : published.data_changes) {
    if (change.client_handle >= tags_.size()) continue;  // not ours: never guess a series
    const Bound& b = tags_[change.client_handle];
    core::Sample sample = SampleFromDataValue(change.value, b.tag.type, received);
    const bool initial = may_restamp && fresh_[change.client_handle];
    if (may_restamp) fresh_[change.client_handle] = false;
    if (initial && gap_at_ != 0 && sample.ts <= gap_at_) {
      // A value from before the loss, delivered again as a new or transferred subscription's
      // initial value (see the header): stamp it after the gap. Recovered data (queued or
      // republished) keeps its timestamps.
      const auto& server_ts = change.value.server_timestamp;
      const core::Timestamp server = server_ts && *server_ts > 0 ? UaTicksToTimestamp(*server_ts) : 0;
      sample.ts = server > gap_at_ ? server : std::max(received, gap_at_ + 1);
      ++restamped;
    }
    batch.Add(b.series, sample.ts, std::move(sample.value), sample.quality);
  }
  if (restamped != 0) Count(&CollectorStats::restamped, restamped);
  Write(batch);
}

core::Status Collector::RunSession(Live* live, bool* delivered) {
  SF_ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Client::Connect(options_.client));
  SubscriptionParams params;
  params.publishing_interval_ms = options_.publishing_interval_ms;
  params.max_keep_alive_count = options_.max_keep_alive_count;
  params.lifetime_count = options_.lifetime_count != 0 ? options_.lifetime_count
                                                       : std::max<uint32_t>(3 * options_.max_keep_alive_count, 30);
  SF_ASSIGN_OR_RETURN(SubscriptionInfo subscription, client->CreateSubscription(params));
  std::vector<MonitoredItemRequest> items(tags_.size());
  for (size_t i = 0; i < tags_.size(); ++i) {
    items[i].node_id = tags_[i].node;
    items[i].client_handle = static_cast<uint32_t>(i);
    items[i].sampling_interval_ms = options_.sampling_interval_ms;
    items[i].queue_size = options_.queue_size;
    if (tags_[i].tag.deadband > 0 && tags_[i].tag.type != core::ValueType::kString &&
        tags_[i].tag.type != core::ValueType::kBool) {
      items[i].deadband = DeadbandType::kAbsolute;
      items[i].deadband_value = tags_[i].tag.deadband;
    }
  }
  SF_ASSIGN_OR_RETURN(std::vector<MonitoredItemResult> results, client->CreateMonitoredItems(subscription.id, items));
  core::SampleBatch refused;
  const core::Timestamp now = clock_->Now();
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].status & 0x80000000u) {
      refused.Add(tags_[i].series, now, ZeroOf(tags_[i].tag.type), core::Quality::FromOpcUaStatus(results[i].status));
    }
  }
  Write(refused);
  Count(&CollectorStats::connects);
  *delivered = true;
  connected_.store(true, std::memory_order_release);
  live->client = std::move(client);
  live->subscription = subscription;
  fresh_.assign(tags_.size(), true);
  return Deliver(live);
}

core::Status Collector::Deliver(Live* live) {
  Client& client = *live->client;
  const uint32_t id = live->subscription.id;
  while (!stopping()) {
    auto published = client.Publish();
    if (!published.ok()) return published.status();
    // Messages sent while we were away: fetched again, oldest first, before this one.
    uint32_t lost = published->lost_messages;
    std::vector<PublishResult> again;
    for (uint32_t number : published->missing_sequence_numbers) {
      auto message = client.Republish(id, number);
      if (message.ok()) {
        again.push_back(std::move(*message));
      } else if (message.status().code() == core::StatusCode::kNotFound) {
        ++lost;  // BadMessageNotAvailable: the server dropped it
      } else {
        return message.status();
      }
    }
    if (lost > 0 && live->lost_steady != 0) {
      GapOnce(live);  // lost during the outage just resumed
    } else if (lost > 0) {
      RecordGap(clock_->Now());
      Count(&CollectorStats::gaps_recorded);
    }
    live->lost_steady = 0;
    Count(&CollectorStats::republished_messages, again.size());
    for (const auto& message : again) WritePublished(message, /*may_restamp=*/false);
    WritePublished(*published, /*may_restamp=*/true);
    for (uint32_t status : published->status_changes) {
      if (status & 0x80000000u) {
        return core::Status::NotFound(fmt::format("subscription {} ended: {}", id, StatusCodeName(status)));
      }
    }
  }
  client.DeleteSubscriptions({id}).status().IgnoreError();
  return client.Close();
}

}  // namespace shopfloor::connect::opcua
