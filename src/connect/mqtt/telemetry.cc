#include "connect/mqtt/telemetry.h"

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "ingest/writer.h"
#include "model/asset_store.h"
#include "storage/storage.h"

namespace shopfloor::connect::mqtt {

namespace {

using Json = nlohmann::json;

core::Status Bad(std::string_view topic, std::string message) {
  return core::Status::InvalidArgument(fmt::format("topic \"{}\": {}", topic, message));
}

core::Result<core::Value> ValueOf(const Json& j) {
  if (j.is_boolean()) return core::Value(j.get<bool>());
  if (j.is_number_integer()) {
    if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return core::Status::InvalidArgument("integer above 2^63-1");
    }
    return core::Value(j.get<int64_t>());
  }
  if (j.is_number_float()) return core::Value(j.get<double>());
  if (j.is_string()) return core::Value(j.get<std::string>());
  return core::Status::InvalidArgument(fmt::format("a value must be a number, true/false or a string, not {}",
                                                   j.type_name()));
}

core::Result<core::Timestamp> TimestampOf(const Json& j) {
  if (j.is_string()) return core::ParseRfc3339(j.get<std::string>());
  if (j.is_number_integer()) {
    const int64_t ms = j.get<int64_t>();
    core::Timestamp ts = 0;
    if (j.is_number_unsigned() || __builtin_mul_overflow(ms, int64_t{1'000'000}, &ts)) {
      if (!j.is_number_unsigned() || j.get<uint64_t>() > 9'200'000'000'000u) {
        return core::Status::InvalidArgument(fmt::format("\"ts\" {} is not milliseconds since the epoch", j.dump()));
      }
      return static_cast<core::Timestamp>(j.get<uint64_t>()) * 1'000'000;
    }
    return ts;
  }
  if (j.is_number()) {  // fractional milliseconds
    const double ms = j.get<double>();
    // Timestamp holds years 1678..2262 in nanoseconds.
    if (!std::isfinite(ms) || std::fabs(ms) > 9.2e12) {
      return core::Status::InvalidArgument(fmt::format("\"ts\" {} is not milliseconds since the epoch", j.dump()));
    }
    return static_cast<core::Timestamp>(std::llround(ms * 1e6));
  }
  return core::Status::InvalidArgument("\"ts\" must be milliseconds since the epoch or an RFC 3339 string");
}

core::Result<core::Quality> QualityOf(const Json& j) {
  if (j.is_string()) {
    const std::string q = j.get<std::string>();
    if (q == "good") return core::Quality::Good();
    if (q == "uncertain") return core::Quality::Uncertain();
    if (q == "bad") return core::Quality::Bad();
  } else if (j.is_number_unsigned() && j.get<uint64_t>() <= 0xFFFFFFFFu) {
    return core::Quality::FromOpcUaStatus(static_cast<uint32_t>(j.get<uint64_t>()));
  }
  return core::Status::InvalidArgument(
      fmt::format("\"quality\" {} is not good, uncertain, bad or an OPC UA StatusCode", j.dump()));
}

// One member: a bare value or {"value", "ts", "quality"}.
core::Status PointOf(const Json& j, core::Timestamp default_ts, TelemetryPoint* point) {
  point->ts = default_ts;
  if (!j.is_object()) {
    SF_ASSIGN_OR_RETURN(point->value, ValueOf(j));
    return core::Status::OK();
  }
  for (const auto& [key, member] : j.items()) {
    if (key != "value" && key != "ts" && key != "quality") {
      return core::Status::InvalidArgument(fmt::format("unknown key \"{}\" (allowed: value, ts, quality)", key));
    }
  }
  if (!j.contains("value")) return core::Status::InvalidArgument("\"value\" is missing");
  SF_ASSIGN_OR_RETURN(point->value, ValueOf(j["value"]));
  if (j.contains("ts")) {
    SF_ASSIGN_OR_RETURN(point->ts, TimestampOf(j["ts"]));
  }
  if (j.contains("quality")) {
    SF_ASSIGN_OR_RETURN(point->quality, QualityOf(j["quality"]));
  }
  return core::Status::OK();
}

model::AssetLevel LevelForDepth(size_t depth, bool leaf) {
  // Paths are enterprise/site/area[/line[/cell]]/machine: the asset owning the tags is a
  // machine unless it is too shallow to be one.
  if (depth <= 1) return model::AssetLevel::kEnterprise;
  if (depth == 2) return model::AssetLevel::kSite;
  if (depth == 3 && !leaf) return model::AssetLevel::kArea;
  if (leaf) return model::AssetLevel::kMachine;
  return depth == 4 ? model::AssetLevel::kLine : model::AssetLevel::kCell;
}

// The MQTT reason for a storage failure.
Reason ReasonForStorage(const core::Status& s) {
  return s.code() == core::StatusCode::kNoSpace ? Reason::kQuotaExceeded : Reason::kImplementationSpecificError;
}

}  // namespace

core::Result<TelemetryMessage> ParseTelemetry(std::string_view topic, std::string_view payload, core::Timestamp now) {
  Json j = Json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Bad(topic, "the payload is not JSON");
  TelemetryMessage message;
  const bool batch = j.is_object() && !j.contains("value");
  if (batch) {
    message.asset_path = std::string(topic);
    core::Timestamp ts = now;
    if (j.contains("ts")) {
      auto parsed = TimestampOf(j["ts"]);
      if (!parsed.ok()) return Bad(topic, parsed.status().message());
      ts = *parsed;
    }
    for (const auto& [key, member] : j.items()) {
      if (key == "ts") continue;
      if (!model::IsValidName(key)) return Bad(topic, fmt::format("\"{}\" is not a valid tag name", key));
      TelemetryPoint point;
      point.tag = key;
      core::Status s = PointOf(member, ts, &point);
      if (!s.ok()) return Bad(topic, fmt::format("member \"{}\": {}", key, s.message()));
      message.points.push_back(std::move(point));
    }
    if (message.points.empty()) return Bad(topic, "the batch object has no tags");
  } else {
    const size_t slash = topic.rfind('/');
    if (slash == std::string_view::npos || slash == 0) {
      return Bad(topic, "a single value needs a topic \"<asset path>/<tag>\"");
    }
    message.asset_path = std::string(topic.substr(0, slash));
    TelemetryPoint point;
    point.tag = std::string(topic.substr(slash + 1));
    if (!model::IsValidName(point.tag)) return Bad(topic, fmt::format("\"{}\" is not a valid tag name", point.tag));
    core::Status s = PointOf(j, now, &point);
    if (!s.ok()) return Bad(topic, s.message());
    message.points.push_back(std::move(point));
  }
  size_t start = 0;
  for (;;) {  // every level of the asset path must be a valid name
    const size_t end = message.asset_path.find('/', start);
    std::string_view level = std::string_view(message.asset_path).substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!model::IsValidName(level)) return Bad(topic, fmt::format("\"{}\" is not a valid asset name", level));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return message;
}

TelemetryHooks::TelemetryHooks(model::AssetStore* assets, ingest::Writer* writer, core::Clock* clock,
                               TelemetryOptions options, BrokerHooks* auth)
    : assets_(assets), writer_(writer), clock_(clock), options_(std::move(options)), auth_(auth) {
  worker_ = std::thread([this] { Run(); });
}

TelemetryHooks::~TelemetryHooks() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
  for (auto& p : queue_) p.done(Reason::kServerUnavailable);
}

Reason TelemetryHooks::Authenticate(const Connect& connect, std::string_view remote, std::string* principal) {
  return auth_ ? auth_->Authenticate(connect, remote, principal) : BrokerHooks::Authenticate(connect, remote, principal);
}

bool TelemetryHooks::AuthorizePublish(const ClientView& client, std::string_view topic) {
  return auth_ ? auth_->AuthorizePublish(client, topic) : true;
}

bool TelemetryHooks::AuthorizeSubscribe(const ClientView& client, std::string_view filter) {
  return auth_ ? auth_->AuthorizeSubscribe(client, filter) : true;
}

bool TelemetryHooks::IsTelemetryTopic(std::string_view topic) {
  // A level starting with '$' is never an asset or tag name: command topics
  // ("<asset path>/$cmd/<tag>") and the like are routed, never stored.
  if (topic.find("/$") != std::string_view::npos) return false;
  const std::string_view first = topic.substr(0, topic.find('/'));
  auto asset = assets_->FindAsset(first);
  return asset.ok() && asset->level == model::AssetLevel::kEnterprise;
}

void TelemetryHooks::OnPublish(const ClientView& client, const Publish& publish, std::function<void(Reason)> done) {
  if (!IsTelemetryTopic(publish.topic)) {
    done(Reason::kSuccess);  // not telemetry: routed as it is
    return;
  }
  Pending p;
  p.topic = publish.topic;
  p.payload = publish.payload;
  p.actor = fmt::format("mqtt:{}", client.principal.empty() ? client.client_id : client.principal);
  p.may_provision = options_.may_provision && options_.may_provision(client);
  p.received = clock_->Now();
  p.done = std::move(done);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.messages;
    queue_.push_back(std::move(p));
  }
  cv_.notify_one();
}

TelemetryStats TelemetryHooks::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void TelemetryHooks::Run() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      // Everything waiting goes into one write: one group commit for many messages.
      while (!queue_.empty() && batch.size() < options_.max_messages_per_write) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    Process(&batch);
    batch.clear();
  }
}

core::Result<TelemetryHooks::Resolved> TelemetryHooks::Resolve(const Pending& p, std::string_view asset_path,
                                                               const TelemetryPoint& point, Reason* reason) {
  const std::string key = fmt::format("{}/{}", asset_path, point.tag);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  auto tag = assets_->FindTag(asset_path, point.tag);
  if (!tag.ok() && tag.status().code() == core::StatusCode::kNotFound) {
    if (!p.may_provision) {
      *reason = Reason::kNotAuthorized;
      return core::Status::PermissionDenied(
          fmt::format("\"{}\" is not in the model and this publisher may not create it", key));
    }
    // Create the missing assets from the top, then the tag with the value's type.
    std::string path;
    size_t depth = 0, start = 0;
    for (;;) {
      const size_t end = asset_path.find('/', start);
      const std::string parent = path;
      path = std::string(asset_path.substr(0, end));
      ++depth;
      const bool leaf = end == std::string_view::npos;
      if (!assets_->FindAsset(path).ok()) {
        model::NewAsset asset;
        asset.parent_path = parent;
        asset.level = LevelForDepth(depth, leaf);
        asset.name = path.substr(path.rfind('/') + 1);
        asset.description = "created by MQTT telemetry";
        auto created = assets_->CreateAsset(p.actor, asset);
        if (!created.ok()) {
          *reason = Reason::kImplementationSpecificError;
          return created.status().WithPrefix(fmt::format("creating asset \"{}\"", path));
        }
      }
      if (leaf) break;
      start = end + 1;
    }
    auto owner = assets_->FindAsset(asset_path);
    if (!owner.ok()) {
      *reason = Reason::kImplementationSpecificError;
      return owner.status();
    }
    model::TagDef def;
    def.name = point.tag;
    def.type = point.value.type();
    tag = assets_->UpsertTag(p.actor, owner->id, def);
    if (tag.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.provisioned_tags;
    }
  }
  if (!tag.ok()) {
    *reason = Reason::kImplementationSpecificError;
    return tag.status();
  }
  auto series = writer_->storage()->GetOrCreateSeries(tag->series_key, tag->type);
  if (!series.ok()) {
    *reason = ReasonForStorage(series.status());
    return series.status();
  }
  Resolved resolved{*series, tag->type};
  cache_.emplace(key, resolved);
  return resolved;
}

void TelemetryHooks::Process(std::vector<Pending>* batch) {
  if (const uint64_t version = assets_->version(); version != cache_version_) {
    cache_.clear();
    cache_version_ = version;
  }
  core::SampleBatch samples;
  std::vector<size_t> accepted;  // indexes into *batch, completed after the write
  for (size_t i = 0; i < batch->size(); ++i) {
    Pending& p = (*batch)[i];
    Reason reason = Reason::kPayloadFormatInvalid;
    core::Status failure;
    auto message = ParseTelemetry(p.topic, p.payload, p.received);
    const size_t before = samples.size();
    if (!message.ok()) {
      failure = message.status();
    } else {
      for (const TelemetryPoint& point : message->points) {
        auto resolved = Resolve(p, message->asset_path, point, &reason);
        if (!resolved.ok()) {
          failure = resolved.status();
          break;
        }
        auto value = core::ConvertLossless(point.value, resolved->type);
        if (!value.ok()) {
          reason = Reason::kPayloadFormatInvalid;
          failure = value.status().WithPrefix(fmt::format("topic \"{}\" tag \"{}\"", p.topic, point.tag));
          break;
        }
        samples.Add(resolved->series, point.ts, std::move(*value), point.quality);
      }
    }
    if (!failure.ok()) {
      // The whole message is refused: drop what it had added.
      samples.entries.resize(before);
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++(reason == Reason::kNotAuthorized         ? stats_.refused_unknown
           : reason == Reason::kPayloadFormatInvalid ? stats_.refused_invalid
                                                     : stats_.write_failures);
        stats_.last_error = failure.ToString();
      }
      SF_LOG(warn, "mqtt.telemetry_refused", "actor={} reason=\"{}\" error=\"{}\"", p.actor, ReasonName(reason),
             failure.ToString());
      p.done(reason);
      continue;
    }
    accepted.push_back(i);
  }
  if (accepted.empty()) return;
  core::Status written = samples.empty() ? core::Status::OK() : writer_->Write(samples);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.writes;
    if (written.ok()) {
      stats_.samples += samples.size();
    } else {
      stats_.write_failures += accepted.size();
      stats_.last_error = written.ToString();
    }
  }
  if (!written.ok()) {
    SF_LOG(error, "mqtt.telemetry_write_failed", "messages={} error=\"{}\"", accepted.size(), written.ToString());
  }
  // Durable under the storage policy before the acknowledgement (or the error goes back).
  const Reason reason = written.ok() ? Reason::kSuccess : ReasonForStorage(written);
  for (size_t i : accepted) (*batch)[i].done(reason);
}

}  // namespace shopfloor::connect::mqtt
