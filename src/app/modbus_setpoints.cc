// Setpoint writes of ModbusSources: desired twin values -> Collector::Write on the bound
// address, with the outcome in the audit trail and the event log (see modbus_sources.h).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/modbus_sources.h"
#include "app/modbus_sources_internal.h"
#include "app/setpoint_json.h"
#include "core/log.h"

namespace shopfloor::app {

namespace modbus = connect::modbus;
using Json = nlohmann::json;

void ModbusSources::OnDesired(const model::ModelEvent& event) {
  if (event.kind != "twin.desired") return;
  Json data = Json::parse(event.data_json, nullptr, false);
  if (data.is_discarded() || !data.contains("after") || !data["after"].is_object()) return;
  std::vector<std::pair<Source*, SetpointJob>> jobs;
  for (auto it = data["after"].begin(); it != data["after"].end(); ++it) {
    auto tag = assets_->FindTag(event.asset_path, it.key());
    if (!tag.ok() || !tag->writable || !tag->binding) continue;
    Source* source = nullptr;
    for (auto& s : sources_) {
      if (s->config.name == tag->binding->source) source = s.get();
    }
    if (source == nullptr) continue;  // not a Modbus source
    auto value = DesiredValueFromJson(*it, tag->type);
    if (!value) continue;  // SetDesired validated it; never guess
    jobs.push_back({source, SetpointJob{event.actor, event.asset_path, tag->name, tag->binding->address, tag->type,
                                        std::move(*value), tag->critical}});
  }
  if (jobs.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || stopping_) return;  // sources do not run (e.g. API tests): nothing to write through
    for (auto& [source, job] : jobs) source->queue.push_back(std::move(job));
  }
  cv_.notify_all();
}

void ModbusSources::SetpointLoop(Source* source) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !source->queue.empty(); });
    if (source->queue.empty()) break;  // stopping
    SetpointJob job = std::move(source->queue.front());
    source->queue.pop_front();
    const bool stopping = stopping_;
    std::shared_ptr<modbus::Collector> collector = source->collector;
    lock.unlock();
    modbus::WriteOutcome outcome;
    if (stopping) {
      outcome.error = "not sent: Shopfloor is shutting down";
    } else if (job.critical) {
      outcome.error = "not sent: a critical tag's writes need an approval, which this version cannot give";
    } else if (!collector) {
      outcome.error = "not sent: the source has no running collector";
    } else {
      outcome = collector->Write(job.address, job.value, job.type);
    }
    Record(source, job, outcome);
    lock.lock();
  }
}

void ModbusSources::Record(Source* source, const SetpointJob& job, const modbus::WriteOutcome& outcome) {
  static constexpr const char* kResult[] = {"ok", "failed", "unknown"};
  const char* result = kResult[outcome.result];
  const std::string target = job.asset_path + "/" + job.tag;
  {
    std::lock_guard<std::mutex> lock(mu_);
    (outcome.result == modbus::WriteOutcome::kOk       ? source->setpoints_ok
     : outcome.result == modbus::WriteOutcome::kFailed ? source->setpoints_failed
                                                       : source->setpoints_unknown)++;
  }
  const Json value = ValueJson(job.value);
  const std::string previous = outcome.previous ? ValueJson(*outcome.previous).dump() : "";
  auth::AuditEntry entry;
  entry.actor = job.actor;
  entry.action = "setpoint.write";
  entry.target = target;
  entry.old_value = previous;
  entry.new_value = value.dump();
  entry.result = outcome.result == modbus::WriteOutcome::kOk ? "ok" : fmt::format("{}: {}", result, outcome.error);
  if (audit_ != nullptr) {
    auto appended = audit_->Append(std::move(entry));
    if (!appended.ok()) {
      SF_LOG(error, "setpoint.audit_failed", "target={} error=\"{}\"", target, appended.status().ToString());
    }
  }
  Json data = {{"tag", job.tag},     {"source", source->config.name}, {"address", job.address},
               {"value", value},     {"result", result},               {"error", outcome.error},
               {"previous", outcome.previous ? ValueJson(*outcome.previous) : Json(nullptr)}};
  std::string message =
      outcome.result == modbus::WriteOutcome::kOk
          ? fmt::format("{} = {} written to {} and verified", job.tag, value.dump(), job.address)
          : fmt::format("{} = {} {}: {}", job.tag, value.dump(),
                        outcome.result == modbus::WriteOutcome::kFailed ? "failed" : "outcome unknown", outcome.error);
  if (outcome.result != modbus::WriteOutcome::kOk) {
    SF_LOG(warn, "setpoint.write", "target={} result={} error=\"{}\"", target, result, outcome.error);
  }
  if (bus_ != nullptr) {
    bus_->PublishEvent(ingest::Event{clock_->Now(), fmt::format("twin.write_{}", result), job.asset_path, job.actor,
                                     std::move(message), data.dump()});
  }
}

}  // namespace shopfloor::app
