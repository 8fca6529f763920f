// The compiled form of an expression: a flat array of typed nodes, children before their
// parents, the root last. Built by the parser (untyped, calls by name) and completed by the
// checker (check.cc: functions resolved to ops, types, tag inputs and state slots).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/types.h"
#include "rules/expr.h"

namespace shopfloor::rules {

enum class Op : uint8_t {
  // leaves
  kNumber, kBool, kString, kDuration, kTag,
  // operators
  kNeg, kNot, kMul, kDiv, kMod, kAdd, kSub, kLt, kLe, kGt, kGe, kEq, kNe, kAnd, kOr,
  // a call by name, before checking; replaced by one of the ops below
  kCall,
  // functions of values
  kIf, kAbs, kMin, kMax, kClamp, kKnown,
  // window functions over a tag
  kWinAvg, kWinMin, kWinMax, kWinStddev, kWinRate, kWinDelta, kWinCount,
  // functions of a tag's latest sample
  kGood, kStale,
  // stateful over time
  kTimeInState, kOnDelay, kOffDelay, kHysteresis,
};

// Static types. Bool and number share one runtime representation (0/1), strings exist only
// as literals and string tags compared with == and !=, durations only as literals.
enum class Type : uint8_t { kNumber, kBool, kString, kDuration };
const char* TypeName(Type type);

struct Node {
  Op op = Op::kNumber;
  Type type = Type::kNumber;
  int line = 1;                 // the operator or function name, or the leaf itself
  int column = 1;
  int start_line = 1;           // where the whole subexpression begins
  int start_column = 1;
  double number = 0.0;          // kNumber, kBool (0/1)
  core::Duration duration = 0;  // kDuration
  std::string text;             // kString: the string; kTag: the series key (the path as
                                // written before checking); kCall: the function name
  bool relative = false;        // kTag before checking: written as $name
  std::vector<int> args;        // indices of operand nodes
  int input = -1;               // kTag, window functions, kGood, kStale: index into inputs
  int slot = -1;                // window functions: window buffer; stateful ops: state slot
};

// One sample buffer shared by every window function over the same (input, length).
struct WindowSpec {
  int input = 0;
  core::Duration length = 0;
  bool track_min = false;
  bool track_max = false;
};

struct Program {
  std::string text;
  std::vector<Node> nodes;      // root last
  std::vector<std::string> inputs;
  std::vector<Type> input_types;  // kNumber, kBool or kString
  std::vector<WindowSpec> windows;
  int state_slots = 0;          // time_in_state, on_delay, off_delay, hysteresis
  ResultType result = ResultType::kNumber;

  int root() const { return static_cast<int>(nodes.size()) - 1; }
};

// "abs", "avg", ... for an op; "+" etc. for operators.
const char* OpName(Op op);
// The canonical text of node `index` (see Expression::ToString).
std::string FormatNode(const Program& program, int index);

}  // namespace shopfloor::rules
