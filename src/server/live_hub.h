// LiveHub: fans durable samples from the ingest bus out to WebSocket live subscriptions
// (/api/v1/live; the message protocol is in live_protocol.h).
//
// One hub subscribes to the bus once and keeps every client session. A session selects
// series by key or by asset subtree (including series created later under the asset) and
// receives, right after subscribing, the latest value of each selected series, then
// batched updates.
//
// Coalescing and back-pressure: per session the hub keeps a map series -> newest pending
// sample, so its memory is bounded by the number of subscribed series (capped by
// Options::max_series_per_session), never by the write rate. A sample replaced before it
// was sent is counted and reported as "missed" in the next update. The bus callback only
// updates those maps under one short lock and wakes the session's Sink when the session
// goes from nothing pending to something pending; it never blocks on a client.
//
// Access: each session carries a predicate over series keys (built by the server from the
// principal's sites). Series it rejects are reported as "forbidden" in the ack, never
// delivered; unknown keys are reported as "unknown".
//
// Thread safety: the hub is thread-safe. One Session is driven by one caller at a time
// (the transport's strand): Handle() and TakeUpdate() must not run concurrently for the
// same session. Sessions must be destroyed before the hub.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/core.h"
#include "ingest/bus.h"

namespace shopfloor::storage {
class Storage;
}

namespace shopfloor::server {

// The transport flushes a woken session this long after the wake-up, so one update carries
// every sample written in that window (writes reach subscribers within ~10-20 ms).
inline constexpr int64_t kLiveFlushDelayMs = 10;

class LiveHub {
 public:
  struct Options {
    // Distinct series one session may subscribe to (bounds its pending map).
    size_t max_series_per_session = 100'000;
    // Samples per snapshot message (a large subtree snapshot is split).
    size_t snapshot_chunk = 5'000;
  };

  // True when the session may see the series with this key. Must not call into the hub.
  // Subscribe runs it without the hub's lock; for a series first seen under a subtree
  // subscription it runs once, with the lock held, on the publisher's thread.
  using AccessPredicate = std::function<bool(std::string_view series_key)>;

  // The transport side of one session.
  class Sink {
   public:
    virtual ~Sink() = default;
    // The session went from nothing pending to something pending. Called on a publisher's
    // thread with no hub lock held; must not block (post a flush and return). The
    // transport later calls Session::TakeUpdate() until it returns false.
    virtual void OnPending() = 0;
  };

  class Session {
   public:
    ~Session();  // unsubscribes everything
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Handles one client message; returns the messages to send, in order: an ack and the
    // snapshot chunks, or one error message naming the bad field or series.
    std::vector<std::string> Handle(std::string_view text);
    // Moves the pending samples into one update message. False when nothing is pending.
    bool TakeUpdate(std::string* message);

    size_t subscribed_series() const;

   private:
    friend class LiveHub;
    struct Subscription {
      std::string asset_prefix;  // "<asset>/" for subtree subscriptions, else ""
      std::unordered_set<uint64_t> series;
    };
    struct Pending {
      std::shared_ptr<const std::string> key;
      core::Sample sample;
    };
    Session(LiveHub* hub, std::weak_ptr<Sink> sink, AccessPredicate can_access);

    LiveHub* const hub_;
    const std::weak_ptr<Sink> sink_;
    const AccessPredicate can_access_;
    // All GUARDED_BY(hub_->mu_):
    std::unordered_map<std::string, Subscription> subscriptions_;  // by client id
    std::unordered_map<uint64_t, uint32_t> refs_;  // series -> subscriptions selecting it
    std::unordered_map<uint64_t, Pending> pending_;
    uint64_t missed_ = 0;
    uint64_t limited_ = 0;  // later series of a subtree not added: the session is full
    uint64_t seq_ = 0;
    bool woken_ = false;  // OnPending sent and no TakeUpdate since
  };

  // Neither is owned; both must outlive the hub. Subscribes to the bus.
  LiveHub(storage::Storage* storage, ingest::Bus* bus, Options options);
  LiveHub(storage::Storage* storage, ingest::Bus* bus) : LiveHub(storage, bus, Options{}) {}
  ~LiveHub();

  std::unique_ptr<Session> Open(std::weak_ptr<Sink> sink, AccessPredicate can_access);

  // Metrics (relaxed reads).
  uint64_t clients() const { return clients_.load(std::memory_order_relaxed); }
  uint64_t updates_sent() const { return updates_sent_.load(std::memory_order_relaxed); }
  uint64_t samples_sent() const { return samples_sent_.load(std::memory_order_relaxed); }
  uint64_t samples_missed() const { return samples_missed_.load(std::memory_order_relaxed); }

 private:
  struct Route {
    std::shared_ptr<const std::string> key;
    std::vector<Session*> sessions;
  };
  struct Resolved {
    uint64_t id;
    std::string key;
  };

  void OnSamples(const core::SampleBatch& batch);
  std::vector<std::string> Subscribe(Session* session, const std::string& id, const std::vector<std::string>& keys,
                                     const std::string& asset);
  std::vector<std::string> Unsubscribe(Session* session, const std::string& id);
  // Adds `series` to subscription `sub` of `session`; false when the session is full.
  bool AddLocked(Session* session, Session::Subscription* sub, uint64_t series, const std::string& key);
  void RemoveLocked(Session* session, Session::Subscription* sub);
  // A series id the hub has not seen: route it to every subtree subscription covering it.
  void ClassifyLocked(uint64_t series);
  std::vector<std::string> Snapshot(const std::string& id, const std::vector<Resolved>& series) const;
  void Close(Session* session);

  storage::Storage* const storage_;
  const Options options_;
  std::mutex mu_;
  std::unordered_map<uint64_t, Route> routes_;     // GUARDED_BY(mu_)
  std::unordered_set<Session*> sessions_;          // GUARDED_BY(mu_)
  std::unordered_set<uint64_t> classified_;        // GUARDED_BY(mu_)
  size_t subtree_subscriptions_ = 0;               // GUARDED_BY(mu_)
  std::atomic<bool> active_{false};  // any route or subtree subscription: the bus path is live
  std::atomic<uint64_t> clients_{0};
  std::atomic<uint64_t> updates_sent_{0};
  std::atomic<uint64_t> samples_sent_{0};
  std::atomic<uint64_t> samples_missed_{0};
  ingest::Bus::Subscription bus_subscription_;  // last: unsubscribed first
};

}  // namespace shopfloor::server
