// Alarm system health (ISA-18.2 section 16 / EEMUA 191 style metrics), computed from the
// AlarmEvent stream over a sliding window: annunciated alarms per 10 minutes per operator
// position, flood periods, chattering alarms, stale (standing) alarms and the bad actors.
//
//   rules::AlarmHealth health;                 // ISA-18.2 default thresholds
//   for (const AlarmEvent& e : alarms.DrainEvents()) health.Record(e);
//   rules::AlarmHealthReport r = health.Report(now);
//
// What counts (docs/alarms.md):
//   annunciation  an event that enters UNACK_ACT from another state (what an operator sees)
//   activation    a process event with active = true, annunciated or not (shelved and
//                 suppressed alarms chatter too)
// Events are expected in (roughly) time order, as AlarmSet emits them; memory is bounded by
// the events of the window plus one flood/chatter interval, and by max_events.
//
// Thread safety: one thread at a time.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rules/alarm.h"

namespace shopfloor::rules {

// The alarms an operator console handles: the assets under any of the prefixes.
struct OperatorPosition {
  std::string name;
  std::vector<std::string> asset_prefixes;  // asset paths; a prefix covers its subtree
};

struct AlarmHealthOptions {
  core::Duration window = 24 * core::kHour;  // the report covers (now - window, now]
  core::Duration rate_interval = 10 * core::kMinute;
  // A flood starts when more than flood_start annunciations fall within flood_interval and
  // ends when fewer than flood_end remain in the trailing interval.
  size_t flood_start = 10;
  size_t flood_end = 5;
  core::Duration flood_interval = 10 * core::kMinute;
  // Chattering: chatter_count or more activations of one alarm within chatter_interval.
  size_t chatter_count = 3;
  core::Duration chatter_interval = core::kMinute;
  core::Duration stale_after = 24 * core::kHour;  // active for longer than this
  size_t top_n = 10;
  // Empty: one position "all". Alarms outside every position count for "unassigned".
  std::vector<OperatorPosition> positions;
  size_t max_events = 1'000'000;  // beyond: the oldest are dropped, report.truncated
};

struct PositionLoad {
  std::string name;
  size_t annunciated = 0;
  double average_per_interval = 0;  // annunciated / (window / rate_interval)
  size_t peak_per_interval = 0;     // most annunciations in any rate_interval of the window
};

struct FloodPeriod {
  std::string position;
  core::Timestamp start = 0;               // the annunciation that made it a flood
  std::optional<core::Timestamp> end;      // empty while the flood goes on
  size_t count = 0;                        // annunciations in the flood, its first interval included
};

struct ChatteringAlarm {
  std::string alarm_id;
  size_t activations = 0;       // in the window
  size_t max_in_interval = 0;   // most activations within chatter_interval
};

struct StaleAlarm {
  std::string alarm_id;
  std::string asset;
  core::Timestamp active_since = 0;
  core::Duration age = 0;
};

struct BadActor {
  std::string alarm_id;
  size_t annunciations = 0;
  double share = 0;  // of all annunciations in the window
};

struct AlarmHealthReport {
  core::Timestamp from = 0;  // exclusive
  core::Timestamp to = 0;    // inclusive
  size_t annunciated = 0;
  std::vector<PositionLoad> positions;
  std::vector<FloodPeriod> floods;          // that overlap the window, oldest first
  std::vector<ChatteringAlarm> chattering;  // by max_in_interval, then id
  std::vector<StaleAlarm> stale;            // oldest first
  std::vector<BadActor> bad_actors;         // most annunciations first, then id; top_n
  bool truncated = false;                   // max_events dropped events of the window
};

class AlarmHealth {
 public:
  explicit AlarmHealth(AlarmHealthOptions options = {});

  void Record(const AlarmEvent& event);
  AlarmHealthReport Report(core::Timestamp now) const;

 private:
  struct Entry {
    core::Timestamp ts = 0;
    size_t alarm = 0;     // index into alarm_ids_
    size_t position = 0;  // index into position_names_
    bool annunciation = false;
    bool activation = false;
  };
  struct Standing {
    std::string asset;
    core::Timestamp since = 0;
  };

  size_t Intern(const std::string& alarm_id);
  size_t PositionOf(const std::string& asset);

  AlarmHealthOptions options_;
  std::vector<std::string> position_names_;
  std::vector<std::string> alarm_ids_;
  std::map<std::string, size_t, std::less<>> alarm_index_;
  std::deque<Entry> entries_;
  std::map<std::string, Standing, std::less<>> standing_;  // alarms active now
  core::Timestamp latest_ = INT64_MIN;
  core::Timestamp dropped_until_ = INT64_MIN;  // max_events dropped entries up to here
};

}  // namespace shopfloor::rules
