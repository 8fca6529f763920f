// The `shopfloor` command line: one function per subcommand, wired up in cli.cc.
#pragma once

namespace shopfloor::app {

// Parses argv and runs the chosen subcommand; returns the process exit code.
int RunCli(int argc, char** argv);

}  // namespace shopfloor::app
