// Alarm system health from the event stream. Intervals follow the rules language's
// windows: an interval ending at t holds the events with ts in (t - interval, t], so an
// event exactly one interval old has left it.
#include "rules/alarm_health.h"

#include <algorithm>
#include <climits>

namespace shopfloor::rules {

namespace {

core::Timestamp SaturatingSub(core::Timestamp t, core::Duration d) {
  core::Timestamp out = 0;
  if (__builtin_sub_overflow(t, d, &out)) return d > 0 ? INT64_MIN : INT64_MAX;
  return out;
}

// The most timestamps of `sorted` within any interval of length `interval`.
size_t PeakInInterval(const std::vector<core::Timestamp>& sorted, core::Duration interval) {
  size_t peak = 0;
  size_t first = 0;
  for (size_t last = 0; last < sorted.size(); ++last) {
    while (sorted[first] <= SaturatingSub(sorted[last], interval)) ++first;
    peak = std::max(peak, last - first + 1);
  }
  return peak;
}

bool UnderPrefix(const std::string& asset, const std::string& prefix) {
  if (asset.compare(0, prefix.size(), prefix) != 0) return false;
  return asset.size() == prefix.size() || asset[prefix.size()] == '/';
}

}  // namespace

AlarmHealth::AlarmHealth(AlarmHealthOptions options) : options_(std::move(options)) {
  for (const OperatorPosition& position : options_.positions) position_names_.push_back(position.name);
  position_names_.push_back(options_.positions.empty() ? "all" : "unassigned");
}

size_t AlarmHealth::Intern(const std::string& alarm_id) {
  auto it = alarm_index_.find(alarm_id);
  if (it != alarm_index_.end()) return it->second;
  alarm_ids_.push_back(alarm_id);
  alarm_index_.emplace(alarm_id, alarm_ids_.size() - 1);
  return alarm_ids_.size() - 1;
}

size_t AlarmHealth::PositionOf(const std::string& asset) {
  for (size_t i = 0; i < options_.positions.size(); ++i) {
    for (const std::string& prefix : options_.positions[i].asset_prefixes) {
      if (UnderPrefix(asset, prefix)) return i;
    }
  }
  return position_names_.size() - 1;
}

void AlarmHealth::Record(const AlarmEvent& event) {
  // Standing alarms: active since the event that made them active; out of service ends it.
  if (event.to == AlarmState::kOutOfService || !event.active) {
    standing_.erase(event.alarm_id);
  } else if (standing_.find(event.alarm_id) == standing_.end()) {
    standing_.emplace(event.alarm_id, Standing{event.asset, event.ts});
  }
  Entry entry;
  entry.ts = event.ts;
  entry.annunciation = event.to == AlarmState::kUnackActive && event.from != AlarmState::kUnackActive;
  entry.activation = event.cause == AlarmCause::kProcess && event.active;
  if (!entry.annunciation && !entry.activation) return;
  entry.alarm = Intern(event.alarm_id);
  entry.position = PositionOf(event.asset);
  entries_.push_back(entry);
  latest_ = std::max(latest_, event.ts);
  // Keep the window plus one interval before it (a flood or a chatter burst that began
  // before the window still counts at its start).
  const core::Duration keep = options_.window + std::max(options_.flood_interval, options_.chatter_interval);
  const core::Timestamp horizon = SaturatingSub(latest_, keep);
  while (!entries_.empty() && entries_.front().ts <= horizon) entries_.pop_front();
  while (entries_.size() > options_.max_events) {
    dropped_until_ = std::max(dropped_until_, entries_.front().ts);
    entries_.pop_front();
  }
}

AlarmHealthReport AlarmHealth::Report(core::Timestamp now) const {
  AlarmHealthReport report;
  report.to = now;
  report.from = SaturatingSub(now, options_.window);
  report.truncated = dropped_until_ > report.from;
  const size_t positions = position_names_.size();
  std::vector<std::vector<core::Timestamp>> annunciations(positions);  // window only
  std::vector<std::vector<core::Timestamp>> flood_input(positions);    // plus one interval
  std::vector<std::vector<core::Timestamp>> activations(alarm_ids_.size());
  std::vector<size_t> per_alarm(alarm_ids_.size(), 0);
  const core::Timestamp flood_from = SaturatingSub(report.from, options_.flood_interval);
  for (const Entry& e : entries_) {
    if (e.ts > now) continue;
    const bool in_window = e.ts > report.from;
    if (e.annunciation && e.ts > flood_from) flood_input[e.position].push_back(e.ts);
    if (!in_window) continue;
    if (e.annunciation) {
      annunciations[e.position].push_back(e.ts);
      ++per_alarm[e.alarm];
      ++report.annunciated;
    }
    if (e.activation) activations[e.alarm].push_back(e.ts);
  }

  const double intervals = static_cast<double>(options_.window) / static_cast<double>(options_.rate_interval);
  for (size_t p = 0; p < positions; ++p) {
    std::vector<core::Timestamp>& times = annunciations[p];
    std::sort(times.begin(), times.end());
    if (p + 1 == positions && !options_.positions.empty() && times.empty()) continue;  // no unassigned alarms
    report.positions.push_back(PositionLoad{position_names_[p], times.size(),
                                            static_cast<double>(times.size()) / intervals,
                                            PeakInInterval(times, options_.rate_interval)});

    // Floods: walk arrivals and departures (an annunciation leaves one interval later).
    std::vector<core::Timestamp>& arrivals = flood_input[p];
    std::sort(arrivals.begin(), arrivals.end());
    std::deque<core::Timestamp> open;
    std::optional<FloodPeriod> flood;
    auto depart_until = [&](core::Timestamp t) {
      while (!open.empty() && open.front() <= SaturatingSub(t, options_.flood_interval)) {
        const core::Timestamp leave = open.front() + options_.flood_interval;
        open.pop_front();
        if (flood && open.size() < options_.flood_end) {
          flood->end = leave;
          if (leave > report.from) report.floods.push_back(*flood);
          flood.reset();
        }
      }
    };
    for (core::Timestamp t : arrivals) {
      depart_until(t);
      open.push_back(t);
      if (flood) {
        ++flood->count;
      } else if (open.size() > options_.flood_start) {
        flood = FloodPeriod{position_names_[p], t, std::nullopt, open.size()};
      }
    }
    depart_until(now);
    if (flood) report.floods.push_back(*flood);
  }
  std::sort(report.floods.begin(), report.floods.end(),
            [](const FloodPeriod& a, const FloodPeriod& b) { return a.start < b.start; });

  for (size_t a = 0; a < alarm_ids_.size(); ++a) {
    std::vector<core::Timestamp>& times = activations[a];
    std::sort(times.begin(), times.end());
    const size_t peak = PeakInInterval(times, options_.chatter_interval);
    if (peak >= options_.chatter_count) report.chattering.push_back(ChatteringAlarm{alarm_ids_[a], times.size(), peak});
    if (per_alarm[a] > 0) {
      report.bad_actors.push_back(
          BadActor{alarm_ids_[a], per_alarm[a], static_cast<double>(per_alarm[a]) / static_cast<double>(report.annunciated)});
    }
  }
  std::sort(report.chattering.begin(), report.chattering.end(), [](const ChatteringAlarm& x, const ChatteringAlarm& y) {
    return x.max_in_interval != y.max_in_interval ? x.max_in_interval > y.max_in_interval : x.alarm_id < y.alarm_id;
  });
  std::sort(report.bad_actors.begin(), report.bad_actors.end(), [](const BadActor& x, const BadActor& y) {
    return x.annunciations != y.annunciations ? x.annunciations > y.annunciations : x.alarm_id < y.alarm_id;
  });
  if (report.bad_actors.size() > options_.top_n) report.bad_actors.resize(options_.top_n);

  for (const auto& [id, standing] : standing_) {
    core::Duration age = 0;
    if (__builtin_sub_overflow(now, standing.since, &age)) age = standing.since < now ? INT64_MAX : 0;
    if (age > options_.stale_after) report.stale.push_back(StaleAlarm{id, standing.asset, standing.since, age});
  }
  std::sort(report.stale.begin(), report.stale.end(), [](const StaleAlarm& x, const StaleAlarm& y) {
    return x.active_since != y.active_since ? x.active_since < y.active_since : x.alarm_id < y.alarm_id;
  });
  return report;
}

}  // namespace shopfloor::rules
