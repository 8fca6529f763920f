// Sparkplug B host application state (see host.h).
#include "connect/sparkplug/host.h"

#include <limits>

#include <fmt/format.h>

namespace shopfloor::connect::sparkplug {

namespace {

constexpr std::string_view kBdSeq = "bdSeq";
constexpr std::string_view kNodeControl = "Node Control/";

bool IsProtocolMetric(const std::string& name) {
  return name == kBdSeq || name.starts_with(kNodeControl);
}

core::Quality QualityOf(const Metric& m) {
  if (!m.quality || *m.quality == 192) return core::Quality::Good();
  if (*m.quality == 500) return core::Quality::UncertainLastUsableValue();
  return core::Quality::Bad();
}

// Milliseconds since the epoch that fit a Timestamp (nanoseconds, until the year 2262).
constexpr uint64_t kMaxMs = static_cast<uint64_t>(std::numeric_limits<core::Timestamp>::max() / core::kMillisecond);

core::Timestamp StampOf(const Metric& m, const Payload& p, core::Timestamp received) {
  // A timestamp past what a Timestamp holds is not a time: the next one in line is used.
  if (m.timestamp && *m.timestamp <= kMaxMs) return static_cast<core::Timestamp>(*m.timestamp) * core::kMillisecond;
  if (p.timestamp && *p.timestamp <= kMaxMs) return static_cast<core::Timestamp>(*p.timestamp) * core::kMillisecond;
  return received;
}

void AddProblem(HostResult* out, const std::string& what) {
  if (!out->problem.empty()) out->problem += "; ";
  out->problem += what;
}

}  // namespace

std::string Host::RebirthCommand(uint64_t timestamp_ms) {
  Payload p;
  p.timestamp = timestamp_ms;
  Metric m;
  m.name = "Node Control/Rebirth";
  m.timestamp = timestamp_ms;
  m.datatype = DataType::kBoolean;
  m.value = core::Value(true);
  p.metrics.push_back(std::move(m));
  return EncodePayload(p);
}

void Host::RequestRebirth(Node& node, core::Timestamp now, std::string why, HostResult* out) {
  AddProblem(out, why);
  if (node.rebirth_requested && now - node.last_rebirth < options_.rebirth_interval) return;
  node.rebirth_requested = true;
  node.last_rebirth = now;
  node.status.rebirths_requested++;
  out->rebirth = true;
}

bool Host::CheckSeq(Node& node, const Payload& payload, HostResult* out) {
  if (!payload.seq) {
    AddProblem(out, "no seq");
    return false;
  }
  const uint64_t seq = *payload.seq;
  const bool in_order = seq == node.next_seq;
  if (!in_order) {
    node.status.seq_gaps++;
    AddProblem(out, fmt::format("seq {} where {} was expected", seq, node.next_seq));
  }
  node.next_seq = (seq + 1) % 256;
  return in_order;
}

void Host::Birth(Node& node, const std::string& prefix, const Payload& payload, core::Timestamp received,
                 Aliases* aliases, HostResult* out) {
  aliases->names.clear();
  aliases->types.clear();
  for (const Metric& m : payload.metrics) {
    if (!m.name) {
      out->skipped_metrics++;
      AddProblem(out, "a birth metric without a name");
      continue;
    }
    if (m.alias) aliases->names[*m.alias] = *m.name;
    aliases->types[*m.name] = m.datatype;
    if (IsProtocolMetric(*m.name)) continue;
    if (!m.supported) {
      out->skipped_metrics++;
      continue;
    }
    out->births.push_back(BirthMetric{prefix + *m.name, *m.name, m.datatype, m.unit});
    if (m.value) {
      out->updates.push_back(MetricUpdate{prefix + *m.name, *m.value, StampOf(m, payload, received), QualityOf(m)});
    } else {
      out->skipped_metrics++;
    }
  }
  (void)node;
}

void Host::Data(const std::string& prefix, const Payload& payload, core::Timestamp received, const Aliases& aliases,
                HostResult* out) {
  for (const Metric& m : payload.metrics) {
    const std::string* name = m.name ? &*m.name : nullptr;
    if (name == nullptr && m.alias) {
      auto it = aliases.names.find(*m.alias);
      if (it != aliases.names.end()) name = &it->second;
    }
    if (name == nullptr) {
      out->skipped_metrics++;
      AddProblem(out, fmt::format("unknown alias {}", m.alias.value_or(0)));
      continue;
    }
    if (IsProtocolMetric(*name)) continue;
    if (!m.supported || !m.value) {
      out->skipped_metrics++;
      continue;
    }
    out->updates.push_back(MetricUpdate{prefix + *name, *m.value, StampOf(m, payload, received), QualityOf(m)});
  }
}

HostResult Host::Handle(const Topic& topic, const Payload& payload, core::Timestamp received) {
  HostResult out;
  if (topic.type == MessageType::kState || topic.type == MessageType::kNCmd || topic.type == MessageType::kDCmd) {
    return out;  // commands and STATE go to the nodes and hosts, not to us
  }
  Node& node = nodes_[{topic.group_id, topic.edge_node_id}];
  node.status.group_id = topic.group_id;
  node.status.edge_node_id = topic.edge_node_id;
  node.status.last_message = received;
  const std::string node_prefix = topic.edge_node_id + "/";
  const std::string device_prefix = node_prefix + topic.device_id + "/";

  switch (topic.type) {
    case MessageType::kNBirth: {
      node.born = true;
      node.rebirth_requested = false;
      node.status.online = true;
      node.status.births++;
      node.bd_seq.reset();
      for (const Metric& m : payload.metrics) {
        if (m.name && *m.name == kBdSeq && m.value && m.value->is_int()) node.bd_seq = m.value->as_int();
      }
      if (!node.bd_seq) AddProblem(&out, "NBIRTH without a bdSeq metric");
      node.status.bd_seq = node.bd_seq.value_or(0);
      if (payload.seq && *payload.seq != 0) AddProblem(&out, fmt::format("NBIRTH with seq {} (must be 0)", *payload.seq));
      node.next_seq = (payload.seq.value_or(0) + 1) % 256;
      node.devices.clear();
      Birth(node, node_prefix, payload, received, &node.aliases, &out);
      break;
    }
    case MessageType::kNDeath: {
      std::optional<uint64_t> bd;
      for (const Metric& m : payload.metrics) {
        if (m.name && *m.name == kBdSeq && m.value && m.value->is_int()) bd = m.value->as_int();
      }
      if (!node.born || (bd && node.bd_seq && *bd != *node.bd_seq)) {
        AddProblem(&out, fmt::format("NDEATH with bdSeq {} of an earlier session (current {}): ignored",
                                     bd.value_or(0), node.bd_seq.value_or(0)));
        break;
      }
      node.born = false;
      node.status.online = false;
      node.status.deaths++;
      node.devices.clear();
      out.stale.push_back(node_prefix);
      out.stale_at = received;
      break;
    }
    case MessageType::kDBirth:
    case MessageType::kDData:
    case MessageType::kDDeath:
    case MessageType::kNData: {
      if (!node.born) {
        RequestRebirth(node, received, fmt::format("{} from edge node {} before its NBIRTH", MessageTypeName(topic.type),
                                                   topic.edge_node_id),
                       &out);
        break;
      }
      if (!CheckSeq(node, payload, &out)) RequestRebirth(node, received, "sequence gap", &out);
      if (topic.type == MessageType::kNData) {
        Data(node_prefix, payload, received, node.aliases, &out);
      } else if (topic.type == MessageType::kDBirth) {
        Birth(node, device_prefix, payload, received, &node.devices[topic.device_id], &out);
        node.status.births++;
      } else if (topic.type == MessageType::kDDeath) {
        node.devices.erase(topic.device_id);
        node.status.deaths++;
        out.stale.push_back(device_prefix);
        out.stale_at = received;
      } else {
        auto it = node.devices.find(topic.device_id);
        if (it == node.devices.end()) {
          RequestRebirth(node, received, fmt::format("DDATA from device {} before its DBIRTH", topic.device_id), &out);
          break;
        }
        Data(device_prefix, payload, received, it->second, &out);
      }
      if (out.skipped_metrics > 0 && out.problem.find("unknown alias") != std::string::npos) {
        RequestRebirth(node, received, "unknown alias", &out);
      }
      break;
    }
    default:
      break;
  }
  node.status.devices_online.clear();
  for (const auto& [id, aliases] : node.devices) node.status.devices_online.push_back(id);
  return out;
}

std::vector<NodeStatus> Host::Nodes() const {
  std::vector<NodeStatus> out;
  for (const auto& [key, node] : nodes_) out.push_back(node.status);
  return out;
}

bool Host::Online(const std::string& group_id, const std::string& edge_node_id, const std::string& device_id) const {
  auto it = nodes_.find({group_id, edge_node_id});
  if (it == nodes_.end() || !it->second.born) return false;
  return device_id.empty() || it->second.devices.count(device_id) > 0;
}

std::optional<DataType> Host::MetricType(const std::string& group_id, const std::string& edge_node_id,
                                        const std::string& device_id, const std::string& metric) const {
  auto it = nodes_.find({group_id, edge_node_id});
  if (it == nodes_.end() || !it->second.born) return std::nullopt;
  const Aliases* aliases = &it->second.aliases;
  if (!device_id.empty()) {
    auto d = it->second.devices.find(device_id);
    if (d == it->second.devices.end()) return std::nullopt;
    aliases = &d->second;
  }
  auto t = aliases->types.find(metric);
  if (t == aliases->types.end()) return std::nullopt;
  return t->second;
}

}  // namespace shopfloor::connect::sparkplug
