#include "server/router.h"

#include <fmt/format.h>

namespace shopfloor::server {

namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool IsParam(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::Add(Route route) {
  Compiled c;
  for (std::string_view seg : Split(route.pattern)) c.segments.emplace_back(seg);
  compiled_.push_back(std::move(c));
  routes_.push_back(std::move(route));
}

std::optional<Router::Match> Router::Find(std::string_view method, std::string_view raw_path, std::string* allowed,
                                          core::Status* error) const {
  allowed->clear();
  const std::vector<std::string_view> parts = Split(raw_path);
  const bool head = method == "HEAD";
  for (size_t i = 0; i < routes_.size(); ++i) {
    const Compiled& c = compiled_[i];
    if (c.segments.size() != parts.size()) continue;
    bool ok = true;
    for (size_t j = 0; j < parts.size() && ok; ++j) {
      if (IsParam(c.segments[j])) {
        ok = !parts[j].empty();
      } else {
        ok = c.segments[j] == parts[j];
      }
    }
    if (!ok) continue;
    const Route& route = routes_[i];
    if (route.method != method && !(head && route.method == "GET")) {
      if (allowed->find(route.method) == std::string::npos) {
        if (!allowed->empty()) allowed->append(", ");
        allowed->append(route.method);
      }
      continue;
    }
    Match m;
    m.route = &route;
    for (size_t j = 0; j < parts.size(); ++j) {
      if (!IsParam(c.segments[j])) continue;
      auto decoded = PercentDecode(parts[j], false);
      if (!decoded.ok()) {
        *error = core::Status::InvalidArgument(
            fmt::format("path segment {}: {}", c.segments[j], decoded.status().message()));
        return std::nullopt;
      }
      m.args.push_back(std::move(decoded).value());
    }
    return m;
  }
  return std::nullopt;
}

}  // namespace shopfloor::server
