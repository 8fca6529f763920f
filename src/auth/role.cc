// Roles and the site scope of a principal.
#include <algorithm>

#include <fmt/format.h>

#include "auth/auth.h"

namespace shopfloor::auth {

namespace {
constexpr std::string_view kRoleNames[] = {"viewer", "operator", "engineer", "admin"};
}  // namespace

std::string_view RoleName(Role role) {
  const auto index = static_cast<size_t>(role);
  return index < std::size(kRoleNames) ? kRoleNames[index] : std::string_view("unknown");
}

core::Result<Role> ParseRole(std::string_view name) {
  for (size_t i = 0; i < std::size(kRoleNames); ++i) {
    if (name == kRoleNames[i]) return static_cast<Role>(i);
  }
  return core::Status::InvalidArgument(
      fmt::format("unknown role \"{}\": expected viewer, operator, engineer or admin", name));
}

bool Principal::CanAccessSite(std::string_view site) const {
  if (sites.empty()) return true;
  if (site.empty()) return false;
  return std::find(sites.begin(), sites.end(), site) != sites.end();
}

}  // namespace shopfloor::auth
