#include "rules/check.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <unordered_map>

#include "model/plant_config.h"
#include "rules/lexer.h"

namespace shopfloor::rules {
namespace {

struct FunctionInfo {
  const char* name;
  Op op;
  int min_args;
  int max_args;  // -1: any number
};

// Calls by name. min and max are listed twice: with two numbers they are the functions of
// values, with (tag, duration) the window functions; Checker::Call picks by the arguments.
constexpr FunctionInfo kFunctions[] = {
    {"if", Op::kIf, 3, 3},           {"abs", Op::kAbs, 1, 1},
    {"min", Op::kMin, 2, -1},        {"max", Op::kMax, 2, -1},
    {"clamp", Op::kClamp, 3, 3},     {"known", Op::kKnown, 1, 1},
    {"avg", Op::kWinAvg, 2, 2},      {"stddev", Op::kWinStddev, 2, 2},
    {"rate", Op::kWinRate, 2, 2},    {"delta", Op::kWinDelta, 2, 2},
    {"count", Op::kWinCount, 2, 2},  {"good", Op::kGood, 1, 1},
    {"stale", Op::kStale, 2, 2},     {"time_in_state", Op::kTimeInState, 2, 2},
    {"on_delay", Op::kOnDelay, 2, 2}, {"off_delay", Op::kOffDelay, 2, 2},
    {"hysteresis", Op::kHysteresis, 3, 3},
};

class Checker {
 public:
  Checker(std::string_view base_asset, const Resolver& resolver, Program* program)
      : base_(base_asset), resolver_(resolver), program_(program) {}

  core::Status Run() {
    std::vector<int> height(program_->nodes.size(), 1);
    for (size_t i = 0; i < program_->nodes.size(); ++i) {
      Node& node = program_->nodes[i];
      for (int arg : node.args) height[i] = std::max(height[i], height[arg] + 1);
      if (height[i] > kMaxHeight) {
        return ErrorAt(node.line, node.column, fmt::format("expression is more than {} levels deep", kMaxHeight));
      }
      SF_RETURN_IF_ERROR(CheckNode(&node));
    }
    const Node& root = program_->nodes.back();
    if (root.type != Type::kNumber && root.type != Type::kBool) {
      return ErrorAt(root.start_line, root.start_column,
                     fmt::format("the expression must be a number or a condition, got {}", TypeName(root.type)));
    }
    program_->result = root.type == Type::kBool ? ResultType::kBool : ResultType::kNumber;
    return core::Status::OK();
  }

 private:
  const Node& Arg(const Node& node, size_t i) const { return program_->nodes[node.args[i]]; }
  static core::Status ErrorAtStart(const Node& node, std::string_view message) {
    return ErrorAt(node.start_line, node.start_column, message);
  }

  core::Status RequireNumber(const Node& arg, std::string_view what) const {
    if (arg.type == Type::kNumber) return core::Status::OK();
    if (arg.type == Type::kDuration) {
      return ErrorAtStart(arg, fmt::format("{} expects a number, got duration {} (a duration is only allowed as "
                                           "the window or delay of a function)", what, arg.text));
    }
    return ErrorAtStart(arg, fmt::format("{} expects a number, got {}", what, TypeName(arg.type)));
  }
  // Conditions take booleans, or numbers with C's truthiness (non-zero is true).
  core::Status RequireCondition(const Node& arg, std::string_view what) const {
    if (arg.type == Type::kBool || arg.type == Type::kNumber) return core::Status::OK();
    return ErrorAtStart(arg, fmt::format("{} expects a condition, got {}", what, TypeName(arg.type)));
  }
  core::Status RequireWindow(const Node& arg, std::string_view what) const {
    if (arg.type != Type::kDuration) {
      return ErrorAtStart(arg, fmt::format("{} expects a duration such as 30s or 5m, got {}", what, TypeName(arg.type)));
    }
    if (arg.duration <= 0 || arg.duration > kMaxWindow) {
      return ErrorAtStart(arg, fmt::format("{} must be a positive duration of at most 366d, got {}", what, arg.text));
    }
    return core::Status::OK();
  }
  core::Status RequireTag(const Node& arg, std::string_view fn, bool numeric) const {
    if (arg.op != Op::kTag) {
      return ErrorAtStart(arg, fmt::format("{}() takes a tag as its first argument (e.g. {}($pressure, 5m))", fn, fn));
    }
    if (numeric && arg.type == Type::kString) {
      return ErrorAtStart(arg, fmt::format("{}() needs a numeric or boolean tag, {} is a string", fn, arg.text));
    }
    return core::Status::OK();
  }

  core::Status CheckNode(Node* node) {
    switch (node->op) {
      case Op::kNumber: case Op::kBool: case Op::kString: case Op::kDuration:
        return core::Status::OK();
      case Op::kTag: return Tag(node);
      case Op::kNeg:
        node->type = Type::kNumber;
        return RequireNumber(Arg(*node, 0), "'-'");
      case Op::kNot:
        node->type = Type::kBool;
        return RequireCondition(Arg(*node, 0), "'not'");
      case Op::kMul: case Op::kDiv: case Op::kMod: case Op::kAdd: case Op::kSub:
      case Op::kLt: case Op::kLe: case Op::kGt: case Op::kGe: {
        const bool arithmetic = node->op <= Op::kSub;
        node->type = arithmetic ? Type::kNumber : Type::kBool;
        const std::string what = fmt::format("'{}'", OpName(node->op));
        SF_RETURN_IF_ERROR(RequireNumber(Arg(*node, 0), what));
        return RequireNumber(Arg(*node, 1), what);
      }
      case Op::kEq: case Op::kNe: {
        node->type = Type::kBool;
        const Node& lhs = Arg(*node, 0);
        const Node& rhs = Arg(*node, 1);
        for (const Node* side : {&lhs, &rhs}) {
          if (side->type == Type::kDuration) {
            return ErrorAtStart(*side, fmt::format("'{}' cannot compare durations", OpName(node->op)));
          }
        }
        if ((lhs.type == Type::kString) != (rhs.type == Type::kString)) {
          return ErrorAt(node->line, node->column,
                         fmt::format("'{}' compares a {} with a {}", OpName(node->op), TypeName(lhs.type), TypeName(rhs.type)));
        }
        return core::Status::OK();
      }
      case Op::kAnd: case Op::kOr:
        node->type = Type::kBool;
        SF_RETURN_IF_ERROR(RequireCondition(Arg(*node, 0), fmt::format("'{}'", OpName(node->op))));
        return RequireCondition(Arg(*node, 1), fmt::format("'{}'", OpName(node->op)));
      case Op::kCall: return Call(node);
      default:
        return ErrorAt(node->line, node->column, "internal: node checked twice");
    }
  }

  core::Status Tag(Node* node) {
    std::string key;
    if (node->relative) {
      if (base_.empty()) {
        return ErrorAt(node->line, node->column,
                       fmt::format("${} is relative to the rule's asset, but the rule has none", node->text));
      }
      key = fmt::format("{}/{}", base_, node->text);
    } else {
      key = node->text;
    }
    // Every segment is an asset or tag name; at least an asset and a tag.
    size_t segments = 0;
    size_t begin = 0;
    for (;;) {
      const size_t slash = key.find('/', begin);
      const std::string_view segment = std::string_view(key).substr(begin, slash - begin);
      if (!model::IsValidName(segment)) {
        return ErrorAt(node->line, node->column,
                       fmt::format("invalid tag path '{}': '{}' is not a valid asset or tag name", key, segment));
      }
      ++segments;
      if (slash == std::string::npos) break;
      begin = slash + 1;
    }
    if (segments < 2) {
      return ErrorAt(node->line, node->column,
                     fmt::format("invalid tag path '{}': expected <asset path>/<tag>", key));
    }
    Type type = Type::kNumber;
    if (resolver_) {
      const std::optional<core::ValueType> found = resolver_(key);
      if (!found) return ErrorAt(node->line, node->column, fmt::format("unknown tag '{}'", key));
      type = *found == core::ValueType::kBool ? Type::kBool
             : *found == core::ValueType::kString ? Type::kString : Type::kNumber;
    }
    auto [it, added] = input_index_.emplace(key, static_cast<int>(program_->inputs.size()));
    if (added) {
      program_->inputs.push_back(key);
      program_->input_types.push_back(type);
    }
    node->input = it->second;
    node->type = type;
    node->text = std::move(key);
    return core::Status::OK();
  }

  core::Status Call(Node* node) {
    const FunctionInfo* fn = nullptr;
    for (const FunctionInfo& candidate : kFunctions) {
      if (node->text == candidate.name) fn = &candidate;
    }
    if (fn == nullptr) return ErrorAt(node->line, node->column, fmt::format("unknown function '{}'", node->text));
    const int argc = static_cast<int>(node->args.size());
    if (argc < fn->min_args || (fn->max_args >= 0 && argc > fn->max_args)) {
      const std::string expected = fn->max_args < 0 ? fmt::format("at least {}", fn->min_args)
                                   : fn->min_args == fn->max_args ? fmt::format("{}", fn->min_args)
                                   : fmt::format("{} to {}", fn->min_args, fn->max_args);
      return ErrorAt(node->line, node->column, fmt::format("{}() takes {} argument{}, got {}", fn->name, expected,
                                                           expected == "1" ? "" : "s", argc));
    }
    node->op = fn->op;
    // min(tag, 5m) and max(tag, 5m) are window functions.
    if ((fn->op == Op::kMin || fn->op == Op::kMax) && argc == 2 && Arg(*node, 1).type == Type::kDuration) {
      node->op = fn->op == Op::kMin ? Op::kWinMin : Op::kWinMax;
    }
    const std::string what = fmt::format("{}()", fn->name);
    switch (node->op) {
      case Op::kIf: {
        SF_RETURN_IF_ERROR(RequireCondition(Arg(*node, 0), what));
        const Node& a = Arg(*node, 1);
        const Node& b = Arg(*node, 2);
        for (const Node* branch : {&a, &b}) {
          if (branch->type != Type::kNumber && branch->type != Type::kBool) {
            return ErrorAtStart(*branch, fmt::format("if() branches must be numbers or conditions, got {}",
                                                     TypeName(branch->type)));
          }
        }
        node->type = a.type == Type::kBool && b.type == Type::kBool ? Type::kBool : Type::kNumber;
        return core::Status::OK();
      }
      case Op::kAbs: case Op::kMin: case Op::kMax: case Op::kClamp:
        node->type = Type::kNumber;
        for (size_t i = 0; i < node->args.size(); ++i) SF_RETURN_IF_ERROR(RequireNumber(Arg(*node, i), what));
        return core::Status::OK();
      case Op::kKnown:
        node->type = Type::kBool;
        if (Arg(*node, 0).type == Type::kDuration) return RequireNumber(Arg(*node, 0), what);
        return core::Status::OK();
      case Op::kGood:
        node->type = Type::kBool;
        SF_RETURN_IF_ERROR(RequireTag(Arg(*node, 0), fn->name, false));
        node->input = Arg(*node, 0).input;
        return core::Status::OK();
      case Op::kStale:
        node->type = Type::kBool;
        SF_RETURN_IF_ERROR(RequireTag(Arg(*node, 0), fn->name, false));
        SF_RETURN_IF_ERROR(RequireWindow(Arg(*node, 1), "the age limit of stale()"));
        node->input = Arg(*node, 0).input;
        node->duration = Arg(*node, 1).duration;
        return core::Status::OK();
      case Op::kTimeInState: case Op::kOnDelay: case Op::kOffDelay:
        node->type = node->op == Op::kTimeInState ? Type::kNumber : Type::kBool;
        SF_RETURN_IF_ERROR(RequireCondition(Arg(*node, 0), what));
        SF_RETURN_IF_ERROR(RequireWindow(Arg(*node, 1), fmt::format("the {} of {}",
            node->op == Op::kTimeInState ? "window" : "delay", what)));
        node->duration = Arg(*node, 1).duration;
        node->slot = program_->state_slots++;
        return core::Status::OK();
      case Op::kHysteresis:
        node->type = Type::kBool;
        for (size_t i = 0; i < 3; ++i) SF_RETURN_IF_ERROR(RequireNumber(Arg(*node, i), what));
        node->slot = program_->state_slots++;
        return core::Status::OK();
      default:
        return Window(node, fn->name);
    }
  }

  core::Status Window(Node* node, const char* fn) {
    node->type = Type::kNumber;
    const Node& tag = Arg(*node, 0);
    SF_RETURN_IF_ERROR(RequireTag(tag, fn, true));
    SF_RETURN_IF_ERROR(RequireWindow(Arg(*node, 1), fmt::format("the window of {}()", fn)));
    node->input = tag.input;
    node->duration = Arg(*node, 1).duration;
    auto& windows = program_->windows;
    auto it = std::find_if(windows.begin(), windows.end(), [&](const WindowSpec& w) {
      return w.input == node->input && w.length == node->duration;
    });
    if (it == windows.end()) it = windows.insert(windows.end(), WindowSpec{node->input, node->duration});
    it->track_min = it->track_min || node->op == Op::kWinMin;
    it->track_max = it->track_max || node->op == Op::kWinMax;
    node->slot = static_cast<int>(it - windows.begin());
    return core::Status::OK();
  }

  std::string_view base_;
  const Resolver& resolver_;
  Program* program_;
  std::unordered_map<std::string, int> input_index_;
};

}  // namespace

core::Status Check(std::string_view base_asset, const Resolver& resolver, Program* program) {
  return Checker(base_asset, resolver, program).Run();
}

}  // namespace shopfloor::rules
