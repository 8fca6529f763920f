// EventLog: where events are kept (alarm transitions, twin desired changes, model changes,
// later machine states and KPIs): an append-only table in the metadata database, indexed
// by time and asset path, queried by asset subtree, kind prefix and time range. Subscribe()
// stores every event published on a Bus.
//
// Retention: events older than max_age are deleted by Trim(), which Subscribe()'s owner
// calls periodically (the serve command does it hourly).
//
// Thread safety: thread-safe; appends are serialized.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "core/core.h"
#include "ingest/bus.h"

namespace shopfloor::meta {
class Db;
}

namespace shopfloor::ingest {

struct StoredEvent {
  int64_t id = 0;
  Event event;
};

struct EventQuery {
  core::Timestamp from = 0;
  core::Timestamp to = 0;  // 0: no upper bound
  std::string asset;       // subtree: the asset itself and everything under it; "" = all
  std::string kind;        // prefix; "" = all
  int64_t after_id = 0;    // paging
  size_t limit = 1000;
};

class EventLog {
 public:
  static core::Result<std::unique_ptr<EventLog>> Open(meta::Db* db);
  ~EventLog();

  core::Status Append(const Event& event);
  // Oldest first.
  core::Result<std::vector<StoredEvent>> Query(const EventQuery& query) const;
  // Deletes events with ts < cutoff; returns how many.
  core::Result<int64_t> Trim(core::Timestamp cutoff);

  // Stores every event published on `bus` from now on (until the log is destroyed).
  void Subscribe(Bus* bus);
  uint64_t append_failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  explicit EventLog(meta::Db* db) : db_(db) {}
  meta::Db* db_;
  std::mutex mu_;
  Bus::Subscription subscription_;
  std::atomic<uint64_t> failures_{0};
};

}  // namespace shopfloor::ingest
