// MqttCommands: desired twin values down to JSON MQTT devices, on the command topic
// "<asset path>/$cmd/<tag>" (docs/mqtt.md).
//
// OnDesired() (the TwinStore listener, event "twin.desired") queues one command per desired
// tag without a source binding (writable tags may have none since mqtt-devices): such a tag
// is fed by MQTT telemetry, so the device that
// publishes it is the one to apply it (bound tags belong to their source: OPC UA writes,
// Sparkplug DCMD). One worker thread publishes, at QoS 1 and not retained (a device that
// connects later must not apply a stale setpoint; it reads the desired state when it wants
// it), through Broker::Publish:
//   {"value": <desired>, "id": "<command id>", "ts": <ms since the epoch>, "by": "<user>"}
// The command id is "<ms>-<n>", unique within the server's life and across restarts.
//
// Outcome, like OPC UA setpoints (opcua_sources.h): audit entries (action "setpoint.write",
// actor = the user who set the desired value, target "<asset path>/<tag>", old = the
// reported value before, new = the desired value) and events:
//   result "sent"           a session subscribed to the topic got it  -> event twin.write_sent
//   result "no subscriber"  nobody subscribes to it: final            -> twin.write_failed
// then, for a sent command, one of
//   result "ok"             the reported value converged (the tag left the twin's delta)
//                           within `timeout`                          -> twin.write_ok
//   result "timeout"        it did not (the device may or may not have applied it; not
//                           resent)                                   -> twin.write_timeout
//   result "superseded"     the desired value changed or was cleared before -> twin.write_failed
// Stopping records queued commands as "failed" (not sent) and sent ones as "unknown"
// (twin.write_unknown).
// Convergence is checked on the twin every `poll` while commands are pending; the timeout
// runs on Clock::Steady().
//
// Thread safety: thread-safe. The Broker, AssetStore, TwinStore, AuditLog, Bus and Clock
// must outlive this object; Stop() (or the destructor) records what is queued as not sent.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/audit.h"
#include "connect/mqtt/broker.h"
#include "ingest/bus.h"
#include "model/asset_store.h"
#include "model/twin.h"

namespace shopfloor::app {

struct MqttCommandsOptions {
  core::Duration timeout = 10 * core::kSecond;
  core::Duration poll = 100 * core::kMillisecond;  // real time between convergence checks
};

struct MqttCommandsStats {
  uint64_t sent = 0, no_subscriber = 0, ok = 0, timeout = 0, superseded = 0;
};

class MqttCommands {
 public:
  MqttCommands(connect::mqtt::Broker* broker, model::AssetStore* assets, model::TwinStore* twins,
               auth::AuditLog* audit, ingest::Bus* bus, core::Clock* clock, MqttCommandsOptions options = {});
  ~MqttCommands();
  MqttCommands(const MqttCommands&) = delete;
  MqttCommands& operator=(const MqttCommands&) = delete;

  void OnDesired(const model::ModelEvent& event);
  void Stop();  // idempotent
  MqttCommandsStats stats() const;

 private:
  struct Command {
    std::string actor, asset_path, tag, id;
    int64_t asset_id = 0;
    std::string value_json;  // the desired value as JSON
    std::string old_json;    // the reported value when it was sent
    core::Value value;
    int64_t deadline = 0;  // Clock::Steady()
  };
  void Loop();
  void Send(Command command);
  void CheckPending();  // outcome of sent commands
  void Record(const Command& c, std::string_view result, std::string_view event_kind, std::string old_json,
              std::string detail);

  connect::mqtt::Broker* const broker_;
  model::AssetStore* const assets_;
  model::TwinStore* const twins_;
  auth::AuditLog* const audit_;
  ingest::Bus* const bus_;
  core::Clock* const clock_;
  const MqttCommandsOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Command> queue_;    // GUARDED_BY(mu_)
  bool stopping_ = false;        // GUARDED_BY(mu_)
  MqttCommandsStats stats_;      // GUARDED_BY(mu_)
  uint64_t next_id_ = 0;         // GUARDED_BY(mu_)
  std::vector<Command> pending_;  // worker thread only
  std::thread worker_;
};

}  // namespace shopfloor::app
