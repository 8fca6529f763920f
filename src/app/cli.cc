#include <CLI/CLI.hpp>
#include <sys/resource.h>

#include <string>

#include "app/app.h"
#include "app/commands.h"
#include "app/shutdown.h"
#include "core/log.h"

namespace shopfloor::app {

namespace {

// Every block file stays open while it is live; a historian with years of data needs more
// descriptors than the usual soft limit of 1024. Raise it to the hard limit.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int RunCli(int argc, char** argv) {
  // Before any thread exists: SIGINT/SIGTERM are then only taken by WaitForShutdownSignal().
  BlockShutdownSignals();
  RaiseOpenFileLimit();

  CLI::App app{"Shopfloor: an Industrial IoT platform for smart factories.\n"
               "Connects machines, keeps every reading, models the plant, monitors and acts.",
               "shopfloor"};
  app.set_version_flag("--version", std::string("shopfloor ") + SHOPFLOOR_VERSION);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  app.require_subcommand(1);
  app.parse_complete_callback([&log_level] {
    core::Status s = core::InitLogging(log_level);
    if (!s.ok()) throw CLI::ValidationError("--log-level", s.message());
  });

  int exit_code = 0;
  AddConfigCommand(app, &exit_code);
  AddServeCommand(app, &exit_code);
  AddAdminCommand(app, &exit_code);
  AddOpcUaCommand(app, &exit_code);
  AddSimCommand(app, &exit_code);
  AddDemoCommand(app, &exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}

}  // namespace shopfloor::app
