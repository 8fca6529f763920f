#include "connect/mqtt/device_auth.h"

#include <fmt/format.h>

#include "core/log.h"
#include "model/plant_config.h"

namespace shopfloor::connect::mqtt {

namespace {

// Bounds the per-client log windows (a burst of distinct clients only resets them).
constexpr size_t kMaxLogWindows = 10000;

// Splits the text after "P/" into levels; false when the topic is not under P.
bool Below(std::string_view asset_path, std::string_view topic, std::string_view* rest) {
  if (topic.size() <= asset_path.size() + 1 || !topic.starts_with(asset_path) || topic[asset_path.size()] != '/') {
    return false;
  }
  *rest = topic.substr(asset_path.size() + 1);
  return true;
}

// Calls fn(level) for each '/'-separated level; stops and returns false when fn does.
template <typename Fn>
bool EachLevel(std::string_view text, Fn fn) {
  size_t start = 0;
  for (;;) {
    const size_t end = text.find('/', start);
    if (!fn(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start),
            end == std::string_view::npos)) {
      return false;
    }
    if (end == std::string_view::npos) return true;
    start = end + 1;
  }
}

}  // namespace

std::string_view DenialName(Denial denial) {
  switch (denial) {
    case Denial::kNone: return "";
    case Denial::kOutsideAssetPath: return "outside_asset_path";
    case Denial::kCommandTopic: return "command_topic";
    case Denial::kNotCommandTopic: return "not_command_topic";
    case Denial::kDisabled: return "disabled";
  }
  return "";
}

bool IsCommandTopic(std::string_view topic) {
  return !EachLevel(topic, [](std::string_view level, bool) { return level != kCommandLevel; });
}

std::string CommandTopic(std::string_view asset_path, std::string_view tag) {
  return fmt::format("{}/{}/{}", asset_path, kCommandLevel, tag);
}

Denial DevicePublishDecision(std::string_view asset_path, std::string_view topic) {
  if (topic == asset_path) return Denial::kNone;  // a batch for the bound asset
  std::string_view rest;
  if (!Below(asset_path, topic, &rest)) return Denial::kOutsideAssetPath;
  const bool plain = EachLevel(rest, [](std::string_view level, bool) { return !level.starts_with('$'); });
  return plain ? Denial::kNone : Denial::kCommandTopic;
}

Denial DeviceSubscribeDecision(std::string_view asset_path, std::string_view filter) {
  std::string_view rest;
  if (!Below(asset_path, filter, &rest)) return Denial::kOutsideAssetPath;
  // Literal child levels, then "$cmd", then exactly one tag level ('+' allowed) or '#'.
  bool seen_cmd = false;
  bool done = false;
  const bool ok = EachLevel(rest, [&](std::string_view level, bool last) {
    if (done) return false;  // a level after the tag
    if (seen_cmd) {
      done = true;
      return last && (level == "+" || level == "#" || model::IsValidName(level));
    }
    if (level == kCommandLevel) {
      seen_cmd = true;
      return !last;  // "$cmd" needs a tag level after it
    }
    return !last && model::IsValidName(level);
  });
  return ok && done ? Denial::kNone : Denial::kNotCommandTopic;
}

DeviceAuthHooks::DeviceAuthHooks(auth::DeviceStore* devices, BrokerHooks* users, core::Clock* clock,
                                 DeviceAuthOptions options)
    : devices_(devices), users_(users), clock_(clock), options_(options) {}

Reason DeviceAuthHooks::Authenticate(const Connect& connect, std::string_view remote, std::string* principal) {
  if (!connect.password || !auth::DeviceStore::IsDeviceSecret(*connect.password)) {
    return users_ != nullptr ? users_->Authenticate(connect, remote, principal) : Reason::kBadUserNameOrPassword;
  }
  const std::string name = connect.username.value_or("");
  auto device = devices_->Authenticate(name, *connect.password);
  std::lock_guard<std::mutex> lock(mu_);
  if (!device.ok()) {
    ++stats_.login_failures;
    uint64_t suppressed = 0;
    // Per address and name: one noisy device cannot hide another's refusals.
    if (ShouldLog(fmt::format("login:{}/{}", remote.substr(0, remote.rfind(':')), name), &suppressed)) {
      SF_LOG(warn, "mqtt.device_login_refused", "client={} device={} remote={} reason=\"{}\" not_logged_since={}",
             connect.client_id, name, remote, device.status().message(), suppressed);
    }
    return device.status().code() == core::StatusCode::kPermissionDenied ? Reason::kNotAuthorized
                                                                          : Reason::kBadUserNameOrPassword;
  }
  ++stats_.logins;
  devices_cache_[name] = Cached{*device, true, clock_->Steady()};
  *principal = fmt::format("{}{}", kDevicePrincipalPrefix, name);
  SF_LOG(info, "mqtt.device_login", "client={} device={} asset={} remote={}", connect.client_id, name,
         device->asset_path, remote);
  return Reason::kSuccess;
}

bool DeviceAuthHooks::Current(std::string_view name, auth::DeviceInfo* out) const {
  const int64_t now = clock_->Steady();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = devices_cache_.find(name);
    if (it != devices_cache_.end() && now - it->second.fetched < options_.refresh_interval) {
      *out = it->second.info;
      return it->second.exists;
    }
  }
  auto device = devices_->Get(name);  // outside the lock: a database read
  Cached cached{device.ok() ? *device : auth::DeviceInfo{}, device.ok(), now};
  if (!device.ok() && device.status().code() != core::StatusCode::kNotFound) {
    SF_LOG(error, "mqtt.device_lookup_failed", "device={} error=\"{}\"", name, device.status().ToString());
  }
  std::lock_guard<std::mutex> lock(mu_);
  devices_cache_.insert_or_assign(std::string(name), cached);
  *out = cached.info;
  return cached.exists;
}

bool DeviceAuthHooks::ShouldLog(const std::string& key, uint64_t* suppressed) {
  const int64_t now = clock_->Steady();
  if (log_windows_.size() >= kMaxLogWindows && !log_windows_.contains(key)) log_windows_.clear();
  auto [it, inserted] = log_windows_.try_emplace(key);
  LogWindow& w = it->second;
  if (!inserted && now - w.last < options_.log_interval) {
    ++w.suppressed;
    ++stats_.logs_suppressed;
    return false;
  }
  *suppressed = w.suppressed;
  w.last = now;
  w.suppressed = 0;
  return true;
}

bool DeviceAuthHooks::Deny(const ClientView& client, std::string_view what, std::string_view topic, Denial denial) {
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.denied[static_cast<size_t>(denial)];
  uint64_t suppressed = 0;
  if (ShouldLog(std::string(client.client_id), &suppressed)) {
    SF_LOG(warn, "mqtt.device_denied", "{}={} principal={} client={} remote={} reason={} not_logged_since={}", what,
           topic, client.principal, client.client_id, client.remote, DenialName(denial), suppressed);
  }
  return false;
}

bool DeviceAuthHooks::AuthorizePublish(const ClientView& client, std::string_view topic) {
  if (!client.principal.starts_with(kDevicePrincipalPrefix)) {
    if (IsCommandTopic(topic)) return Deny(client, "topic", topic, Denial::kCommandTopic);
    return users_ != nullptr && users_->AuthorizePublish(client, topic);
  }
  auth::DeviceInfo device;
  if (!Current(client.principal.substr(kDevicePrincipalPrefix.size()), &device) || !device.enabled) {
    return Deny(client, "topic", topic, Denial::kDisabled);
  }
  const Denial denial = DevicePublishDecision(device.asset_path, topic);
  return denial == Denial::kNone || Deny(client, "topic", topic, denial);
}

bool DeviceAuthHooks::AuthorizeSubscribe(const ClientView& client, std::string_view filter) {
  if (!client.principal.starts_with(kDevicePrincipalPrefix)) {
    return users_ != nullptr && users_->AuthorizeSubscribe(client, filter);
  }
  auth::DeviceInfo device;
  if (!Current(client.principal.substr(kDevicePrincipalPrefix.size()), &device) || !device.enabled) {
    return Deny(client, "filter", filter, Denial::kDisabled);
  }
  const Denial denial = DeviceSubscribeDecision(device.asset_path, filter);
  return denial == Denial::kNone || Deny(client, "filter", filter, denial);
}

bool DeviceAuthHooks::MayProvision(const ClientView& client) const {
  if (!client.principal.starts_with(kDevicePrincipalPrefix)) {
    return users_may_provision_ && users_may_provision_(client);
  }
  auth::DeviceInfo device;
  return Current(client.principal.substr(kDevicePrincipalPrefix.size()), &device) && device.enabled &&
         device.may_provision;
}

DeviceAuthStats DeviceAuthHooks::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace shopfloor::connect::mqtt
