// The per-source state of ModbusSources (modbus_sources.cc, modbus_setpoints.cc).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "app/modbus_sources.h"
#include "connect/modbus/collector.h"

namespace shopfloor::app {

struct ModbusSources::SetpointJob {
  std::string actor;
  std::string asset_path;
  std::string tag;
  std::string address;  // binding address
  core::ValueType type = core::ValueType::kDouble;
  core::Value value;
  bool critical = false;
};

struct ModbusSources::Source {
  model::SourceConfig config;

  // GUARDED_BY(ModbusSources::mu_)
  std::vector<connect::modbus::CollectorTag> tags;
  std::string tag_problems;
  std::string create_error;
  core::Timestamp create_error_at = 0;
  // Shared with the setpoint thread, which may be inside Write() while a restart stops it.
  std::shared_ptr<connect::modbus::Collector> collector;
  bool restarting = false;
  connect::modbus::CollectorStats carried;  // totals of the collectors stopped so far
  uint64_t restarts = 0;
  std::deque<SetpointJob> queue;
  uint64_t setpoints_ok = 0;
  uint64_t setpoints_failed = 0;
  uint64_t setpoints_unknown = 0;

  std::thread setpoint_thread;
};

}  // namespace shopfloor::app
