// Evaluator: the incremental state of one expression instance.
//
// Every node is evaluated at every Evaluate (no short-circuit), so the state of delays,
// hysteresis and time_in_state inside an untaken if() branch or behind a false 'and'
// still follows time. Cost: O(nodes) per evaluation plus O(1) amortized per sample.
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "rules/expr.h"
#include "rules/program.h"
#include "rules/window.h"

namespace shopfloor::rules {
namespace {

// A runtime value. Bools are numbers 0/1; strings point into a sample or the program.
struct Val {
  bool known = false;
  double num = 0.0;
  const std::string* str = nullptr;
};

constexpr Val kUnknown{};
Val Known(double num) { return Val{true, num, nullptr}; }
Val Truth(bool b) { return Val{true, b ? 1.0 : 0.0, nullptr}; }
// Arithmetic that leaves the finite numbers (x/0, overflow) is unknown.
Val Finite(double num) { return std::isfinite(num) ? Known(num) : kUnknown; }
bool IsTrue(const Val& v) { return v.known && v.num != 0.0; }
bool IsFalse(const Val& v) { return v.known && v.num == 0.0; }

struct InputState {
  bool has = false;
  core::Sample last;
  std::vector<int> windows;  // SampleWindows fed by this input
};

struct TemporalState {
  bool active = false;           // on_delay: condition true; off_delay: output held
  core::Timestamp since = 0;     // on_delay: when the condition became true
  bool falling = false;          // off_delay: the condition went away at `since`
  bool hysteresis = false;       // hysteresis output
  std::optional<StateWindow> held;  // time_in_state
};

}  // namespace

struct Evaluator::State {
  const Program* program = nullptr;
  EvaluatorOptions options;
  EvaluatorStats stats;
  std::vector<InputState> inputs;
  std::unordered_map<std::string_view, size_t> input_by_key;
  std::vector<SampleWindow> windows;
  std::vector<TemporalState> temporal;
  bool started = false;
  core::Timestamp now = 0;

  Val Eval(int index);
  Val EvalWindow(const Node& node);
  Val EvalTemporal(const Node& node);
};

Evaluator::Evaluator(Expression expression, EvaluatorOptions options)
    : expression_(std::move(expression)), state_(std::make_unique<State>()) {
  const Program& program = expression_.program();
  State& s = *state_;
  s.program = &program;
  s.options = options;
  s.inputs.resize(program.inputs.size());
  for (size_t i = 0; i < program.inputs.size(); ++i) s.input_by_key.emplace(program.inputs[i], i);
  for (const WindowSpec& spec : program.windows) {
    s.inputs[spec.input].windows.push_back(static_cast<int>(s.windows.size()));
    s.windows.emplace_back(spec.length, options.max_window_samples, spec.track_min, spec.track_max);
  }
  s.temporal.resize(program.state_slots);
  for (const Node& node : program.nodes) {
    if (node.op == Op::kTimeInState) s.temporal[node.slot].held.emplace(node.duration, options.max_window_samples);
  }
}

Evaluator::~Evaluator() = default;
Evaluator::Evaluator(Evaluator&&) noexcept = default;
Evaluator& Evaluator::operator=(Evaluator&&) noexcept = default;

const EvaluatorStats& Evaluator::stats() const { return state_->stats; }

void Evaluator::OnSample(size_t input, const core::Sample& sample) {
  State& s = *state_;
  if (input >= s.inputs.size()) return;
  InputState& in = s.inputs[input];
  if (in.has && sample.ts < in.last.ts) {
    ++s.stats.out_of_order;
    return;
  }
  in.has = true;
  in.last = sample;
  ++s.stats.samples;
  double number = 0.0;
  if (sample.quality.bad() || !sample.value.ToNumber(&number)) return;
  for (int w : in.windows) {
    if (!s.windows[w].Add(sample.ts, number)) ++s.stats.window_overflow;
  }
}

bool Evaluator::OnSample(std::string_view series_key, const core::Sample& sample) {
  auto it = state_->input_by_key.find(series_key);
  if (it == state_->input_by_key.end()) return false;
  OnSample(it->second, sample);
  return true;
}

EvalResult Evaluator::Evaluate(core::Timestamp now) {
  State& s = *state_;
  if (s.started && now < s.now) now = s.now;
  s.started = true;
  s.now = now;
  for (SampleWindow& window : s.windows) window.Expire(now);
  const Val v = s.Eval(s.program->root());
  EvalResult result;
  result.known = v.known;
  if (s.program->result == ResultType::kBool) {
    result.value = core::Value(v.known && v.num != 0.0);
  } else {
    result.value = core::Value(v.known ? v.num : std::nan(""));
  }
  return result;
}

size_t Evaluator::MemoryBytes() const {
  size_t bytes = 0;
  for (const SampleWindow& window : state_->windows) bytes += window.MemoryBytes();
  for (const TemporalState& t : state_->temporal) {
    if (t.held) bytes += t.held->MemoryBytes();
  }
  return bytes;
}

Val Evaluator::State::Eval(int index) {
  const Node& node = program->nodes[index];
  switch (node.op) {
    case Op::kNumber: case Op::kBool: return Known(node.number);
    case Op::kString: return Val{true, 0.0, &node.text};
    case Op::kDuration: case Op::kCall: return kUnknown;  // never evaluated on their own
    case Op::kTag: {
      const InputState& in = inputs[node.input];
      if (!in.has || in.last.quality.bad()) return kUnknown;
      if (node.type == Type::kString) {
        return in.last.value.is_string() ? Val{true, 0.0, &in.last.value.as_string()} : kUnknown;
      }
      double number = 0.0;
      return in.last.value.ToNumber(&number) ? Finite(number) : kUnknown;
    }
    default: break;
  }
  if (node.op >= Op::kWinAvg && node.op <= Op::kWinCount) return EvalWindow(node);
  if (node.op >= Op::kTimeInState) return EvalTemporal(node);
  if (node.op == Op::kGood || node.op == Op::kStale) {
    const InputState& in = inputs[node.input];
    if (node.op == Op::kGood) return Truth(in.has && in.last.quality.good());
    return Truth(!in.has || in.last.ts <= now - node.duration);  // no overflow on odd stamps
  }

  // Every operand is evaluated (see the file comment).
  Val args[3];
  std::vector<Val> more;  // min/max with more than three arguments
  const size_t argc = node.args.size();
  for (size_t i = 0; i < argc; ++i) {
    const Val v = Eval(node.args[i]);
    if (i < 3) args[i] = v;
    else more.push_back(v);
  }
  const Val& a = args[0];
  const Val& b = args[1];
  switch (node.op) {
    case Op::kNot: return a.known ? Truth(a.num == 0.0) : kUnknown;
    // Kleene logic: false and unknown = false, true or unknown = true.
    case Op::kAnd: return IsFalse(a) || IsFalse(b) ? Truth(false) : a.known && b.known ? Truth(true) : kUnknown;
    case Op::kOr: return IsTrue(a) || IsTrue(b) ? Truth(true) : a.known && b.known ? Truth(false) : kUnknown;
    case Op::kIf: return a.known ? (a.num != 0.0 ? b : args[2]) : kUnknown;
    case Op::kKnown: return Truth(a.known);
    default: break;
  }
  // The rest is strict: any unknown operand makes the result unknown.
  for (size_t i = 0; i < argc; ++i) {
    if (!(i < 3 ? args[i] : more[i - 3]).known) return kUnknown;
  }
  switch (node.op) {
    case Op::kNeg: return Known(-a.num);
    case Op::kMul: return Finite(a.num * b.num);
    case Op::kDiv: return Finite(a.num / b.num);
    case Op::kMod: return Finite(std::fmod(a.num, b.num));
    case Op::kAdd: return Finite(a.num + b.num);
    case Op::kSub: return Finite(a.num - b.num);
    case Op::kLt: return Truth(a.num < b.num);
    case Op::kLe: return Truth(a.num <= b.num);
    case Op::kGt: return Truth(a.num > b.num);
    case Op::kGe: return Truth(a.num >= b.num);
    case Op::kEq: case Op::kNe: {
      const bool equal = a.str != nullptr ? *a.str == *b.str : a.num == b.num;
      return Truth(equal == (node.op == Op::kEq));
    }
    case Op::kAbs: return Known(std::fabs(a.num));
    case Op::kMin: case Op::kMax: {
      double out = a.num;
      for (size_t i = 1; i < argc; ++i) {
        const double x = (i < 3 ? args[i] : more[i - 3]).num;
        out = node.op == Op::kMin ? std::fmin(out, x) : std::fmax(out, x);
      }
      return Known(out);
    }
    case Op::kClamp:
      if (b.num > args[2].num) return kUnknown;
      return Known(a.num < b.num ? b.num : a.num > args[2].num ? args[2].num : a.num);
    default: return kUnknown;
  }
}

Val Evaluator::State::EvalWindow(const Node& node) {
  const InputState& in = inputs[node.input];
  const SampleWindow& w = windows[node.slot];
  // While the tag's latest sample is Bad, nothing computed from it is trusted.
  if (in.has && in.last.quality.bad()) return kUnknown;
  if (!w.complete(now)) return kUnknown;
  if (node.op == Op::kWinCount) return Known(static_cast<double>(w.count()));
  if (w.empty()) return kUnknown;
  switch (node.op) {
    case Op::kWinAvg: return Finite(w.mean());
    case Op::kWinMin: return Known(w.min());
    case Op::kWinMax: return Known(w.max());
    case Op::kWinStddev: return Finite(w.stddev());
    case Op::kWinDelta: return Finite(w.last() - w.first());
    case Op::kWinRate: {
      if (w.last_ts() == w.first_ts()) return kUnknown;
      core::Duration span = 0;  // exact in ns (doubles of epoch ns would round to 256 ns)
      if (__builtin_sub_overflow(w.last_ts(), w.first_ts(), &span)) return kUnknown;
      const double seconds = static_cast<double>(span) / core::kSecond;
      return Finite((w.last() - w.first()) / seconds);
    }
    default: return kUnknown;
  }
}

Val Evaluator::State::EvalTemporal(const Node& node) {
  TemporalState& t = temporal[node.slot];
  const Val a = Eval(node.args[0]);
  switch (node.op) {
    case Op::kTimeInState: {
      // An unknown condition does not count as holding.
      if (!t.held->Update(now, IsTrue(a))) ++stats.window_overflow;
      if (!t.held->complete(now)) return kUnknown;
      return Known(static_cast<double>(t.held->HeldFor()) / core::kSecond);
    }
    case Op::kOnDelay:
      if (IsTrue(a)) {
        if (!t.active) {
          t.active = true;
          t.since = now;
        }
        return Truth(t.since <= now - node.duration);
      }
      t.active = false;  // false or unknown interrupts the hold
      return a.known ? Truth(false) : kUnknown;
    case Op::kOffDelay: {
      if (IsTrue(a)) {
        t.active = true;
        t.falling = false;
        return Truth(true);
      }
      if (t.active && !t.falling) {
        t.falling = true;
        t.since = now;
      }
      if (t.active && now - node.duration < t.since) return Truth(true);  // true either way
      t.active = false;
      return a.known ? Truth(false) : kUnknown;
    }
    case Op::kHysteresis: {
      const Val low = Eval(node.args[1]);
      const Val high = Eval(node.args[2]);
      if (!a.known || !low.known || !high.known || low.num > high.num) return kUnknown;
      if (a.num > high.num) t.hysteresis = true;
      else if (a.num < low.num) t.hysteresis = false;
      return Truth(t.hysteresis);
    }
    default: return kUnknown;
  }
}

}  // namespace shopfloor::rules
