// Shopfloor as the Sparkplug B primary host application (see ingest.h).
#include "connect/sparkplug/ingest.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/log.h"
#include "ingest/writer.h"
#include "model/asset_store.h"
#include "model/twin.h"
#include "storage/storage.h"

namespace shopfloor::connect::sparkplug {

using mqtt::Reason;

namespace {

constexpr size_t kMaxUnmapped = 100;

// An outbound message the broker did not take (it is stopping, or a bad topic) is logged.
void LogIfUnsent(const core::Status& sent, std::string_view topic) {
  if (!sent.ok()) SF_LOG(warn, "sparkplug.publish_failed", "topic={} error=\"{}\"", topic, sent.ToString());
}

// A metric name as a tag or asset name: characters outside [A-Za-z0-9_.-] become '_'.
std::string NameFor(std::string_view metric) {
  std::string out;
  for (char c : metric) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    out += ok ? c : '_';
  }
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out.substr(0, 128);
}

uint64_t NowMs(core::Clock* clock) { return static_cast<uint64_t>(clock->Now() / core::kMillisecond); }

}  // namespace

SparkplugHooks::SparkplugHooks(model::AssetStore* assets, model::TwinStore* twins, ingest::Writer* writer,
                               core::Clock* clock, SparkplugOptions options, mqtt::BrokerHooks* next)
    : assets_(assets),
      twins_(twins),
      writer_(writer),
      clock_(clock),
      options_(std::move(options)),
      next_(next ? next : &default_next_),
      host_(options_.host) {
  worker_ = std::thread([this] { Run(); });
}

SparkplugHooks::~SparkplugHooks() {
  Detach();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
  for (Pending& p : queue_) p.done(Reason::kServerUnavailable);
}

void SparkplugHooks::Attach(PublishFn publish) {
  std::lock_guard lock(mu_);
  publish_ = std::move(publish);
  const std::string state = std::string(kNamespace) + "/STATE/" + options_.host_id;
  LogIfUnsent(publish_(state, StatePayload(true, NowMs(clock_)), 1, true), state);
}

void SparkplugHooks::Detach() {
  std::lock_guard lock(mu_);
  if (!publish_) return;
  const std::string state = std::string(kNamespace) + "/STATE/" + options_.host_id;
  LogIfUnsent(publish_(state, StatePayload(false, NowMs(clock_)), 1, true), state);
  publish_ = nullptr;
}

int SparkplugHooks::AddRemote(PublishFn publish) {
  std::lock_guard lock(mu_);
  remotes_.push_back(std::move(publish));
  return static_cast<int>(remotes_.size());
}

void SparkplugHooks::OnRemote(int remote, std::string topic, std::string payload, std::function<void(Reason)> done) {
  if (SourceForTopic(topic) == nullptr) {
    done(Reason::kSuccess);  // another group, or STATE of a host: nothing for us
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      done(Reason::kServerUnavailable);
      return;
    }
    queue_.push_back(Pending{remote, std::move(topic), std::move(payload), clock_->Now(), std::move(done)});
  }
  cv_.notify_one();
}

core::Status SparkplugHooks::PublishVia(int via, std::string topic, std::string payload, uint8_t qos, bool retain) {
  if (via > 0 && static_cast<size_t>(via) <= remotes_.size()) {
    return remotes_[via - 1](std::move(topic), std::move(payload), qos, retain);
  }
  return publish_(std::move(topic), std::move(payload), qos, retain);
}

const SparkplugSource* SparkplugHooks::SourceOfGroup(std::string_view group) const {
  for (const SparkplugSource& s : options_.sources) {
    if (s.group_id == group) return &s;
  }
  return nullptr;
}

const SparkplugSource* SparkplugHooks::SourceForTopic(std::string_view topic) const {
  if (!topic.starts_with(kNamespace) || topic.size() <= kNamespace.size() || topic[kNamespace.size()] != '/') {
    return nullptr;
  }
  std::string_view rest = topic.substr(kNamespace.size() + 1);
  return SourceOfGroup(rest.substr(0, rest.find('/')));
}

mqtt::Reason SparkplugHooks::Authenticate(const mqtt::Connect& connect, std::string_view remote,
                                          std::string* principal) {
  return next_->Authenticate(connect, remote, principal);
}

bool SparkplugHooks::AuthorizePublish(const mqtt::ClientView& client, std::string_view topic) {
  if (topic.starts_with(kNamespace) && topic.size() > kNamespace.size() && topic[kNamespace.size()] == '/') {
    auto parsed = ParseTopic(topic);
    const bool command = parsed.ok() && (parsed->type == MessageType::kNCmd || parsed->type == MessageType::kDCmd ||
                                         parsed->type == MessageType::kState);
    if (command || (parsed.ok() && options_.may_publish && !options_.may_publish(client))) {
      std::lock_guard lock(mu_);
      stats_.denied++;
      stats_.last_problem = fmt::format("client \"{}\" may not publish {}", client.client_id, topic);
      SF_LOG(warn, "sparkplug.publish_denied", "client={} user={} topic={} reason={}", client.client_id,
             client.username, topic, command ? "commands and STATE come from Shopfloor only" : "role below operator");
      return false;
    }
  }
  return next_->AuthorizePublish(client, topic);
}

bool SparkplugHooks::AuthorizeSubscribe(const mqtt::ClientView& client, std::string_view filter) {
  return next_->AuthorizeSubscribe(client, filter);
}

void SparkplugHooks::OnPublish(const mqtt::ClientView& client, const mqtt::Publish& publish,
                               std::function<void(Reason)> done) {
  if (SourceForTopic(publish.topic) == nullptr) {
    next_->OnPublish(client, publish, std::move(done));
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      done(Reason::kServerUnavailable);
      return;
    }
    queue_.push_back(Pending{0, publish.topic, publish.payload, clock_->Now(), std::move(done)});
  }
  cv_.notify_one();
}

void SparkplugHooks::Run() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      while (!queue_.empty() && batch.size() < options_.max_messages_per_write) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    Process(&batch);
    batch.clear();
  }
}

void SparkplugHooks::Note(const std::string& problem) {
  std::lock_guard lock(mu_);
  stats_.last_problem = problem;
}

SparkplugHooks::BindingMap& SparkplugHooks::Bindings(const SparkplugSource& source) {
  if (const uint64_t version = assets_->version(); version != bindings_version_) {
    bindings_.clear();
    bindings_version_ = version;
    for (const model::Asset& asset : assets_->AllAssets()) {
      for (const model::Tag& tag : asset.tags) {
        if (!tag.binding || tag.binding->address.empty() || tag.series_key.empty()) continue;
        auto series = writer_->storage()->GetOrCreateSeries(tag.series_key, tag.type);
        if (!series.ok()) {
          Note(fmt::format("tag {}: {}", tag.series_key, series.status().message()));
          continue;
        }
        bindings_[tag.binding->source][tag.binding->address] = Bound{*series, tag.type, asset.id, tag.name, tag.unit};
      }
    }
  }
  return bindings_[source.name];
}

void SparkplugHooks::Provision(const SparkplugSource& source, const std::vector<BirthMetric>& births) {
  const std::string actor = "sparkplug:" + source.name;
  bool changed = false;
  for (const BirthMetric& b : births) {
    BindingMap& bound = Bindings(source);
    const auto value_type = ValueTypeOf(b.datatype);
    if (auto it = bound.find(b.address); it != bound.end()) {
      if (value_type && *value_type != it->second.type &&
          !(it->second.type == core::ValueType::kDouble && *value_type == core::ValueType::kInt64)) {
        Note(fmt::format("{}: the birth declares {}, the tag is {}", b.address, DataTypeName(b.datatype),
                         core::ValueTypeName(it->second.type)));
      }
      if (it->second.unit.empty() && !b.unit.empty()) {
        model::TagDef def;
        def.name = it->second.tag;
        def.unit = b.unit;
        if (assets_->UpsertTag(actor, it->second.asset_id, def).ok()) changed = true;
      }
      continue;
    }
    // The asset: the one holding the device's (or node's) other bound tags.
    const std::string prefix = b.address.substr(0, b.address.size() - b.name.size());
    int64_t asset_id = 0;
    for (const auto& [address, tag] : bound) {
      if (address.starts_with(prefix) && address.find('/', prefix.size()) == std::string::npos) {
        asset_id = tag.asset_id;
        break;
      }
    }
    if (asset_id == 0 && !source.provision_path.empty()) {
      const std::string device = prefix.substr(0, prefix.size() - 1);  // "edge/device" or "edge"
      const std::string name = NameFor(device.substr(device.rfind('/') + 1));
      const std::string path = source.provision_path + "/" + name;
      if (auto existing = assets_->FindAsset(path); existing.ok()) {
        asset_id = existing->id;
      } else {
        model::NewAsset asset;
        asset.parent_path = source.provision_path;
        asset.level = model::AssetLevel::kMachine;
        asset.name = name;
        asset.description = fmt::format("Sparkplug {} {}", prefix.find('/') + 1 < prefix.size() - 1 ? "device" : "node",
                                        device);
        auto created = assets_->CreateAsset(actor, asset);
        if (!created.ok()) {
          Note(fmt::format("creating {}: {}", path, created.status().message()));
          continue;
        }
        asset_id = created->id;
      }
    }
    if (asset_id == 0 || !value_type) {
      std::lock_guard lock(mu_);
      stats_.skipped_metrics++;
      if (stats_.unmapped.size() < kMaxUnmapped &&
          std::find(stats_.unmapped.begin(), stats_.unmapped.end(), b.address) == stats_.unmapped.end()) {
        stats_.unmapped.push_back(b.address);
      }
      continue;
    }
    model::TagDef def;
    def.name = NameFor(b.name);
    def.type = *value_type;
    if (!b.unit.empty()) def.unit = b.unit;
    def.binding = model::TagBinding{source.name, b.address};
    def.description = fmt::format("Sparkplug metric {} ({})", b.name, DataTypeName(b.datatype));
    auto tag = assets_->UpsertTag(actor, asset_id, def);
    if (!tag.ok()) {
      Note(fmt::format("creating tag for {}: {}", b.address, tag.status().message()));
      continue;
    }
    changed = true;
    std::lock_guard lock(mu_);
    stats_.provisioned_tags++;
  }
  if (changed) bindings_version_ = ~uint64_t{0};
}

void SparkplugHooks::MarkStale(const SparkplugSource& source, const std::vector<std::string>& prefixes) {
  std::map<int64_t, std::vector<std::string>> by_asset;
  for (const auto& [address, tag] : Bindings(source)) {
    for (const std::string& prefix : prefixes) {
      if (address.starts_with(prefix)) by_asset[tag.asset_id].push_back(tag.tag);
    }
  }
  for (const auto& [asset_id, tags] : by_asset) {
    if (auto s = twins_->MarkStale(asset_id, tags, core::Quality::BadNoCommunication()); !s.ok()) Note(s.ToString());
  }
}

void SparkplugHooks::Process(std::vector<Pending>* batch) {
  core::SampleBatch samples;
  std::vector<Reason> reasons(batch->size(), Reason::kSuccess);
  for (size_t i = 0; i < batch->size(); ++i) {
    Pending& p = (*batch)[i];
    const SparkplugSource* source = SourceForTopic(p.topic);
    auto topic = ParseTopic(p.topic);
    if (!topic.ok()) {
      Note(topic.status().message());
      reasons[i] = Reason::kTopicNameInvalid;
      continue;
    }
    auto payload = DecodePayload(p.payload);
    if (!payload.ok()) {
      std::lock_guard lock(mu_);
      stats_.decode_errors++;
      stats_.last_problem = fmt::format("{}: {}", p.topic, payload.status().message());
      reasons[i] = Reason::kPayloadFormatInvalid;
      continue;
    }
    HostResult result;
    {
      std::lock_guard lock(mu_);
      result = host_.Handle(*topic, *payload, p.received);
      via_[{topic->group_id, topic->edge_node_id}] = p.via;
      stats_.messages++;
      stats_.skipped_metrics += result.skipped_metrics;
      if (topic->type == MessageType::kNBirth || topic->type == MessageType::kDBirth) stats_.births++;
      if (!result.stale.empty()) stats_.deaths++;
      if (!result.problem.empty()) stats_.last_problem = fmt::format("{}: {}", p.topic, result.problem);
      if (result.rebirth) {
        Topic ncmd{MessageType::kNCmd, topic->group_id, topic->edge_node_id, "", ""};
        LogIfUnsent(PublishVia(p.via, FormatTopic(ncmd), Host::RebirthCommand(NowMs(clock_)), 0, false),
                    FormatTopic(ncmd));
        stats_.rebirths_requested++;
        SF_LOG(info, "sparkplug.rebirth", "group={} node={} reason=\"{}\"", topic->group_id, topic->edge_node_id,
               result.problem);
      }
    }
    if (!result.births.empty()) Provision(*source, result.births);
    if (!result.stale.empty()) MarkStale(*source, result.stale);
    BindingMap& bound = Bindings(*source);
    for (const MetricUpdate& u : result.updates) {
      auto it = bound.find(u.address);
      if (it == bound.end()) {
        std::lock_guard lock(mu_);
        stats_.skipped_metrics++;
        if (stats_.unmapped.size() < kMaxUnmapped &&
            std::find(stats_.unmapped.begin(), stats_.unmapped.end(), u.address) == stats_.unmapped.end()) {
          stats_.unmapped.push_back(u.address);
        }
        continue;
      }
      auto value = core::ConvertLossless(u.value, it->second.type);
      if (!value.ok()) {
        Note(fmt::format("{}: {}", u.address, value.status().message()));
        std::lock_guard lock(mu_);
        stats_.skipped_metrics++;
        continue;
      }
      samples.Add(it->second.series, u.ts, *value, u.quality);
    }
  }
  if (samples.size() > 0) {
    if (auto s = writer_->Write(samples); !s.ok()) {
      const Reason r = s.code() == core::StatusCode::kNoSpace ? Reason::kQuotaExceeded : Reason::kImplementationSpecificError;
      std::lock_guard lock(mu_);
      stats_.write_failures += batch->size();
      stats_.last_problem = s.ToString();
      for (Reason& reason : reasons) {
        if (reason == Reason::kSuccess) reason = r;
      }
    } else {
      std::lock_guard lock(mu_);
      stats_.samples += samples.size();
    }
  }
  for (size_t i = 0; i < batch->size(); ++i) (*batch)[i].done(reasons[i]);
}

core::Result<std::string> SparkplugHooks::SendCommand(const CommandTarget& target) {
  const SparkplugSource* source = nullptr;
  for (const SparkplugSource& s : options_.sources) {
    if (s.name == target.source) source = &s;
  }
  if (source == nullptr) return core::Status::NotFound(fmt::format("no Sparkplug source \"{}\"", target.source));
  const size_t slash = target.address.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= target.address.size()) {
    return core::Status::InvalidArgument(
        fmt::format("binding address \"{}\" is not <edge node>/<device>/<metric> or <edge node>/<metric>",
                    target.address));
  }
  const std::string edge = target.address.substr(0, slash);
  const std::string rest = target.address.substr(slash + 1);
  std::lock_guard lock(mu_);
  Topic topic{MessageType::kDCmd, source->group_id, edge, "", ""};
  std::string metric = rest;
  std::optional<DataType> type;
  if (const size_t d = rest.find('/'); d != std::string::npos) {
    type = host_.MetricType(source->group_id, edge, rest.substr(0, d), rest.substr(d + 1));
    if (type) {
      topic.device_id = rest.substr(0, d);
      metric = rest.substr(d + 1);
    }
  }
  if (!type) {
    type = host_.MetricType(source->group_id, edge, "", rest);
    topic.type = MessageType::kNCmd;
  }
  if (!type) {
    return core::Status::Unavailable(fmt::format(
        "{} is not in a current birth of group {} (is the edge node or device online?)", target.address,
        source->group_id));
  }
  Payload payload;
  payload.timestamp = NowMs(clock_);
  Metric m;
  m.name = metric;
  m.timestamp = payload.timestamp;
  m.datatype = ValueTypeOf(*type) ? *type : DataTypeFor(target.value.type());
  auto value = core::ConvertLossless(target.value, ValueTypeOf(m.datatype).value_or(target.value.type()));
  if (!value.ok()) return value.status().WithPrefix(target.address);
  m.value = *value;
  payload.metrics.push_back(std::move(m));
  const std::string name = FormatTopic(topic);
  auto via = via_.find({source->group_id, edge});
  SF_RETURN_IF_ERROR(PublishVia(via == via_.end() ? 0 : via->second, name, EncodePayload(payload), 0, false));
  stats_.commands_sent++;
  return name;
}

SparkplugStats SparkplugHooks::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::vector<NodeStatus> SparkplugHooks::nodes() const {
  std::lock_guard lock(mu_);
  return host_.Nodes();
}

}  // namespace shopfloor::connect::sparkplug
