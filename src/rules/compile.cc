// Compile() and the Expression accessors; the canonical text of a program.
#include <fmt/format.h>

#include <memory>

#include "rules/check.h"
#include "rules/expr.h"
#include "rules/parser.h"
#include "rules/program.h"

namespace shopfloor::rules {

const char* TypeName(Type type) {
  switch (type) {
    case Type::kNumber: return "number";
    case Type::kBool: return "bool";
    case Type::kString: return "string";
    case Type::kDuration: return "duration";
  }
  return "?";
}

const char* OpName(Op op) {
  switch (op) {
    case Op::kNumber: return "number";
    case Op::kBool: return "bool";
    case Op::kString: return "string";
    case Op::kDuration: return "duration";
    case Op::kTag: return "tag";
    case Op::kNeg: return "-";
    case Op::kNot: return "not";
    case Op::kMul: return "*";
    case Op::kDiv: return "/";
    case Op::kMod: return "%";
    case Op::kAdd: return "+";
    case Op::kSub: return "-";
    case Op::kLt: return "<";
    case Op::kLe: return "<=";
    case Op::kGt: return ">";
    case Op::kGe: return ">=";
    case Op::kEq: return "==";
    case Op::kNe: return "!=";
    case Op::kAnd: return "and";
    case Op::kOr: return "or";
    case Op::kCall: return "call";
    case Op::kIf: return "if";
    case Op::kAbs: return "abs";
    case Op::kMin: case Op::kWinMin: return "min";
    case Op::kMax: case Op::kWinMax: return "max";
    case Op::kClamp: return "clamp";
    case Op::kKnown: return "known";
    case Op::kWinAvg: return "avg";
    case Op::kWinStddev: return "stddev";
    case Op::kWinRate: return "rate";
    case Op::kWinDelta: return "delta";
    case Op::kWinCount: return "count";
    case Op::kGood: return "good";
    case Op::kStale: return "stale";
    case Op::kTimeInState: return "time_in_state";
    case Op::kOnDelay: return "on_delay";
    case Op::kOffDelay: return "off_delay";
    case Op::kHysteresis: return "hysteresis";
  }
  return "?";
}

namespace {

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool IsBinary(Op op) { return op >= Op::kMul && op <= Op::kOr; }

}  // namespace

std::string FormatNode(const Program& program, int index) {
  const Node& node = program.nodes[index];
  switch (node.op) {
    case Op::kNumber: return fmt::format("{}", node.number);
    case Op::kBool: return node.number != 0 ? "true" : "false";
    case Op::kString: return Quote(node.text);
    case Op::kDuration: return node.text;
    case Op::kTag: {
      // A bare path must start like an identifier to lex as one; otherwise quote it.
      const char c = node.text.empty() ? '0' : node.text[0];
      const bool bare = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
      if (node.relative && node.input < 0) return "$" + node.text;  // not checked yet
      return bare ? node.text : fmt::format("tag({})", Quote(node.text));
    }
    case Op::kNeg: return fmt::format("(-{})", FormatNode(program, node.args[0]));
    case Op::kNot: return fmt::format("(not {})", FormatNode(program, node.args[0]));
    default: break;
  }
  if (IsBinary(node.op)) {
    return fmt::format("({} {} {})", FormatNode(program, node.args[0]), OpName(node.op),
                       FormatNode(program, node.args[1]));
  }
  std::string out = node.op == Op::kCall ? node.text : OpName(node.op);
  out += '(';
  for (size_t i = 0; i < node.args.size(); ++i) {
    if (i > 0) out += ", ";
    out += FormatNode(program, node.args[i]);
  }
  return out + ')';
}

core::Result<Expression> Compile(std::string_view text, std::string_view base_asset, const Resolver& resolver) {
  auto program = std::make_shared<Program>();
  program->text = std::string(text.substr(0, kMaxTextBytes));
  SF_RETURN_IF_ERROR(Parse(text, program.get()));
  SF_RETURN_IF_ERROR(Check(base_asset, resolver, program.get()));
  return Expression(std::move(program));
}

const std::vector<std::string>& Expression::inputs() const { return program_->inputs; }
ResultType Expression::type() const { return program_->result; }
const std::string& Expression::text() const { return program_->text; }
std::string Expression::ToString() const { return FormatNode(*program_, program_->root()); }

}  // namespace shopfloor::rules
