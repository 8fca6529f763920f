// Fuzz target for the HTTP query API's parameter parsers (server/query_params.h): URL
// targets with percent-encoding, RFC 3339 times, steps and integers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/query_params.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shopfloor;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto params = server::QueryParams::Parse(text);
  if (params.ok()) {
    for (const auto& [name, value] : params->items()) {
      server::ParseTimeParam(name, value, core::kMillisecond).status().IgnoreError();
      server::ParseStepParam(name, value, core::kSecond).status().IgnoreError();
      server::ParseUintParam(name, value).status().IgnoreError();
    }
  }
  auto ts = server::ParseRfc3339(text);
  if (!ts.ok() && !ts.status().IsInvalidArgument()) std::abort();
  auto step = server::ParseStepParam("step", text, core::kNanosecond);
  if (step.ok() && *step <= 0) std::abort();
  return 0;
}
