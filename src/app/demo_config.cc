#include "app/demo_config.h"

#include <cstdio>

#include "core/env.h"

namespace shopfloor::app {

core::Result<LoadedConfig> LoadConfigOrDemo(const std::string& path) {
  LoadedConfig out;
  std::vector<core::Status> problems;
  std::string name = "demo-works.yaml (built in)";
  if (path.empty()) {
    out.text = std::string(DemoConfigText());
  } else {
    auto text = core::Env::Posix()->ReadFileToString(path);
    if (!text.ok()) {
      std::fprintf(stderr, "%s\n", text.status().ToString().c_str());
      return text.status();
    }
    out.text = std::move(text).value();
    name = path;
  }
  auto parsed = model::ParsePlantConfig(out.text, name, &problems);
  if (!parsed.ok()) {
    for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.ToString().c_str());
    if (problems.empty()) std::fprintf(stderr, "%s\n", parsed.status().ToString().c_str());
    return parsed.status();
  }
  out.config = std::move(parsed).value();
  return out;
}

}  // namespace shopfloor::app
