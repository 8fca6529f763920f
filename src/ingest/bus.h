// Bus: the in-process fan-out of durable samples and events to whoever watches them (digital
// twins, WebSocket live subscriptions, rules, alarms, cluster forwarding).
//
// Delivery is synchronous on the publisher's thread, in publish order per publisher, after
// the samples are durable (Writer publishes only what storage accepted). Handlers must be
// short and must never block: a consumer that needs more work queues it, bounded, and
// coalesces or drops with a count (see server/live_hub.h for the pattern). A handler may not
// subscribe or unsubscribe from inside a callback.
//
// Events are series too: alarm transitions, twin desired changes, model changes and machine
// state changes travel as Events here and are stored by the EventLog (events.h).
//
// Thread safety: all methods are thread-safe. Publishing takes no lock (subscriber lists are
// copy-on-write snapshots); subscribing is rare and takes a mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/core.h"

namespace shopfloor::ingest {

// Something that happened at an asset (never a plain reading).
struct Event {
  core::Timestamp ts = 0;
  std::string kind;        // dotted, e.g. "twin.desired", "asset.updated", "alarm.raised"
  std::string asset_path;  // the asset it concerns ("" for plant-wide events)
  std::string actor;       // user, device or rule that caused it ("" for the system)
  std::string message;     // one human line
  std::string data_json;   // details as a JSON object text ("{}" when none)
};

class Bus {
 public:
  using SampleHandler = std::function<void(const core::SampleBatch&)>;
  using EventHandler = std::function<void(const Event&)>;

  // Unsubscribes when destroyed (waits for nothing: a callback already running on another
  // thread may finish after the destructor returns, so owners destroy the Subscription
  // before the state its handler touches, and publishers stop first at shutdown).
  class Subscription {
   public:
    Subscription() = default;
    Subscription(Subscription&& other) noexcept : bus_(other.bus_), id_(other.id_) { other.bus_ = nullptr; }
    Subscription& operator=(Subscription&& other) noexcept;
    ~Subscription() { Reset(); }
    void Reset();

   private:
    friend class Bus;
    Subscription(Bus* bus, uint64_t id) : bus_(bus), id_(id) {}
    Bus* bus_ = nullptr;
    uint64_t id_ = 0;
  };

  Bus();
  ~Bus();

  [[nodiscard]] Subscription SubscribeSamples(SampleHandler handler);
  [[nodiscard]] Subscription SubscribeEvents(EventHandler handler);

  void PublishSamples(const core::SampleBatch& batch) const;
  void PublishEvent(const Event& event) const;

  uint64_t samples_published() const { return samples_published_.load(std::memory_order_relaxed); }
  uint64_t events_published() const { return events_published_.load(std::memory_order_relaxed); }

 private:
  struct Subscriber {
    uint64_t id;
    SampleHandler on_samples;  // one of the two is set
    EventHandler on_event;
  };
  using List = std::vector<Subscriber>;

  void Unsubscribe(uint64_t id);
  uint64_t Add(Subscriber subscriber);

  std::mutex mu_;  // serializes writers of subscribers_
  std::shared_ptr<const List> subscribers_;  // read with std::atomic_load
  uint64_t next_id_ = 1;                     // GUARDED_BY(mu_)
  mutable std::atomic<uint64_t> samples_published_{0};
  mutable std::atomic<uint64_t> events_published_{0};
};

}  // namespace shopfloor::ingest
