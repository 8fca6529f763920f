// The per-source state of OpcUaSources (opcua_sources.cc, opcua_setpoints.cc).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "app/opcua_sources.h"
#include "connect/opcua/client.h"
#include "connect/opcua/collector.h"

namespace shopfloor::app {

struct OpcUaSources::SetpointJob {
  std::string actor;
  std::string asset_path;
  std::string tag;
  std::string node_id;  // binding address
  core::Value value;
  bool critical = false;
};

struct OpcUaSources::Outcome {
  enum Result { kOk, kFailed, kUnknown };
  Result result = kFailed;
  std::string error;          // empty when kOk
  std::string previous_json;  // the device's value before the write ("" when not read)
};

struct OpcUaSources::Source {
  model::SourceConfig config;
  connect::opcua::CollectorOptions collector_options;  // client: endpoint, security, user
  connect::opcua::ClientOptions write_options;         // the same, with the source's timeout
  std::string setup_error;  // e.g. the password variable is unset: nothing runs
  core::Timestamp setup_error_at = 0;

  // GUARDED_BY(OpcUaSources::mu_)
  std::vector<connect::opcua::CollectorTag> tags;
  std::string tag_problems;
  std::string create_error;
  core::Timestamp create_error_at = 0;
  std::unique_ptr<connect::opcua::Collector> collector;
  bool restarting = false;
  connect::opcua::CollectorStats carried;  // totals of the collectors stopped so far
  uint64_t restarts = 0;
  std::deque<SetpointJob> queue;
  uint64_t setpoints_ok = 0;
  uint64_t setpoints_failed = 0;
  uint64_t setpoints_unknown = 0;

  std::thread setpoint_thread;
  std::unique_ptr<connect::opcua::Client> write_client;  // the setpoint thread's only
};

}  // namespace shopfloor::app
