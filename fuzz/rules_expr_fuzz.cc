// Fuzz target: arbitrary text as a rule expression. Compile must never crash: it either
// succeeds or fails with InvalidArgument naming a line and column inside the text. A
// compiled expression is printed canonically (which must compile again to the same
// text) and evaluated over a few samples derived from the input bytes.
#include <cstddef>
#include <cstdint>
#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>

#include "rules/expr.h"

namespace rules = shopfloor::rules;
namespace core = shopfloor::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto compiled = rules::Compile(text, "plant/site/machine");
  if (!compiled.ok()) {
    const core::Status& status = compiled.status();
    const auto& ctx = status.context();
    if (!status.IsInvalidArgument() || !ctx.line || !ctx.column || *ctx.line < 1 || *ctx.column < 1) std::abort();
    if (status.message().find(':') == std::string::npos) std::abort();
    return 0;
  }
  const std::string canonical = compiled->ToString();
  auto again = rules::Compile(canonical, "");
  if (!again.ok() || again->ToString() != canonical || again->type() != compiled->type()) std::abort();

  rules::EvaluatorOptions options;
  options.max_window_samples = 4;  // exercise the capacity path
  rules::Evaluator eval(*compiled, options);
  core::Timestamp now = 1'700'000'000LL * core::kSecond;
  const size_t inputs = compiled->inputs().size();
  for (size_t i = 0; i < size && i < 64; ++i) {
    const uint8_t byte = data[i];
    now += static_cast<core::Duration>(byte % 16) * core::kSecond;
    if (inputs > 0) {
      core::Sample sample;
      sample.ts = now - static_cast<core::Duration>(byte % 3) * core::kSecond;
      sample.value = (byte & 0x80) ? core::Value(static_cast<double>(byte) - 100.0) : core::Value((byte & 1) != 0);
      sample.quality = (byte % 11 == 0) ? core::Quality::Bad() : core::Quality::Good();
      eval.OnSample(byte % inputs, sample);
    }
    const rules::EvalResult result = eval.Evaluate(now);
    const bool is_bool = compiled->type() == rules::ResultType::kBool;
    if (is_bool != result.value.is_bool()) std::abort();
    if (result.known && !is_bool && !std::isfinite(result.value.as_double())) std::abort();
  }
  return 0;
}
