#include "server/live_hub.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "server/http_types.h"
#include "server/live_protocol.h"
#include "storage/storage.h"

namespace shopfloor::server {

namespace {

void AppendKeyList(std::string_view field, const std::vector<std::string>& keys, std::string* out) {
  out->append(",\"");
  out->append(field);
  out->append("\":[");
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i) out->push_back(',');
    AppendJsonString(keys[i], out);
  }
  out->push_back(']');
}

}  // namespace

LiveHub::Session::Session(LiveHub* hub, std::weak_ptr<Sink> sink, AccessPredicate can_access)
    : hub_(hub), sink_(std::move(sink)), can_access_(std::move(can_access)) {}

LiveHub::Session::~Session() { hub_->Close(this); }

std::vector<std::string> LiveHub::Session::Handle(std::string_view text) {
  core::Result<LiveRequest> request = ParseLiveRequest(text);
  if (!request.ok()) return {LiveErrorMessage("", request.status().message())};
  if (request->op == LiveRequest::Op::kUnsubscribe) return hub_->Unsubscribe(this, request->id);
  return hub_->Subscribe(this, request->id, request->series, request->asset);
}

bool LiveHub::Session::TakeUpdate(std::string* message) {
  std::unordered_map<uint64_t, Pending> pending;
  uint64_t missed = 0;
  uint64_t limited = 0;
  uint64_t seq = 0;
  {
    std::lock_guard lock(hub_->mu_);
    woken_ = false;
    if (pending_.empty()) return false;
    pending.swap(pending_);
    missed = std::exchange(missed_, 0);
    limited = std::exchange(limited_, 0);
    seq = ++seq_;
  }
  message->clear();
  message->reserve(pending.size() * 96 + 64);
  fmt::format_to(std::back_inserter(*message), "{{\"type\":\"update\",\"seq\":{},\"samples\":[", seq);
  bool first = true;
  for (const auto& [series, entry] : pending) {
    if (!first) message->push_back(',');
    first = false;
    AppendLiveSample(*entry.key, entry.sample, message);
  }
  fmt::format_to(std::back_inserter(*message), "],\"missed\":{}", missed);
  if (limited > 0) {
    fmt::format_to(std::back_inserter(*message), ",\"not_subscribed_over_limit\":{}", limited);
  }
  message->push_back('}');
  hub_->updates_sent_.fetch_add(1, std::memory_order_relaxed);
  hub_->samples_sent_.fetch_add(pending.size(), std::memory_order_relaxed);
  return true;
}

size_t LiveHub::Session::subscribed_series() const {
  std::lock_guard lock(hub_->mu_);
  return refs_.size();
}

LiveHub::LiveHub(storage::Storage* storage, ingest::Bus* bus, Options options)
    : storage_(storage), options_(options) {
  bus_subscription_ = bus->SubscribeSamples([this](const core::SampleBatch& batch) { OnSamples(batch); });
}

LiveHub::~LiveHub() { bus_subscription_.Reset(); }

std::unique_ptr<LiveHub::Session> LiveHub::Open(std::weak_ptr<Sink> sink, AccessPredicate can_access) {
  std::unique_ptr<Session> session(new Session(this, std::move(sink), std::move(can_access)));
  std::lock_guard lock(mu_);
  sessions_.insert(session.get());
  clients_.fetch_add(1, std::memory_order_relaxed);
  return session;
}

void LiveHub::Close(Session* session) {
  std::lock_guard lock(mu_);
  for (auto& [id, sub] : session->subscriptions_) RemoveLocked(session, &sub);
  session->subscriptions_.clear();
  sessions_.erase(session);
  clients_.fetch_sub(1, std::memory_order_relaxed);
  active_.store(!routes_.empty() || subtree_subscriptions_ > 0, std::memory_order_relaxed);
}

void LiveHub::OnSamples(const core::SampleBatch& batch) {
  if (!active_.load(std::memory_order_relaxed)) return;
  std::vector<std::shared_ptr<Sink>> wake;
  {
    std::lock_guard lock(mu_);
    for (const core::SampleBatch::Entry& entry : batch.entries) {
      const uint64_t series = core::ToU64(entry.series);
      if (subtree_subscriptions_ > 0 && !classified_.contains(series)) ClassifyLocked(series);
      auto route = routes_.find(series);
      if (route == routes_.end()) continue;
      for (Session* session : route->second.sessions) {
        auto [it, inserted] = session->pending_.try_emplace(series);
        Session::Pending& pending = it->second;
        if (inserted) {
          pending.key = route->second.key;
          pending.sample = core::Sample{entry.ts, entry.value, entry.quality};
        } else {
          // Coalesce: keep the newest by timestamp (what Latest() reports); the other one
          // is missed by this client.
          ++session->missed_;
          samples_missed_.fetch_add(1, std::memory_order_relaxed);
          if (entry.ts >= pending.sample.ts) pending.sample = core::Sample{entry.ts, entry.value, entry.quality};
        }
        if (!session->woken_) {
          session->woken_ = true;
          if (std::shared_ptr<Sink> sink = session->sink_.lock()) wake.push_back(std::move(sink));
        }
      }
    }
  }
  for (const std::shared_ptr<Sink>& sink : wake) sink->OnPending();
}

void LiveHub::ClassifyLocked(uint64_t series) {
  classified_.insert(series);
  core::Result<storage::SeriesInfo> info = storage_->GetSeries(core::SeriesId{series});
  if (!info.ok()) return;
  for (Session* session : sessions_) {
    for (auto& [id, sub] : session->subscriptions_) {
      if (sub.asset_prefix.empty() || !info->key.starts_with(sub.asset_prefix)) continue;
      if (!session->can_access_(info->key)) continue;
      if (!AddLocked(session, &sub, series, info->key)) ++session->limited_;
    }
  }
}

bool LiveHub::AddLocked(Session* session, Session::Subscription* sub, uint64_t series, const std::string& key) {
  if (sub->series.contains(series)) return true;
  auto ref = session->refs_.find(series);
  if (ref == session->refs_.end()) {
    if (session->refs_.size() >= options_.max_series_per_session) return false;
    ref = session->refs_.emplace(series, 0).first;
    Route& route = routes_[series];
    if (!route.key) route.key = std::make_shared<const std::string>(key);
    route.sessions.push_back(session);
  }
  ++ref->second;
  sub->series.insert(series);
  active_.store(true, std::memory_order_relaxed);
  return true;
}

void LiveHub::RemoveLocked(Session* session, Session::Subscription* sub) {
  for (uint64_t series : sub->series) {
    auto ref = session->refs_.find(series);
    if (ref == session->refs_.end() || --ref->second > 0) continue;
    session->refs_.erase(ref);
    session->pending_.erase(series);
    auto route = routes_.find(series);
    if (route == routes_.end()) continue;
    std::vector<Session*>& sessions = route->second.sessions;
    sessions.erase(std::remove(sessions.begin(), sessions.end(), session), sessions.end());
    if (sessions.empty()) routes_.erase(route);
  }
  sub->series.clear();
  if (!sub->asset_prefix.empty()) --subtree_subscriptions_;
}

std::vector<std::string> LiveHub::Subscribe(Session* session, const std::string& id,
                                            const std::vector<std::string>& keys, const std::string& asset) {
  {
    std::lock_guard lock(mu_);
    if (session->subscriptions_.contains(id)) {
      return {LiveErrorMessage(id, fmt::format("field \"id\": subscription \"{}\" already exists", id))};
    }
  }
  std::vector<std::string> unknown;
  std::vector<std::string> forbidden;
  std::vector<Resolved> selected;
  size_t limited = 0;
  if (!asset.empty()) {
    // Register the subtree first, so a series created from now on is routed by
    // ClassifyLocked; MatchSeries then finds every series that existed before.
    const std::string prefix = asset + "/";
    // A site or anything below it is checked as a whole; an enterprise-level subtree is
    // filtered series by series.
    if (asset.find('/') != std::string::npos && !session->can_access_(prefix)) {
      return {LiveErrorMessage(id, fmt::format("field \"asset\": access to \"{}\" is forbidden", asset))};
    }
    {
      std::lock_guard lock(mu_);
      session->subscriptions_[id].asset_prefix = prefix;
      ++subtree_subscriptions_;
      active_.store(true, std::memory_order_relaxed);
    }
    std::vector<storage::SeriesInfo> matched = storage_->MatchSeries(prefix + "**");
    // The predicate may consult the asset model: run it before taking the lock.
    std::erase_if(matched, [&](storage::SeriesInfo& info) {
      if (!info.key.starts_with(prefix)) return true;
      if (session->can_access_(info.key)) return false;
      forbidden.push_back(std::move(info.key));
      return true;
    });
    std::lock_guard lock(mu_);
    Session::Subscription& sub = session->subscriptions_[id];
    for (const storage::SeriesInfo& info : matched) {
      if (!AddLocked(session, &sub, core::ToU64(info.id), info.key)) ++limited;
    }
    // The snapshot covers everything selected so far, including series classified while
    // MatchSeries ran.
    for (uint64_t series : sub.series) selected.push_back(Resolved{series, *routes_.at(series).key});
  } else {
    std::vector<Resolved> found;
    for (const std::string& key : keys) {
      core::Result<storage::SeriesInfo> info = storage_->FindSeries(key);
      if (!info.ok()) {
        unknown.push_back(key);
      } else if (!session->can_access_(key)) {
        forbidden.push_back(key);
      } else {
        found.push_back(Resolved{core::ToU64(info->id), key});
      }
    }
    std::lock_guard lock(mu_);
    size_t added = 0;
    for (const Resolved& r : found) added += session->refs_.contains(r.id) ? 0 : 1;
    if (session->refs_.size() + added > options_.max_series_per_session) {
      return {LiveErrorMessage(id, fmt::format("field \"series\": the session would exceed {} subscribed series",
                                               options_.max_series_per_session))};
    }
    Session::Subscription& sub = session->subscriptions_[id];
    for (Resolved& r : found) {
      if (sub.series.contains(r.id)) continue;
      if (!AddLocked(session, &sub, r.id, r.key)) continue;  // unreachable: capacity checked above
      selected.push_back(std::move(r));
    }
  }
  std::vector<std::string> out;
  std::string ack = "{\"type\":\"ack\",\"id\":";
  AppendJsonString(id, &ack);
  fmt::format_to(std::back_inserter(ack), ",\"op\":\"subscribe\",\"series\":{}", selected.size());
  AppendKeyList("unknown", unknown, &ack);
  AppendKeyList("forbidden", forbidden, &ack);
  if (limited > 0) {
    fmt::format_to(std::back_inserter(ack), ",\"not_subscribed_over_limit\":{},\"limit\":{}", limited,
                   options_.max_series_per_session);
  }
  ack.push_back('}');
  out.push_back(std::move(ack));
  std::vector<std::string> snapshot = Snapshot(id, selected);
  for (std::string& message : snapshot) out.push_back(std::move(message));
  return out;
}

std::vector<std::string> LiveHub::Unsubscribe(Session* session, const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = session->subscriptions_.find(id);
  if (it == session->subscriptions_.end()) {
    return {LiveErrorMessage(id, fmt::format("field \"id\": no subscription \"{}\"", id))};
  }
  RemoveLocked(session, &it->second);
  session->subscriptions_.erase(it);
  active_.store(!routes_.empty() || subtree_subscriptions_ > 0, std::memory_order_relaxed);
  std::string ack = "{\"type\":\"ack\",\"id\":";
  AppendJsonString(id, &ack);
  ack.append(",\"op\":\"unsubscribe\"}");
  return {std::move(ack)};
}

std::vector<std::string> LiveHub::Snapshot(const std::string& id, const std::vector<Resolved>& series) const {
  std::vector<std::string> out;
  const size_t chunk = std::max<size_t>(1, options_.snapshot_chunk);
  std::vector<core::SeriesId> ids;
  size_t begin = 0;
  do {
    const size_t end = std::min(series.size(), begin + chunk);
    ids.clear();
    for (size_t i = begin; i < end; ++i) ids.push_back(core::SeriesId{series[i].id});
    std::vector<std::optional<core::Sample>> latest = storage_->Latest(ids);
    std::string message = "{\"type\":\"snapshot\",\"id\":";
    AppendJsonString(id, &message);
    message.append(",\"samples\":[");
    bool first = true;
    for (size_t i = 0; i < latest.size(); ++i) {
      if (!latest[i]) continue;
      if (!first) message.push_back(',');
      first = false;
      AppendLiveSample(series[begin + i].key, *latest[i], &message);
    }
    message.append("]}");
    out.push_back(std::move(message));
    begin = end;
  } while (begin < series.size());
  return out;
}

}  // namespace shopfloor::server
