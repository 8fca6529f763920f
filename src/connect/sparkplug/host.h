// The Sparkplug B primary host application's view of its edge nodes and devices: births,
// aliases, sequence numbers, deaths and rebirth requests. Transport-free: Handle() is
// given one decoded message and returns what it means (values, births, stale tags, a
// rebirth to request); the caller (ingest.h) writes, models and publishes.
//
// Addresses name a metric independently of aliases: "<edge node>/<metric>" for a node's
// metric and "<edge node>/<device>/<metric>" for a device's, e.g.
// "bottling-edge/filler/FillVolume" (the tag binding address in the plant config).
//
// Rules (Sparkplug 3.0, host application):
//   NBIRTH   seq 0 and a bdSeq metric; the node and its aliases are (re)learnt, every device
//            of the node is offline until its DBIRTH; values are current values.
//   DBIRTH   the device's aliases are (re)learnt; values are current values.
//   N/DDATA  metrics by alias (or name); seq must follow the previous message of the node
//            (0..255, wrapping). A gap, an unknown alias, data of a node or device without a
//            birth: a rebirth is requested (NCMD "Node Control/Rebirth"), at most once per
//            `rebirth_interval` per node. Data whose metrics are known is kept despite a gap.
//   NDEATH   with the bdSeq of the current birth (or none): the node and its devices are
//            offline, their tags stale. A death with another bdSeq belongs to an older
//            session and is ignored.
//   DDEATH   the device is offline, its tags stale.
// Timestamps: the metric's, else the payload's, else the time of receipt. Quality: the
// metric's "Quality" property (192 good, 500 uncertain/last usable, else bad), else good.
// Metrics "bdSeq" and "Node Control/..." are protocol, not process values: not reported.
//
// Thread safety: not thread-safe; one thread calls Handle().
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "connect/sparkplug/payload.h"
#include "core/core.h"

namespace shopfloor::connect::sparkplug {

struct HostOptions {
  core::Duration rebirth_interval = 5 * core::kSecond;
};

struct MetricUpdate {
  std::string address;
  core::Value value;
  core::Timestamp ts = 0;
  core::Quality quality = core::Quality::Good();
};

struct BirthMetric {
  std::string address;
  std::string name;  // the metric name
  DataType datatype = DataType::kUnknown;
  std::string unit;
};

struct HostResult {
  std::vector<MetricUpdate> updates;
  std::vector<BirthMetric> births;  // from NBIRTH/DBIRTH, scalar metrics only
  // Address prefixes whose tags go stale: "<edge>/" (node death: node and devices) or
  // "<edge>/<device>/" (device death).
  std::vector<std::string> stale;
  core::Timestamp stale_at = 0;
  bool rebirth = false;             // publish RebirthCommand() to the node now
  std::string problem;              // why the message was (partly) not used; "" if fine
  uint64_t skipped_metrics = 0;     // unsupported datatype, null, unknown alias
};

struct NodeStatus {
  std::string group_id, edge_node_id;
  bool online = false;
  uint64_t bd_seq = 0;
  std::vector<std::string> devices_online;
  uint64_t births = 0, deaths = 0, seq_gaps = 0, rebirths_requested = 0;
  core::Timestamp last_message = 0;
};

class Host {
 public:
  explicit Host(HostOptions options = {}) : options_(options) {}

  // `received` stamps metrics without a timestamp and rate-limits rebirths.
  HostResult Handle(const Topic& topic, const Payload& payload, core::Timestamp received);

  std::vector<NodeStatus> Nodes() const;
  // True when the device (or node, with an empty device) has a current birth.
  bool Online(const std::string& group_id, const std::string& edge_node_id, const std::string& device_id) const;

  // The datatype the node or device declared for `metric` in its current birth.
  std::optional<DataType> MetricType(const std::string& group_id, const std::string& edge_node_id,
                                     const std::string& device_id, const std::string& metric) const;

  // The NCMD payload asking a node to publish its births again.
  static std::string RebirthCommand(uint64_t timestamp_ms);

 private:
  struct Aliases {
    std::map<uint64_t, std::string> names;  // alias -> metric name
    std::map<std::string, DataType, std::less<>> types;  // metric name -> datatype (from the birth)
  };
  struct Node {
    NodeStatus status;
    bool born = false;
    std::optional<uint64_t> bd_seq;
    uint64_t next_seq = 0;
    Aliases aliases;
    std::map<std::string, Aliases> devices;  // born devices
    core::Timestamp last_rebirth = 0;
    bool rebirth_requested = false;
  };

  void Birth(Node& node, const std::string& prefix, const Payload& payload, core::Timestamp received,
             Aliases* aliases, HostResult* out);
  void Data(const std::string& prefix, const Payload& payload, core::Timestamp received, const Aliases& aliases,
            HostResult* out);
  bool CheckSeq(Node& node, const Payload& payload, HostResult* out);
  void RequestRebirth(Node& node, core::Timestamp now, std::string why, HostResult* out);

  HostOptions options_;
  std::map<std::pair<std::string, std::string>, Node> nodes_;  // (group, edge node)
};

}  // namespace shopfloor::connect::sparkplug
