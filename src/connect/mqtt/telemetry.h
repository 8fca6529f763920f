// Telemetry on the plant's unified namespace: MQTT PUBLISHes under the enterprise's name,
// into series (and so into twins, live views and rules, through the Writer's bus).
//
// Topics follow the asset tree: "<asset path>/<tag>", e.g.
// "acme/plant/body-shop/line-1/press-1/temperature", or "<asset path>" for a batch.
// Payloads are JSON (docs/mqtt.md):
//   21.5 | 7 | true | "text"                     one value, stamped with the time of receipt
//   {"value": 21.5, "ts": ..., "quality": ...}   one value; "ts" is milliseconds since the
//                                                epoch (a number) or an RFC 3339 string;
//                                                "quality" is "good", "uncertain", "bad" or
//                                                an OPC UA StatusCode number
//   {"temperature": 21.5, "speed": {"value": 3}, "ts": ...}
//                                                an object without "value": a batch for the
//                                                asset the topic names, one member per tag;
//                                                a top-level "ts" applies to members without
//                                                their own
//
// A message on a path the model does not have creates the missing assets and the tag (type
// from the value) when the publisher may provision; otherwise it is refused (Not
// authorized) and counted. Values are converted to the tag's type only where no
// information is lost (an integer into a double tag, a whole number into an int64 tag);
// anything else refuses the whole message (Payload format invalid) naming the member.
//
// TelemetryHooks makes each accepted message durable before its PUBACK/PUBREC: one worker
// thread drains the queue of pending PUBLISHes, turns them into one SampleBatch and writes
// it through ingest::Writer (one group commit for many messages), then completes each.
// Topics outside the enterprise, and topics with a level starting with '$' (the command
// topics "<asset path>/$cmd/<tag>"), are routed as they are, without ingestion.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "connect/mqtt/broker.h"
#include "core/core.h"

namespace shopfloor::ingest {
class Writer;
}
namespace shopfloor::model {
class AssetStore;
}

namespace shopfloor::connect::mqtt {

struct TelemetryPoint {
  std::string tag;
  core::Value value;
  core::Timestamp ts = 0;
  core::Quality quality = core::Quality::Good();
};

struct TelemetryMessage {
  std::string asset_path;
  std::vector<TelemetryPoint> points;
};

// Parses one PUBLISH (see the header comment). `now` stamps values without a "ts".
// InvalidArgument names what is wrong (the topic, the member, the JSON).
core::Result<TelemetryMessage> ParseTelemetry(std::string_view topic, std::string_view payload, core::Timestamp now);

struct TelemetryOptions {
  // Whether the client may create assets and tags the model does not have yet. Null:
  // nobody may.
  std::function<bool(const ClientView&)> may_provision;
  size_t max_messages_per_write = 4096;
};

struct TelemetryStats {
  uint64_t messages = 0;        // telemetry PUBLISHes received
  uint64_t samples = 0;         // made durable
  uint64_t writes = 0;          // Writer::Write calls (each a group commit)
  uint64_t refused_unknown = 0; // path not in the model, publisher may not provision
  uint64_t refused_invalid = 0; // payload or type errors
  uint64_t write_failures = 0;  // messages storage refused (full disk: Quota exceeded)
  uint64_t provisioned_tags = 0;
  std::string last_error;
};

class TelemetryHooks : public BrokerHooks {
 public:
  // `auth` (may be null: allow all) answers Authenticate and the Authorize* calls. None is
  // owned; all must outlive the hooks. Order of shutdown: Broker::Stop(), then destroy the
  // hooks (messages still queued are answered Server unavailable, which a stopped broker
  // drops), then the Broker.
  TelemetryHooks(model::AssetStore* assets, ingest::Writer* writer, core::Clock* clock, TelemetryOptions options,
                 BrokerHooks* auth = nullptr);
  ~TelemetryHooks() override;  // completes what is queued with Server unavailable

  Reason Authenticate(const Connect& connect, std::string_view remote, std::string* principal) override;
  bool AuthorizePublish(const ClientView& client, std::string_view topic) override;
  bool AuthorizeSubscribe(const ClientView& client, std::string_view filter) override;
  void OnPublish(const ClientView& client, const Publish& publish, std::function<void(Reason)> done) override;

  TelemetryStats stats() const;

 private:
  struct Pending {
    std::string topic;
    std::string payload;
    std::string actor;  // principal, else client id
    bool may_provision = false;
    core::Timestamp received = 0;
    std::function<void(Reason)> done;
  };
  struct Resolved {
    core::SeriesId series{};
    core::ValueType type = core::ValueType::kDouble;
  };
  void Run();
  void Process(std::vector<Pending>* batch);
  // The series of a tag, creating what is missing when allowed. Sets *reason on failure.
  core::Result<Resolved> Resolve(const Pending& p, std::string_view asset_path, const TelemetryPoint& point,
                                 Reason* reason);
  bool IsTelemetryTopic(std::string_view topic);

  model::AssetStore* const assets_;
  ingest::Writer* const writer_;
  core::Clock* const clock_;
  const TelemetryOptions options_;
  BrokerHooks* const auth_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  TelemetryStats stats_;
  // "<asset>/<tag>" -> series, valid for one model version (a rename or retype clears it).
  // Worker thread only.
  std::map<std::string, Resolved, std::less<>> cache_;
  uint64_t cache_version_ = 0;
  std::thread worker_;
};

}  // namespace shopfloor::connect::mqtt
