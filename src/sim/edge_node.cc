#include "sim/edge_node.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "connect/sparkplug/payload.h"
#include "core/clock.h"
#include "core/log.h"

namespace shopfloor::sim {

namespace sp = connect::sparkplug;

namespace {

std::vector<std::string> Split(std::string_view s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '/') {
      parts.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

template <typename F>
void ForEachTag(const model::AssetConfig& asset, F&& f) {
  for (const auto& tag : asset.tags) f(asset, tag);
  for (const auto& child : asset.children) ForEachTag(child, f);
}

uint64_t Millis(core::Timestamp ts) { return ts <= 0 ? 0 : static_cast<uint64_t>(ts / core::kMillisecond); }

// The signal's reading as a value of the tag's type; null when unavailable, unreachable or
// not representable.
std::optional<core::Value> ReadValue(const Factory& factory, const std::string& machine, const std::string& signal,
                                     core::ValueType type) {
  if (!factory.Reachable(machine)) return std::nullopt;
  auto reading = factory.Read(machine, signal);
  if (!reading || !reading->available) return std::nullopt;
  if (reading->value.type() == type) return reading->value;
  auto converted = core::ConvertLossless(reading->value, type);
  if (!converted.ok()) return std::nullopt;
  return *converted;
}

}  // namespace

core::Result<std::unique_ptr<EdgeNode>> EdgeNode::Create(const model::PlantConfig& config,
                                                         const model::SourceConfig& source, EdgeNodeOptions options,
                                                         ApplySetpoint apply) {
  std::vector<MetricPoint> points;
  std::string edge;
  core::Status error;
  ForEachTag(config.enterprise, [&](const model::AssetConfig& asset, const model::TagConfig& tag) {
    if (!tag.binding || tag.binding->source != source.name || !error.ok()) return;
    std::vector<std::string> parts = Split(tag.binding->address);
    if (parts.size() < 2 || parts.size() > 3 || std::any_of(parts.begin(), parts.end(), [](auto& p) { return p.empty(); })) {
      error = core::Status::InvalidArgument(fmt::format("{}/{}: Sparkplug address \"{}\" is not <edge>/<device>/<metric> "
                                                        "or <edge>/<metric>", asset.path, tag.name, tag.binding->address));
      return;
    }
    if (edge.empty()) edge = parts[0];
    if (parts[0] != edge) {
      error = core::Status::InvalidArgument(fmt::format("{}/{}: edge node \"{}\" differs from \"{}\"; the simulator runs "
                                                        "one edge node per source", asset.path, tag.name, parts[0], edge));
      return;
    }
    MetricPoint p;
    p.device = parts.size() == 3 ? parts[1] : "";
    p.metric = parts.back();
    p.machine = asset.name;
    p.signal = tag.name;
    p.type = tag.type;
    p.writable = tag.writable;
    p.alias = points.size() + 1;  // 0 is left for bdSeq and Node Control
    points.push_back(std::move(p));
  });
  if (!error.ok()) return error;
  if (points.empty()) return core::Status::InvalidArgument(fmt::format("source {} binds no tags", source.name));
  if (options.clock == nullptr) options.clock = core::Clock::System();
  return std::unique_ptr<EdgeNode>(
      new EdgeNode(source.options.group_id, edge, std::move(points), std::move(options), std::move(apply)));
}

EdgeNode::EdgeNode(std::string group, std::string edge, std::vector<MetricPoint> points, EdgeNodeOptions options,
                   ApplySetpoint apply)
    : group_(std::move(group)), edge_(std::move(edge)), points_(std::move(points)), options_(std::move(options)),
      apply_(std::move(apply)), bd_seq_(static_cast<uint64_t>(options_.clock->Now() / core::kSecond) % 256) {
  std::set<std::string> devices;
  for (const auto& p : points_) {
    if (!p.device.empty()) devices.insert(p.device);
  }
  devices_.assign(devices.begin(), devices.end());
}

EdgeNode::~EdgeNode() { Stop(); }

core::Status EdgeNode::Start() {
  if (client_) return core::Status::OK();
  connect::mqtt::BridgeOptions o;
  o.host = options_.host;
  o.port = options_.port;
  o.client_id = fmt::format("sim-{}-{}", group_, edge_);
  o.username = options_.username;
  o.password = options_.password;
  o.clean_session = true;  // Sparkplug edge nodes use clean sessions
  o.keep_alive_s = 30;
  o.clock = options_.clock;
  o.initial_backoff = 200 * core::kMillisecond;
  o.max_backoff = 5 * core::kSecond;
  o.topics.push_back({fmt::format("{}/{}/NCMD/{}", sp::kNamespace, group_, edge_), 1});
  o.topics.push_back({fmt::format("{}/{}/DCMD/{}/+", sp::kNamespace, group_, edge_), 1});
  sp::Payload death;
  death.timestamp = Millis(options_.clock->Now());
  sp::Metric bd;
  bd.name = "bdSeq";
  bd.datatype = sp::DataType::kUInt64;
  bd.value = core::Value(static_cast<int64_t>(bd_seq_));
  death.metrics.push_back(bd);
  o.will = connect::mqtt::BridgeMessage{sp::FormatTopic({sp::MessageType::kNDeath, group_, edge_, "", ""}),
                                        sp::EncodePayload(death), 1, false};
  client_ = std::make_unique<connect::mqtt::BridgeClient>(
      std::move(o), [this](connect::mqtt::BridgeMessage m, connect::mqtt::BridgeClient::Done done) {
        OnMessage(std::move(m), std::move(done));
      });
  core::Status s = client_->Start();
  if (!s.ok()) client_.reset();
  return s;
}

void EdgeNode::Stop() {
  if (client_) {
    // A clean stop says goodbye explicitly; the will covers everything else.
    if (client_->status().state == connect::mqtt::BridgeState::kConnected) {
      sp::Payload death;
      death.timestamp = Millis(options_.clock->Now());
      sp::Metric bd;
      bd.name = "bdSeq";
      bd.datatype = sp::DataType::kUInt64;
      bd.value = core::Value(static_cast<int64_t>(bd_seq_));
      death.metrics.push_back(bd);
      (void)client_->Publish(sp::FormatTopic({sp::MessageType::kNDeath, group_, edge_, "", ""}), sp::EncodePayload(death),
                             1, false);
    }
    client_->Stop();
    client_.reset();
  }
}

EdgeNodeStats EdgeNode::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  EdgeNodeStats s = stats_;
  return s;
}

bool EdgeNode::Publish(const std::string& topic, const std::string& payload) {
  core::Status s = client_->Publish(topic, payload, 0, false);
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.last_error = s.message();
  }
  return s.ok();
}

void EdgeNode::OnMessage(connect::mqtt::BridgeMessage message, connect::mqtt::BridgeClient::Done done) {
  done(connect::mqtt::Delivery::kStored);
  auto topic = sp::ParseTopic(message.topic);
  auto payload = sp::DecodePayload(message.payload);
  if (!topic.ok() || !payload.ok()) {
    SF_LOG(warn, "sim.sparkplug_bad_command", "topic={} error=\"{}\"", message.topic,
           (!topic.ok() ? topic.status() : payload.status()).message());
    return;
  }
  for (const sp::Metric& m : payload->metrics) {
    if (topic->type == sp::MessageType::kNCmd && m.name && *m.name == "Node Control/Rebirth") {
      rebirth_.store(true, std::memory_order_release);
      continue;
    }
    const MetricPoint* target = nullptr;
    for (const auto& p : points_) {
      if (p.device == topic->device_id && ((m.name && *m.name == p.metric) || (m.alias && *m.alias == p.alias))) {
        target = &p;
        break;
      }
    }
    core::Status s;
    if (target == nullptr || !target->writable) {
      s = core::Status::InvalidArgument("not a writable metric");
    } else if (!m.value) {
      s = core::Status::InvalidArgument("no value");
    } else {
      auto value = core::ConvertLossless(*m.value, target->type);
      s = value.ok() ? apply_(target->machine, target->signal, *value) : value.status();
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (s.ok()) {
      ++stats_.commands;
      SF_LOG(info, "sim.sparkplug_command", "device={} metric={} value={}", topic->device_id,
             target->metric, m.value->ToString());
    } else {
      ++stats_.refused_commands;
      SF_LOG(warn, "sim.sparkplug_command_refused", "device={} metric={} error=\"{}\"", topic->device_id,
             m.name.value_or(fmt::format("alias {}", m.alias.value_or(0))), s.message());
    }
  }
}

void EdgeNode::PublishBirths(const Factory& factory) {
  const uint64_t now = Millis(options_.clock->Now());
  seq_ = 0;
  sp::Payload nbirth;
  nbirth.timestamp = now;
  nbirth.seq = NextSeq();
  sp::Metric bd;
  bd.name = "bdSeq";
  bd.datatype = sp::DataType::kUInt64;
  bd.value = core::Value(static_cast<int64_t>(bd_seq_));
  nbirth.metrics.push_back(bd);
  sp::Metric rebirth;
  rebirth.name = "Node Control/Rebirth";
  rebirth.datatype = sp::DataType::kBoolean;
  rebirth.value = core::Value(false);
  nbirth.metrics.push_back(rebirth);
  std::map<std::string, sp::Payload> dbirths;
  for (auto& p : points_) {
    sp::Metric m;
    m.name = p.metric;
    m.alias = p.alias;
    m.timestamp = now;
    m.datatype = sp::DataTypeFor(p.type);
    m.value = ReadValue(factory, p.machine, p.signal, p.type);
    m.is_null = !m.value;
    p.last = m.value;
    p.last_null = m.is_null;
    if (p.device.empty()) nbirth.metrics.push_back(std::move(m));
    else dbirths[p.device].metrics.push_back(std::move(m));
  }
  if (!Publish(sp::FormatTopic({sp::MessageType::kNBirth, group_, edge_, "", ""}), sp::EncodePayload(nbirth))) return;
  device_alive_.clear();
  for (const std::string& device : devices_) {
    const auto& first = *std::find_if(points_.begin(), points_.end(), [&](auto& p) { return p.device == device; });
    if (!factory.Reachable(first.machine)) continue;
    sp::Payload& d = dbirths[device];
    d.timestamp = now;
    d.seq = NextSeq();
    Publish(sp::FormatTopic({sp::MessageType::kDBirth, group_, edge_, device, ""}), sp::EncodePayload(d));
    device_alive_[device] = true;
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.births;
}

void EdgeNode::Tick(const Factory& factory) {
  if (!client_) return;
  const auto status = client_->status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.connected = status.state == connect::mqtt::BridgeState::kConnected;
    if (!status.last_error.empty()) stats_.last_error = status.last_error;
  }
  if (status.state != connect::mqtt::BridgeState::kConnected) return;
  if (status.connects != seen_connects_ || rebirth_.exchange(false, std::memory_order_acq_rel)) {
    seen_connects_ = status.connects;
    PublishBirths(factory);
    return;
  }
  const uint64_t now = Millis(options_.clock->Now());
  for (const std::string& device : devices_) {
    const auto& first = *std::find_if(points_.begin(), points_.end(), [&](auto& p) { return p.device == device; });
    const bool reachable = factory.Reachable(first.machine);
    bool& alive = device_alive_[device];
    if (alive && !reachable) {
      sp::Payload death;
      death.timestamp = now;
      death.seq = NextSeq();
      Publish(sp::FormatTopic({sp::MessageType::kDDeath, group_, edge_, device, ""}), sp::EncodePayload(death));
      alive = false;
      continue;
    }
    if (!alive && reachable) {  // back: a fresh DBIRTH with every metric
      sp::Payload birth;
      birth.timestamp = now;
      birth.seq = NextSeq();
      for (auto& p : points_) {
        if (p.device != device) continue;
        sp::Metric m;
        m.name = p.metric;
        m.alias = p.alias;
        m.timestamp = now;
        m.datatype = sp::DataTypeFor(p.type);
        m.value = ReadValue(factory, p.machine, p.signal, p.type);
        m.is_null = !m.value;
        p.last = m.value;
        p.last_null = m.is_null;
        birth.metrics.push_back(std::move(m));
      }
      Publish(sp::FormatTopic({sp::MessageType::kDBirth, group_, edge_, device, ""}), sp::EncodePayload(birth));
      alive = true;
      continue;
    }
    if (!alive) continue;
    sp::Payload data;
    data.timestamp = now;
    for (auto& p : points_) {
      if (p.device != device) continue;
      std::optional<core::Value> value = ReadValue(factory, p.machine, p.signal, p.type);
      const bool null = !value;
      if (null == p.last_null && (null || (p.last && p.last->IdenticalTo(*value)))) continue;
      sp::Metric m;
      m.alias = p.alias;
      m.timestamp = now;
      m.datatype = sp::DataTypeFor(p.type);
      m.is_null = null;
      m.value = value;
      p.last = m.value;
      p.last_null = null;
      data.metrics.push_back(std::move(m));
    }
    if (data.metrics.empty()) continue;
    data.seq = NextSeq();
    if (Publish(sp::FormatTopic({sp::MessageType::kDData, group_, edge_, device, ""}), sp::EncodePayload(data))) {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.data_messages;
    }
  }
}

}  // namespace shopfloor::sim
