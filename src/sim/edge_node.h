// EdgeNode: a simulated Sparkplug B edge node (Eclipse Sparkplug 3.0) publishing the
// signals that a plant config's `sparkplug` source binds, over MQTT (libmosquitto, through
// connect::mqtt::BridgeClient).
//
// Metrics. A binding address "<edge>/<device>/<metric>" is a device metric, "<edge>/<metric>"
// a node metric; the edge node id must be the same for all of a source's bindings. Each
// metric reads (machine = the tag's asset name, signal = the tag name) and is sent with the
// datatype of the tag's type (Double, Int64, Boolean, String) and an alias.
//
// Session. The will is NDEATH with this session's bdSeq. After every CONNACK (and on an
// NCMD "Node Control/Rebirth") it publishes NBIRTH (seq 0, bdSeq, Node Control/Rebirth and
// the node metrics) and one DBIRTH per device with every metric's current value, name and
// alias. Then, every Tick(), one DDATA per device with the metrics whose value changed
// (report by exception; by alias, seq incrementing mod 256). A sensor dropout is sent as a
// null metric; a device whose machine is unreachable (communication loss) gets DDEATH, and
// DBIRTH again once it is back.
//
// Commands. DCMD/NCMD metrics (by name or alias) that are writable tags are applied as
// setpoints through `apply`; the next Tick() reports the new value. Refusals are logged.
//
// Threading: Tick() from one thread (the simulator's); commands arrive on the client's
// thread and only touch `apply` and an atomic rebirth flag.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "connect/mqtt/bridge.h"
#include "model/plant_config.h"
#include "sim/factory.h"
#include "sim/modbus_server.h"  // ApplySetpoint

namespace shopfloor::sim {

struct EdgeNodeOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 1883;
  std::string username;
  std::string password;
  core::Clock* clock = nullptr;  // null: the system clock (timestamps are its Now())
};

struct EdgeNodeStats {
  uint64_t births = 0;        // NBIRTH sessions published
  uint64_t data_messages = 0; // DDATA/NDATA
  uint64_t commands = 0;      // DCMD/NCMD metrics applied
  uint64_t refused_commands = 0;
  bool connected = false;
  std::string last_error;
};

class EdgeNode {
 public:
  // InvalidArgument when the source's bindings are not Sparkplug addresses of one edge node.
  static core::Result<std::unique_ptr<EdgeNode>> Create(const model::PlantConfig& config,
                                                        const model::SourceConfig& source, EdgeNodeOptions options,
                                                        ApplySetpoint apply);
  ~EdgeNode();
  EdgeNode(const EdgeNode&) = delete;
  EdgeNode& operator=(const EdgeNode&) = delete;

  core::Status Start();
  void Stop();
  // Publishes births when due, then the changes since the last Tick.
  void Tick(const Factory& factory);
  EdgeNodeStats stats() const;
  const std::string& edge_node_id() const { return edge_; }

 private:
  struct MetricPoint {
    std::string device;  // empty: a node metric
    std::string metric;
    std::string machine;
    std::string signal;
    core::ValueType type = core::ValueType::kDouble;
    bool writable = false;
    uint64_t alias = 0;
    std::optional<core::Value> last;  // as last published; nullopt: null or never
    bool last_null = false;
  };
  EdgeNode(std::string group, std::string edge, std::vector<MetricPoint> points, EdgeNodeOptions options,
           ApplySetpoint apply);
  void OnMessage(connect::mqtt::BridgeMessage message, connect::mqtt::BridgeClient::Done done);
  void PublishBirths(const Factory& factory);
  bool Publish(const std::string& topic, const std::string& payload);
  uint64_t NextSeq() { uint64_t s = seq_; seq_ = (seq_ + 1) % 256; return s; }

  const std::string group_;
  const std::string edge_;
  std::vector<MetricPoint> points_;
  std::vector<std::string> devices_;
  const EdgeNodeOptions options_;
  const ApplySetpoint apply_;
  const uint64_t bd_seq_;
  std::unique_ptr<connect::mqtt::BridgeClient> client_;
  uint64_t seen_connects_ = 0;
  uint64_t seq_ = 0;
  std::map<std::string, bool> device_alive_;  // published DBIRTH and not DDEATH
  std::atomic<bool> rebirth_{false};
  mutable std::mutex mu_;
  EdgeNodeStats stats_;  // GUARDED_BY(mu_)
};

}  // namespace shopfloor::sim
