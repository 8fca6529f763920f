// Shopfloor as the Sparkplug B primary host application on its own MQTT endpoint.
//
// SparkplugHooks sits in front of the broker's other hooks (telemetry, users). PUBLISHes on
// "spBv1.0/<group>/..." of a configured group go to one worker thread, which decodes them,
// runs the Host state machine (host.h) and then:
//   - writes the values of bound metrics through ingest::Writer (one group commit per
//     drained batch) before completing the PUBLISH, so a QoS 1 PUBACK means stored;
//   - births: a metric whose address ("<edge>/<device>/<metric>") no tag is bound to
//     becomes a tag (name from the metric, type from its datatype, unit from engUnit,
//     bound to the source): on the asset of the device's other bound tags, else on a
//     machine named after the device (or node) under the source's provision_path; without
//     either it is counted as unmapped and listed in the status. A bound tag whose unit is
//     empty takes the birth's engUnit; a datatype that does not fit the tag's type is
//     reported (series types never change);
//   - deaths mark the node's or device's tags stale (BadNoCommunication) in the twins,
//     keeping the last values;
//   - a rebirth request is published as NCMD "Node Control/Rebirth" through `publish`.
// Attach() publishes the host's STATE {"online": true} (retained, QoS 1) on
// "spBv1.0/STATE/<host_id>"; Detach() publishes {"online": false} before the broker stops.
// Commands: SendCommand() turns a desired value into a DCMD (device metric) or NCMD (node
// metric) with the metric's name and the tag's datatype.
//
// Security: NCMD, DCMD and STATE come from Shopfloor only: a client publishing them is
// denied (counted). N/D BIRTH, DATA and DEATH need `may_publish` (operator role or above).
//
// Thread safety: thread-safe. Construct, Attach(), then start the broker; stop the broker,
// Detach(), then destroy (queued messages are completed with Server unavailable).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "connect/mqtt/broker.h"
#include "connect/sparkplug/host.h"
#include "core/core.h"

namespace shopfloor::ingest {
class Writer;
}
namespace shopfloor::model {
class AssetStore;
class TwinStore;
}  // namespace shopfloor::model

namespace shopfloor::connect::sparkplug {

struct SparkplugSource {
  std::string name;            // the plant config source; tags bind to it
  std::string group_id;
  std::string provision_path;  // asset under which unknown devices become machines; "" = none
};

struct SparkplugOptions {
  std::string host_id = "shopfloor";
  std::vector<SparkplugSource> sources;
  HostOptions host;
  // Who may publish births, data and deaths (null: everybody).
  std::function<bool(const mqtt::ClientView&)> may_publish;
  size_t max_messages_per_write = 4096;
};

struct SparkplugStats {
  uint64_t messages = 0;          // accepted Sparkplug PUBLISHes
  uint64_t samples = 0;           // stored
  uint64_t births = 0, deaths = 0;
  uint64_t rebirths_requested = 0;
  uint64_t decode_errors = 0;     // payloads that are not Sparkplug B
  uint64_t skipped_metrics = 0;   // unsupported, null, unknown alias, unmapped
  uint64_t provisioned_tags = 0;
  uint64_t denied = 0;            // publishes refused by the rules above
  uint64_t write_failures = 0;
  uint64_t commands_sent = 0;
  std::vector<std::string> unmapped;  // addresses without a tag (first 100)
  std::string last_problem;
};

// What a SendCommand needs to know about a tag's binding.
struct CommandTarget {
  std::string source;
  std::string address;  // "<edge>/<device>/<metric>" or "<edge>/<metric>"
  core::Value value;
};

class SparkplugHooks : public mqtt::BrokerHooks {
 public:
  using PublishFn = std::function<core::Status(std::string topic, std::string payload, uint8_t qos, bool retain)>;

  // None is owned; all must outlive the hooks. `next` (may be null: allow all) handles
  // every other topic and authentication.
  SparkplugHooks(model::AssetStore* assets, model::TwinStore* twins, ingest::Writer* writer, core::Clock* clock,
                 SparkplugOptions options, mqtt::BrokerHooks* next);
  ~SparkplugHooks() override;

  // Sets the outbound path (Broker::Publish) and announces the host online.
  void Attach(PublishFn publish);
  // Announces the host offline; nothing is published afterwards.
  void Detach();

  mqtt::Reason Authenticate(const mqtt::Connect& connect, std::string_view remote, std::string* principal) override;
  bool AuthorizePublish(const mqtt::ClientView& client, std::string_view topic) override;
  bool AuthorizeSubscribe(const mqtt::ClientView& client, std::string_view filter) override;
  void OnPublish(const mqtt::ClientView& client, const mqtt::Publish& publish,
                 std::function<void(mqtt::Reason)> done) override;

  // Edge nodes on another broker, read by an MQTT client (app/sparkplug_host.h): AddRemote
  // registers how to publish to that broker and returns its id; OnRemote hands in one of
  // its messages, handled like a local PUBLISH. Rebirth requests and commands go to a node
  // by the way its last message came.
  int AddRemote(PublishFn publish);
  void OnRemote(int remote, std::string topic, std::string payload, std::function<void(mqtt::Reason)> done);

  // Sends `target.value` to the metric as a DCMD/NCMD. Unavailable when the node or
  // device is offline, NotFound for an unknown source. Returns the topic it went to.
  core::Result<std::string> SendCommand(const CommandTarget& target);

  SparkplugStats stats() const;
  std::vector<NodeStatus> nodes() const;
  const SparkplugOptions& options() const { return options_; }

 private:
  struct Pending {
    int via = 0;  // 0: Shopfloor's broker; else an AddRemote id
    std::string topic;
    std::string payload;
    core::Timestamp received = 0;
    std::function<void(mqtt::Reason)> done;
  };
  struct Bound {
    core::SeriesId series{};
    core::ValueType type = core::ValueType::kDouble;
    int64_t asset_id = 0;
    std::string tag;
    std::string unit;
  };
  using BindingMap = std::map<std::string, Bound, std::less<>>;  // address -> tag

  const SparkplugSource* SourceOfGroup(std::string_view group) const;
  const SparkplugSource* SourceForTopic(std::string_view topic) const;
  void Run();
  void Process(std::vector<Pending>* batch);
  BindingMap& Bindings(const SparkplugSource& source);
  void Provision(const SparkplugSource& source, const std::vector<BirthMetric>& births);
  void MarkStale(const SparkplugSource& source, const std::vector<std::string>& prefixes);
  void Note(const std::string& problem);

  model::AssetStore* const assets_;
  model::TwinStore* const twins_;
  ingest::Writer* const writer_;
  core::Clock* const clock_;
  const SparkplugOptions options_;
  mqtt::BrokerHooks* const next_;
  mqtt::BrokerHooks default_next_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  PublishFn publish_;  // GUARDED_BY(mu_)
  std::vector<PublishFn> remotes_;  // GUARDED_BY(mu_); id = index + 1
  std::map<std::pair<std::string, std::string>, int> via_;  // (group, edge node) -> its way in; GUARDED_BY(mu_)
  // Publishes to a node's broker. REQUIRES: mu_ held.
  core::Status PublishVia(int via, std::string topic, std::string payload, uint8_t qos, bool retain);
  SparkplugStats stats_;
  Host host_;          // GUARDED_BY(mu_): the worker handles, SendCommand reads
  // Worker thread only: bindings per source, rebuilt when the model version changes.
  std::map<std::string, BindingMap, std::less<>> bindings_;
  uint64_t bindings_version_ = ~uint64_t{0};
  std::thread worker_;
};

}  // namespace shopfloor::connect::sparkplug
