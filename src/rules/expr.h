// The rules engine's expression language: compile a rule's text once, then feed it samples
// as they arrive from the bus and evaluate it whenever the engine wants an answer.
//
//   auto expr = rules::Compile("on_delay(avg($discharge_pressure, 1m) > 8.5, 30s)",
//                              "demo-works/stuttgart/utilities/compressor-1", resolver);
//   rules::Evaluator eval(*expr);              // one per rule instance
//   eval.OnSample(0, sample);                  // input 0 = expr->inputs()[0]
//   rules::EvalResult r = eval.Evaluate(now);  // now from the samples or a core::Clock
//
// Grammar, functions and semantics (windows, three-valued validity, delays, limits):
// docs/rules.md.
//
// Time: the evaluator never reads a clock. Windows and delays move only with the sample
// timestamps and the `now` passed to Evaluate, so a core::SimClock drives them in tests.
//
// Thread safety: an Expression is immutable and may be shared by any number of threads and
// Evaluators. An Evaluator is a plain mutable object: one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace shopfloor::rules {

struct Program;  // the compiled form, internal (program.h)

// Answers "does this series exist, and of which type?" for a series key
// ("<asset path>/<tag>"); nullopt when the model has no such tag. Lets rules be checked
// against the asset model without this module depending on the model store.
using Resolver = std::function<std::optional<core::ValueType>(std::string_view series_key)>;

class Expression;

// Compiles `text`. `base_asset` (an asset path, may be empty when the rule uses no relative
// reference) resolves `$tag` references to "<base_asset>/tag". With a resolver every tag
// must exist and its type decides how it may be used; without one, tags are numbers (a bool
// sample reads as 0/1, a string sample as unknown).
// Errors are InvalidArgument with the 1-based position in the message and in the context:
//   "1:14: expected ')' after argument list, got ','"
// Never throws; any input bytes are safe (the text is limited to kMaxTextBytes, nesting to
// kMaxDepth).
core::Result<Expression> Compile(std::string_view text, std::string_view base_asset,
                                 const Resolver& resolver = {});

// The static type of an expression's result.
enum class ResultType : uint8_t { kNumber, kBool };

// A compiled expression: immutable, cheap to copy (shares the program).
class Expression {
 public:
  // Series keys the expression reads, each once, in order of first appearance. An input's
  // index in this list is the index Evaluator::OnSample takes.
  const std::vector<std::string>& inputs() const;
  ResultType type() const;
  // The source text it was compiled from.
  const std::string& text() const;
  // Canonical fully parenthesised form with absolute series keys, e.g.
  // "((a/b/t > 1) and on_delay((a/b/u == 6), 10s))". Stable: used by tests and logs.
  std::string ToString() const;

  const Program& program() const { return *program_; }

 private:
  friend core::Result<Expression> Compile(std::string_view, std::string_view, const Resolver&);
  explicit Expression(std::shared_ptr<const Program> program) : program_(std::move(program)) {}
  std::shared_ptr<const Program> program_;
};

inline constexpr size_t kMaxTextBytes = 64 * 1024;
inline constexpr int kMaxDepth = 64;
// Windows and delays: 0 < d <= kMaxWindow.
inline constexpr core::Duration kMaxWindow = 366 * core::kDay;

// The outcome of one evaluation. `known` is false when an input has no data, its latest
// sample is Bad, a window is empty or truncated, or arithmetic fails (division by zero,
// overflow to infinity); `value` is then false/NaN and must not be used.
struct EvalResult {
  bool known = false;
  core::Value value;  // double for ResultType::kNumber, bool for kBool
};

struct EvaluatorOptions {
  // At most this many samples per (tag, window) buffer, and this many true intervals per
  // time_in_state. When a buffer is full its oldest sample is dropped and the function
  // reports unknown until that sample would have left the window anyway: never a wrong
  // answer, at worst no answer. Memory per buffer is at most 72 bytes per sample (24 in
  // the buffer, 24 in each of the min and max deques when the expression uses them).
  size_t max_window_samples = 10'000;
};

struct EvaluatorStats {
  uint64_t samples = 0;         // accepted by OnSample
  uint64_t out_of_order = 0;    // dropped: older than the input's latest sample
  uint64_t window_overflow = 0; // samples or intervals dropped because a buffer was full
};

// The state of one running instance of an Expression: the latest sample per input, window
// buffers and the state of delays, hysteresis and time_in_state.
class Evaluator {
 public:
  explicit Evaluator(Expression expression, EvaluatorOptions options = {});
  ~Evaluator();
  Evaluator(Evaluator&&) noexcept;
  Evaluator& operator=(Evaluator&&) noexcept;

  const Expression& expression() const { return expression_; }

  // Feeds a sample of input `input` (an index into expression().inputs(); others are
  // ignored); O(1) amortized. A sample older than the input's latest is dropped (counted
  // in stats().out_of_order).
  void OnSample(size_t input, const core::Sample& sample);
  // Same by series key; false (and nothing changes) when the expression does not read it.
  bool OnSample(std::string_view series_key, const core::Sample& sample);

  // Expires window contents older than `now` minus the window, advances delays, hysteresis
  // and time_in_state to `now`, and returns the value. A `now` earlier than a previous one
  // is treated as the previous one (time never runs backwards for the state).
  EvalResult Evaluate(core::Timestamp now);

  const EvaluatorStats& stats() const;
  // Bytes held by window buffers and interval lists (approximate, for limits and tests).
  size_t MemoryBytes() const;

 private:
  struct State;
  Expression expression_;
  std::unique_ptr<State> state_;
};

}  // namespace shopfloor::rules
