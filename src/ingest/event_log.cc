#include "ingest/event_log.h"

#include "core/log.h"
#include "meta/db.h"

namespace shopfloor::ingest {

using core::Result;
using core::Status;

Result<std::unique_ptr<EventLog>> EventLog::Open(meta::Db* db) {
  SF_RETURN_IF_ERROR(db->Migrate("events", {R"sql(
    CREATE TABLE events(
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      ts INTEGER NOT NULL,
      kind TEXT NOT NULL,
      asset TEXT NOT NULL,
      actor TEXT NOT NULL,
      message TEXT NOT NULL,
      data TEXT NOT NULL);
    CREATE INDEX events_ts ON events(ts);
    CREATE INDEX events_asset_ts ON events(asset, ts);
  )sql"}));
  return std::unique_ptr<EventLog>(new EventLog(db));
}

EventLog::~EventLog() { subscription_.Reset(); }

Status EventLog::Append(const Event& e) {
  std::lock_guard lock(mu_);
  SF_ASSIGN_OR_RETURN(meta::Statement st,
                      db_->Prepare("INSERT INTO events(ts, kind, asset, actor, message, data) VALUES(?1,?2,?3,?4,?5,?6)"));
  st.Bind(1, static_cast<int64_t>(e.ts))
      .Bind(2, e.kind)
      .Bind(3, e.asset_path)
      .Bind(4, e.actor)
      .Bind(5, e.message)
      .Bind(6, e.data_json.empty() ? std::string_view("{}") : std::string_view(e.data_json));
  return st.Run();
}

Result<std::vector<StoredEvent>> EventLog::Query(const EventQuery& q) const {
  // Subtree: the asset path itself or anything below "<path>/". LIKE is avoided (paths may
  // hold '_' and '%'); a range over the '/' prefix does it with the index.
  std::string sql = "SELECT id, ts, kind, asset, actor, message, data FROM events WHERE id > ?1 AND ts >= ?2";
  if (q.to > 0) sql += " AND ts < ?3";
  if (!q.asset.empty()) sql += " AND (asset = ?4 OR (asset >= ?5 AND asset < ?6))";
  if (!q.kind.empty()) sql += " AND substr(kind, 1, length(?7)) = ?7";
  sql += " ORDER BY id LIMIT ?8";
  SF_ASSIGN_OR_RETURN(meta::Statement st, db_->Prepare(sql));
  st.Bind(1, q.after_id).Bind(2, static_cast<int64_t>(q.from));
  if (q.to > 0) st.Bind(3, static_cast<int64_t>(q.to));
  if (!q.asset.empty()) st.Bind(4, q.asset).Bind(5, q.asset + "/").Bind(6, q.asset + "0");  // '0' follows '/'
  if (!q.kind.empty()) st.Bind(7, q.kind);
  st.Bind(8, static_cast<int64_t>(q.limit));
  std::vector<StoredEvent> out;
  while (true) {
    SF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    StoredEvent e;
    e.id = st.Int(0);
    e.event.ts = st.Int(1);
    e.event.kind = st.Text(2);
    e.event.asset_path = st.Text(3);
    e.event.actor = st.Text(4);
    e.event.message = st.Text(5);
    e.event.data_json = st.Text(6);
    out.push_back(std::move(e));
  }
  return out;
}

Result<int64_t> EventLog::Trim(core::Timestamp cutoff) {
  std::lock_guard lock(mu_);
  SF_ASSIGN_OR_RETURN(meta::Statement st, db_->Prepare("DELETE FROM events WHERE ts < ?1"));
  st.Bind(1, static_cast<int64_t>(cutoff));
  SF_RETURN_IF_ERROR(st.Run());
  return static_cast<int64_t>(db_->Changes());
}

void EventLog::Subscribe(Bus* bus) {
  subscription_ = bus->SubscribeEvents([this](const Event& e) {
    Status s = Append(e);
    if (!s.ok()) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      SF_LOG(error, "events.append_failed", "kind={} asset={} error=\"{}\"", e.kind, e.asset_path, s.ToString());
    }
  });
}

}  // namespace shopfloor::ingest
