// `shopfloor config check FILE`: validates a plant configuration and prints every problem
// as file:line:column: message.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "app/commands.h"
#include "connect/modbus/bindings.h"
#include "model/plant_config.h"

namespace shopfloor::app {

namespace {

size_t CountAssets(const model::AssetConfig& a, size_t* tags) {
  size_t n = 1;
  *tags += a.tags.size();
  for (const auto& c : a.children) n += CountAssets(c, tags);
  return n;
}

int CheckConfig(const std::string& path) {
  std::vector<core::Status> problems;
  auto config = model::LoadPlantConfigFile(core::Env::Posix(), path, &problems);
  // What the model cannot check itself: the drivers' address grammars.
  if (config.ok()) problems = connect::modbus::CheckConfigBindings(*config);
  if (!problems.empty() || !config.ok()) {
    for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.ToString().c_str());
    if (problems.empty()) std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
    std::fprintf(stderr, "%s: %zu problem%s\n", path.c_str(), std::max<size_t>(problems.size(), 1),
                 problems.size() == 1 ? "" : "s");
    return 1;
  }
  size_t tags = 0;
  const size_t assets = CountAssets(config->enterprise, &tags);
  std::printf("%s: OK (%zu assets, %zu tags, %zu sources)\n", path.c_str(), assets, tags, config->sources.size());
  return 0;
}

}  // namespace

void AddConfigCommand(CLI::App& app, int* exit_code) {
  CLI::App* config = app.add_subcommand("config", "Work with plant configuration files");
  config->require_subcommand(1);
  CLI::App* check = config->add_subcommand("check", "Validate a plant configuration file; prints every problem "
                                                     "as file:line:column and exits 1 if there is any");
  auto path = std::make_shared<std::string>();
  check->add_option("FILE", *path, "The YAML plant configuration")->required();
  check->callback([path, exit_code] { *exit_code = CheckConfig(*path); });
}

}  // namespace shopfloor::app
