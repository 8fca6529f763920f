// MqttCommands (mqtt_commands.h): desired values to "<asset path>/$cmd/<tag>", audited.
#include "app/mqtt_commands.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "connect/mqtt/device_auth.h"
#include "core/log.h"
#include "server/json_body.h"

namespace shopfloor::app {

using Json = nlohmann::json;

MqttCommands::MqttCommands(connect::mqtt::Broker* broker, model::AssetStore* assets, model::TwinStore* twins,
                           auth::AuditLog* audit, ingest::Bus* bus, core::Clock* clock, MqttCommandsOptions options)
    : broker_(broker), assets_(assets), twins_(twins), audit_(audit), bus_(bus), clock_(clock), options_(options) {
  worker_ = std::thread([this] { Loop(); });
}

MqttCommands::~MqttCommands() { Stop(); }

void MqttCommands::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

MqttCommandsStats MqttCommands::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void MqttCommands::OnDesired(const model::ModelEvent& event) {
  if (event.kind != "twin.desired") return;
  Json data = Json::parse(event.data_json, nullptr, false);
  if (data.is_discarded() || !data.contains("after") || !data["after"].is_object()) return;
  auto asset = assets_->FindAsset(event.asset_path);
  if (!asset.ok()) return;
  std::vector<Command> commands;
  for (auto it = data["after"].begin(); it != data["after"].end(); ++it) {
    auto tag = assets_->FindTag(event.asset_path, it.key());
    if (!tag.ok() || tag->binding) continue;  // bound tags belong to their source
    Command c;
    c.actor = event.actor;
    c.asset_path = event.asset_path;
    c.asset_id = asset->id;
    c.tag = tag->name;
    commands.push_back(std::move(c));
  }
  if (commands.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    for (Command& c : commands) queue_.push_back(std::move(c));
  }
  cv_.notify_all();
}

void MqttCommands::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (pending_.empty()) {
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    } else {
      cv_.wait_for(lock, std::chrono::nanoseconds(options_.poll), [&] { return stopping_ || !queue_.empty(); });
    }
    if (stopping_) break;
    std::deque<Command> jobs;
    jobs.swap(queue_);
    lock.unlock();
    for (Command& c : jobs) Send(std::move(c));
    CheckPending();
    lock.lock();
  }
  std::deque<Command> left;
  left.swap(queue_);
  lock.unlock();
  for (Command& c : left) {
    Record(c, "failed", "twin.write_failed", "", "not sent: Shopfloor is shutting down");
  }
  for (Command& c : pending_) {
    Record(c, "unknown", "twin.write_unknown", c.old_json, "sent, but Shopfloor stopped before the device reported it");
  }
  pending_.clear();
}

void MqttCommands::Send(Command c) {
  auto twin = twins_->Get(c.asset_id);
  if (!twin.ok() || !twin->desired.count(c.tag)) return;  // cleared or gone since: nothing to send
  c.value = twin->desired.at(c.tag).value;
  c.value_json = server::ValueToJson(c.value).dump();
  std::string old_json;
  if (auto r = twin->reported.find(c.tag); r != twin->reported.end()) {
    old_json = server::ValueToJson(r->second.value).dump();
  }
  const core::Timestamp now = clock_->Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    c.id = fmt::format("{}-{}", now / core::kMillisecond, ++next_id_);
  }
  c.old_json = old_json;
  // A newer command for the same tag replaces the one still waiting.
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->asset_id == c.asset_id && it->tag == c.tag) {
      Record(*it, "superseded", "twin.write_failed", it->old_json, fmt::format("superseded by command {}", c.id));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  const std::string topic = connect::mqtt::CommandTopic(c.asset_path, c.tag);
  const Json payload = {{"value", Json::parse(c.value_json)}, {"id", c.id}, {"ts", now / core::kMillisecond}, {"by", c.actor}};
  const size_t subscribers = broker_->CountSubscribers(topic);
  core::Status published = subscribers == 0 ? core::Status::OK() : broker_->Publish(topic, payload.dump(), 1, false);
  if (!published.ok()) {
    Record(c, "failed", "twin.write_failed", old_json, "not sent: " + published.ToString());
    return;
  }
  if (subscribers == 0) {
    Record(c, "no subscriber", "twin.write_failed", old_json,
           fmt::format("no session subscribes to {}: the device is not connected", topic));
    return;
  }
  Record(c, "sent", "twin.write_sent", old_json, fmt::format("published to {} for {} session(s)", topic, subscribers));
  c.deadline = clock_->Steady() + options_.timeout;
  pending_.push_back(std::move(c));
}

void MqttCommands::CheckPending() {
  const int64_t now = clock_->Steady();
  for (auto it = pending_.begin(); it != pending_.end();) {
    const Command& c = *it;
    auto twin = twins_->Get(c.asset_id);
    std::string_view result;
    std::string detail;
    if (!twin.ok() || !twin->desired.count(c.tag) || !(twin->desired.at(c.tag).value == c.value)) {
      result = "superseded";
      detail = "the desired value was changed or cleared before the device reported it";
    } else if (twin->reported.count(c.tag) &&
               std::find(twin->delta.begin(), twin->delta.end(), c.tag) == twin->delta.end()) {
      result = "ok";
    } else if (now >= c.deadline) {
      result = "timeout";
      detail = fmt::format("the reported value did not reach the desired value within {} ms (not resent)",
                           options_.timeout / core::kMillisecond);
    }
    if (result.empty()) {
      ++it;
      continue;
    }
    const std::string_view kind = result == "ok"        ? "twin.write_ok"
                                  : result == "timeout" ? "twin.write_timeout"
                                                        : "twin.write_failed";
    Record(c, result, kind, c.old_json, std::move(detail));
    it = pending_.erase(it);
  }
}

void MqttCommands::Record(const Command& c, std::string_view result, std::string_view event_kind,
                          std::string old_json, std::string detail) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (result == "sent") ++stats_.sent;
    if (result == "no subscriber") ++stats_.no_subscriber;
    if (result == "ok") ++stats_.ok;
    if (result == "timeout") ++stats_.timeout;
    if (result == "superseded") ++stats_.superseded;
  }
  const std::string target = c.asset_path + "/" + c.tag;
  auth::AuditEntry entry;
  entry.actor = c.actor;
  entry.action = "setpoint.write";
  entry.target = target;
  entry.old_value = old_json;
  entry.new_value = c.value_json;
  entry.result = std::string(result);
  if (audit_ != nullptr) {
    auto appended = audit_->Append(std::move(entry));
    if (!appended.ok()) {
      SF_LOG(error, "setpoint.audit_failed", "target={} error=\"{}\"", target, appended.status().ToString());
    }
  }
  if (result != "sent" && result != "ok") {
    SF_LOG(warn, "setpoint.mqtt_command", "target={} command={} result={} detail=\"{}\"", target, c.id, result, detail);
  }
  const Json value = c.value_json.empty() ? Json(nullptr) : Json::parse(c.value_json, nullptr, false);
  Json data = {{"tag", c.tag},       {"topic", connect::mqtt::CommandTopic(c.asset_path, c.tag)},
               {"command", c.id},    {"value", value},
               {"result", result},   {"error", result == "sent" || result == "ok" ? "" : detail}};
  const std::string message = fmt::format("{} = {} (MQTT command {}): {}{}{}", c.tag, value.dump(), c.id, result,
                                          detail.empty() ? "" : ": ", detail);
  if (bus_ != nullptr) {
    bus_->PublishEvent(
        ingest::Event{clock_->Now(), std::string(event_kind), c.asset_path, c.actor, message, data.dump()});
  }
}

}  // namespace shopfloor::app
