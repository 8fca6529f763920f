// Setpoint writes of OpcUaSources: desired twin values -> Client::WriteVerified on the
// bound node, with the outcome in the audit trail and the event log (see opcua_sources.h).
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/opcua_sources.h"
#include "app/opcua_sources_internal.h"
#include "app/setpoint_json.h"
#include "core/log.h"

namespace shopfloor::app {

namespace opcua = connect::opcua;
using Json = nlohmann::json;

namespace {

Json VariantJson(const opcua::Variant& v) {
  if (v.is_array) return v.ToString();
  return std::visit(
      [&v](const auto& s) -> Json {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string>) {
          return s;
        } else if constexpr (std::is_floating_point_v<T>) {
          return std::isfinite(s) ? Json(static_cast<double>(s)) : Json(v.ToString());
        } else if constexpr (std::is_integral_v<T>) {
          return s;
        } else {
          return v.ToString();
        }
      },
      v.scalar);
}

template <typename T>
core::Result<opcua::Variant> IntegerAs(const core::Value& v, std::string_view type_name) {
  double d = 0;
  int64_t i = 0;
  if (v.is_int()) {
    i = v.as_int();
  } else if (v.ToNumber(&d) && !v.is_bool() && std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18) {
    i = static_cast<int64_t>(d);
  } else {
    return core::Status::InvalidArgument(fmt::format("{} is not a whole number, and the node is {}", v.ToString(), type_name));
  }
  const bool fits = std::is_signed_v<T> ? (i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                                           i <= static_cast<int64_t>(std::numeric_limits<T>::max()))
                                        : (i >= 0 && static_cast<uint64_t>(i) <= std::numeric_limits<T>::max());
  if (!fits) return core::Status::InvalidArgument(fmt::format("{} does not fit the node's {}", i, type_name));
  return opcua::Variant(opcua::Scalar(static_cast<T>(i)));
}

// Converts the desired value to the node's built-in type.
core::Result<opcua::Variant> ToVariant(const core::Value& v, opcua::BuiltinType type) {
  using B = opcua::BuiltinType;
  double d = 0;
  switch (type) {
    case B::kBoolean:
      if (v.is_bool()) return opcua::Variant(opcua::Scalar(v.as_bool()));
      break;
    case B::kSByte: return IntegerAs<int8_t>(v, "SByte");
    case B::kByte: return IntegerAs<uint8_t>(v, "Byte");
    case B::kInt16: return IntegerAs<int16_t>(v, "Int16");
    case B::kUInt16: return IntegerAs<uint16_t>(v, "UInt16");
    case B::kInt32: return IntegerAs<int32_t>(v, "Int32");
    case B::kUInt32: return IntegerAs<uint32_t>(v, "UInt32");
    case B::kInt64: return IntegerAs<int64_t>(v, "Int64");
    case B::kUInt64: return IntegerAs<uint64_t>(v, "UInt64");
    case B::kFloat:
      if (!v.is_bool() && v.ToNumber(&d) && std::fabs(d) <= std::numeric_limits<float>::max()) {
        return opcua::Variant(opcua::Scalar(static_cast<float>(d)));
      }
      break;
    case B::kDouble:
      if (!v.is_bool() && v.ToNumber(&d)) return opcua::Variant(opcua::Scalar(d));
      break;
    case B::kString:
      if (v.is_string()) return opcua::Variant(opcua::Scalar(v.as_string()));
      break;
    default:
      return core::Status::InvalidArgument(
          fmt::format("the node's type {} is not one Shopfloor writes setpoints to", static_cast<int>(type)));
  }
  return core::Status::InvalidArgument(
      fmt::format("{} ({}) cannot be written to a node of type {}", v.ToString(), core::ValueTypeName(v.type()),
                  static_cast<int>(type)));
}

// The node's built-in type: its DataType attribute when that is a built-in type (ns=0,
// i=1..25), else the type of the value it holds now.
std::optional<opcua::BuiltinType> NodeType(const opcua::DataValue& data_type, const opcua::DataValue& value) {
  if (data_type.value && !data_type.value->is_array && std::holds_alternative<opcua::NodeId>(data_type.value->scalar)) {
    const auto& id = std::get<opcua::NodeId>(data_type.value->scalar);
    if (id.namespace_index == 0 && id.id_type == opcua::IdType::kNumeric && id.numeric >= 1 &&
        id.numeric <= static_cast<uint32_t>(opcua::kMaxBuiltinType)) {
      return static_cast<opcua::BuiltinType>(id.numeric);
    }
  }
  if (value.value && !value.value->is_array && !value.value->is_null()) {
    return static_cast<opcua::BuiltinType>(value.value->scalar.index());
  }
  return std::nullopt;
}

}  // namespace

void OpcUaSources::OnDesired(const model::ModelEvent& event) {
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
    if (source == nullptr) continue;  // not an OPC UA source
    auto value = DesiredValueFromJson(*it, tag->type);
    if (!value) continue;  // SetDesired validated it; never guess
    jobs.push_back({source, SetpointJob{event.actor, event.asset_path, tag->name, tag->binding->address,
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

void OpcUaSources::SetpointLoop(Source* source) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !source->queue.empty(); });
    if (source->queue.empty()) break;  // stopping
    SetpointJob job = std::move(source->queue.front());
    source->queue.pop_front();
    const bool stopping = stopping_;
    lock.unlock();
    Outcome outcome;
    if (stopping) {
      outcome.error = "not sent: Shopfloor is shutting down";
    } else {
      outcome = Execute(source, job);
    }
    Record(source, job, outcome);
    lock.lock();
  }
  source->write_client.reset();
}

OpcUaSources::Outcome OpcUaSources::Execute(Source* source, const SetpointJob& job) {
  Outcome out;
  if (job.critical) {
    out.error = "not sent: a critical tag's writes need an approval, which this version cannot give";
    return out;
  }
  if (!source->setup_error.empty()) {
    out.error = "not sent: " + source->setup_error;
    return out;
  }
  auto node = opcua::ParseNodeId(job.node_id);
  if (!node.ok()) {
    out.error = "not sent: binding address: " + node.status().message();
    return out;
  }
  // Nothing has been sent to the device until WriteVerified: a stale connection (the
  // server restarted since the last write) is re-opened once.
  core::Result<std::vector<opcua::DataValue>> read = core::Status::Unavailable("not connected");
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!source->write_client) {
      auto client = opcua::Client::Connect(source->write_options);
      if (!client.ok()) {
        read = client.status();
        continue;
      }
      source->write_client = std::move(client).value();
    }
    read = source->write_client->Read({opcua::ReadValueId{*node, opcua::kAttributeDataType},
                                       opcua::ReadValueId{*node, opcua::kAttributeValue}});
    if (read.ok()) break;
    source->write_client.reset();
  }
  if (!read.ok()) {
    out.error = "not sent: " + read.status().ToString();
    return out;
  }
  const opcua::DataValue& current = read->at(1);
  if (current.value) out.previous_json = VariantJson(*current.value).dump();
  std::optional<opcua::BuiltinType> type = NodeType(read->at(0), current);
  if (!type) {
    out.error = fmt::format("not sent: the type of {} is unknown (DataType {}, value {})", job.node_id,
                            opcua::StatusCodeName(read->at(0).status_code()),
                            opcua::StatusCodeName(current.status_code()));
    return out;
  }
  auto variant = ToVariant(job.value, *type);
  if (!variant.ok()) {
    out.error = "not sent: " + variant.status().message();
    return out;
  }
  core::Status s = source->write_client->WriteVerified(*node, *variant);
  if (s.ok()) {
    out.result = Outcome::kOk;
  } else if (s.code() == core::StatusCode::kAborted) {
    out.error = s.message();  // refused, or the read-back differs: a definite answer
  } else {
    // Sent, but no definite answer (timeout, connection lost): the device may or may not
    // have applied it. Never retried; the connection is re-opened for the next write.
    out.result = Outcome::kUnknown;
    out.error = s.ToString() + " (the device may or may not have applied it; not retried)";
    source->write_client.reset();
  }
  return out;
}

void OpcUaSources::Record(Source* source, const SetpointJob& job, const Outcome& outcome) {
  static constexpr const char* kResult[] = {"ok", "failed", "unknown"};
  const char* result = kResult[outcome.result];
  const std::string target = job.asset_path + "/" + job.tag;
  {
    std::lock_guard<std::mutex> lock(mu_);
    (outcome.result == Outcome::kOk       ? source->setpoints_ok
     : outcome.result == Outcome::kFailed ? source->setpoints_failed
                                          : source->setpoints_unknown)++;
  }
  const Json value = ValueJson(job.value);
  auth::AuditEntry entry;
  entry.actor = job.actor;
  entry.action = "setpoint.write";
  entry.target = target;
  entry.old_value = outcome.previous_json;
  entry.new_value = value.dump();
  entry.result = outcome.result == Outcome::kOk ? "ok" : fmt::format("{}: {}", result, outcome.error);
  if (audit_ != nullptr) {
    auto appended = audit_->Append(std::move(entry));
    if (!appended.ok()) {
      SF_LOG(error, "setpoint.audit_failed", "target={} error=\"{}\"", target, appended.status().ToString());
    }
  }
  Json data = {{"tag", job.tag},         {"source", source->config.name}, {"node", job.node_id},
               {"value", value},         {"result", result},               {"error", outcome.error},
               {"previous", outcome.previous_json.empty() ? Json(nullptr) : Json::parse(outcome.previous_json)}};
  std::string message = outcome.result == Outcome::kOk
                            ? fmt::format("{} = {} written to {} and verified", job.tag, value.dump(), job.node_id)
                            : fmt::format("{} = {} {}: {}", job.tag, value.dump(),
                                          outcome.result == Outcome::kFailed ? "failed" : "outcome unknown",
                                          outcome.error);
  if (outcome.result != Outcome::kOk) {
    SF_LOG(warn, "setpoint.write", "target={} result={} error=\"{}\"", target, result, outcome.error);
  }
  if (bus_ != nullptr) {
    bus_->PublishEvent(ingest::Event{clock_->Now(), fmt::format("twin.write_{}", result), job.asset_path, job.actor,
                                     std::move(message), data.dump()});
  }
}

}  // namespace shopfloor::app
