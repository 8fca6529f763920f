#include "connect/mqtt/user_auth.h"

#include <fmt/format.h>

#include "core/log.h"
#include "model/asset_store.h"

namespace shopfloor::connect::mqtt {

namespace {

// The level after the enterprise ("acme/<site>/..."), or "" when there is none.
std::string_view SiteLevel(std::string_view topic) {
  const size_t first = topic.find('/');
  if (first == std::string_view::npos) return {};
  std::string_view rest = topic.substr(first + 1);
  return rest.substr(0, rest.find('/'));
}

}  // namespace

UserAuthHooks::UserAuthHooks(auth::UserStore* users, model::AssetStore* assets) : users_(users), assets_(assets) {}

Reason UserAuthHooks::Authenticate(const Connect& connect, std::string_view remote, std::string* principal) {
  if (!connect.username || connect.username->empty() || !connect.password) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.login_failures;
    SF_LOG(warn, "mqtt.login_refused", "client={} remote={} reason=\"no user name or password\"", connect.client_id,
           remote);
    return Reason::kBadUserNameOrPassword;
  }
  auto p = users_->AuthenticatePassword(*connect.username, *connect.password, remote);
  std::lock_guard<std::mutex> lock(mu_);
  if (!p.ok()) {
    ++stats_.login_failures;
    SF_LOG(warn, "mqtt.login_refused", "client={} user={} remote={} reason=\"{}\"", connect.client_id,
           *connect.username, remote, p.status().message());
    return p.status().code() == core::StatusCode::kPermissionDenied ? Reason::kNotAuthorized
                                                                    : Reason::kBadUserNameOrPassword;
  }
  ++stats_.logins;
  *principal = p->user;
  principals_[p->user] = *p;
  return Reason::kSuccess;
}

bool UserAuthHooks::Lookup(std::string_view user, auth::Principal* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = principals_.find(user);
  if (it == principals_.end()) return false;
  *out = it->second;
  return true;
}

bool UserAuthHooks::InPlantNamespace(std::string_view topic) const {
  const std::string_view first = topic.substr(0, topic.find('/'));
  if (first == "+" || first == "#") return true;  // a filter reaching into the plant's namespace
  auto asset = assets_->FindAsset(first);
  return asset.ok() && asset->level == model::AssetLevel::kEnterprise;
}

bool UserAuthHooks::AuthorizePublish(const ClientView& client, std::string_view topic) {
  auth::Principal p;
  bool ok = Lookup(client.principal, &p);
  if (ok && InPlantNamespace(topic)) ok = p.AtLeast(auth::Role::kOperator) && p.CanAccessSite(SiteLevel(topic));
  if (!ok) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.publish_denied;
    SF_LOG(warn, "mqtt.publish_denied", "user={} client={} topic={}", client.principal, client.client_id, topic);
  }
  return ok;
}

bool UserAuthHooks::AuthorizeSubscribe(const ClientView& client, std::string_view filter) {
  auth::Principal p;
  bool ok = Lookup(client.principal, &p);
  if (ok && InPlantNamespace(filter)) {
    const std::string_view site = SiteLevel(filter);
    const bool wildcard = site.empty() || site == "+" || site == "#" || filter.starts_with("+") || filter.starts_with("#");
    ok = p.AllSites() || (!wildcard && p.CanAccessSite(site));
  }
  if (!ok) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.subscribe_denied;
    SF_LOG(warn, "mqtt.subscribe_denied", "user={} client={} filter={}", client.principal, client.client_id, filter);
  }
  return ok;
}

bool UserAuthHooks::MayProvision(const ClientView& client) const {
  auth::Principal p;
  return Lookup(client.principal, &p) && p.AtLeast(auth::Role::kEngineer);
}

bool UserAuthHooks::MayPublishData(const ClientView& client) const {
  auth::Principal p;
  return Lookup(client.principal, &p) && p.AtLeast(auth::Role::kOperator);
}

UserAuthStats UserAuthHooks::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace shopfloor::connect::mqtt
