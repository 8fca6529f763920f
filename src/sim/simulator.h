// Simulator: runs a Factory in real or accelerated time and serves it over the protocols
// a plant config names, as a real plant would be wired (docs/simulator.md):
//  - one ModbusServer per `modbus` source, on the source's endpoint (or an override);
//  - one EdgeNode per `sparkplug` source, publishing to an MQTT broker (ConnectMqtt);
//  - LinePush (ConnectHttp): vibration waveform bursts as the series
//    "<machine asset path>/vibration_waveform" (one double per sample, nanosecond
//    timestamps at the burst's sample rate) and the ground truth of every bearing as
//    "sim/<machine>/bearing_health", ".../bearing_rul_h" and ".../bearing_end_of_life"
//    (ms since the epoch) every simulated minute, and events as "sim/<machine>/event".
//
// Time. The step thread wakes every `tick`, advances the factory to
// start + (elapsed wall time) * speed, refreshes the Modbus images and ticks the edge nodes.
// If the factory cannot keep up (it is more than a second of wall time behind), it logs
// sim.behind once per minute with the lag. Protocol values carry wall-clock timestamps (a
// plant's clocks run in real time); at speed 1 simulated time is wall time.
//
// Thread safety: public methods are thread-safe; With() runs a function on the Factory
// under the simulator's lock.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "model/plant_config.h"
#include "sim/edge_node.h"
#include "sim/factory.h"
#include "sim/line_push.h"
#include "sim/modbus_server.h"

namespace shopfloor::sim {

struct SimulatorOptions {
  FactoryOptions factory;  // factory.start 0: the clock's Now()
  double speed = 1.0;      // simulated seconds per wall second
  core::Duration tick = 100 * core::kMillisecond;
  core::Duration publish_interval = core::kSecond;  // Sparkplug DDATA
  // Modbus listen address per source name ("host:port"); a source not listed listens on its
  // config endpoint. Port 0 picks a free one (see modbus_endpoints()).
  std::map<std::string, std::string> modbus_listen;
};

struct SimulatorStatus {
  core::Timestamp sim_time = 0;
  core::Duration lag = 0;  // wall time the factory is behind
  uint64_t bursts = 0;
  uint64_t bursts_skipped = 0;  // at high speed, bursts that would overlap the previous one
  std::vector<std::pair<std::string, ModbusServerStats>> modbus;
  std::vector<std::pair<std::string, EdgeNodeStats>> edge_nodes;
  LinePushStats push;
};

class Simulator {
 public:
  // Builds the factory (or continues `factory`, e.g. one a backfill advanced to now) and
  // starts the Modbus servers and the step thread.
  static core::Result<std::unique_ptr<Simulator>> Start(const model::PlantConfig& config, SimulatorOptions options,
                                                        core::Clock* clock, std::unique_ptr<Factory> factory = nullptr);
  ~Simulator();  // Stop()
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Starts an edge node per sparkplug source, publishing to host:port (empty host: each
  // source's endpoint) with these credentials.
  core::Status ConnectMqtt(const std::string& host, uint16_t port, const std::string& username,
                           const std::string& password);
  // Pushes bursts, ground truth and events to Shopfloor's HTTP ingest.
  void ConnectHttp(const std::string& host, uint16_t port, const std::string& token);
  void Stop();

  // "host:port" each Modbus source listens on, by source name.
  std::map<std::string, std::string> modbus_endpoints() const;
  SimulatorStatus status() const;
  void With(const std::function<void(Factory&)>& fn);
  core::Status Write(const std::string& machine, const std::string& signal, const core::Value& value);

 private:
  Simulator(const model::PlantConfig& config, SimulatorOptions options, core::Clock* clock);
  void Run();
  void Step();  // REQUIRES: mu_ held
  void PushOutputs(core::Timestamp wall_now);  // REQUIRES: mu_ held

  const model::PlantConfig config_;
  const SimulatorOptions options_;
  core::Clock* const clock_;
  std::map<std::string, std::string> machine_paths_;  // machine name -> asset path
  mutable std::mutex mu_;
  std::unique_ptr<Factory> factory_;  // GUARDED_BY(mu_)
  core::Timestamp sim_start_ = 0;
  int64_t steady_start_ = 0;
  core::Duration lag_ = 0;                        // GUARDED_BY(mu_)
  core::Timestamp next_truth_ = 0;                // GUARDED_BY(mu_), simulated time
  std::map<std::string, core::Timestamp> burst_end_;  // GUARDED_BY(mu_), wall ns per machine
  std::map<std::string, core::Timestamp> last_event_;  // GUARDED_BY(mu_), wall ns per machine
  uint64_t bursts_ = 0, bursts_skipped_ = 0;      // GUARDED_BY(mu_)
  int64_t last_publish_ = 0;                      // steady ns
  int64_t last_behind_log_ = 0;                   // steady ns
  std::vector<std::unique_ptr<ModbusServer>> modbus_;
  std::vector<std::unique_ptr<EdgeNode>> edges_;  // GUARDED_BY(mu_) while running
  std::unique_ptr<LinePush> push_;                // GUARDED_BY(mu_)
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace shopfloor::sim
