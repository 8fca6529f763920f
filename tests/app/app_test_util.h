// Shared by the app tests: run the real `shopfloor` binary, and poll for a condition.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <functional>
#include <string>

namespace shopfloor::app::testing {

struct CliRun {
  int exit_code;
  std::string output;  // stdout and stderr
};

// Runs `shopfloor ARGS` through the shell (so ARGS may quote), with `env` ("NAME=value ...")
// prepended.
inline CliRun Shopfloor(const std::string& args, const std::string& env = "") {
  const std::string cmd = env + " " + std::string(SHOPFLOOR_BINARY_DIR) + "/src/app/shopfloor " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  CliRun run{-1, {}};
  if (pipe == nullptr) return run;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) run.output.append(buf.data(), n);
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// Polls `done` every 20 ms for up to `timeout_ms`.
inline bool WaitUntil(const std::function<bool()>& done, int timeout_ms = 10000) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    if (done()) return true;
    ::usleep(20'000);
  }
  return done();
}

}  // namespace shopfloor::app::testing
