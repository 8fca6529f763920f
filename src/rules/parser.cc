#include "rules/parser.h"

#include <fmt/format.h>

#include <utility>

#include "rules/lexer.h"

namespace shopfloor::rules {
namespace {

class Parser {
 public:
  Parser(std::string_view text, Program* program) : lexer_(text), program_(program) {}

  core::Status Run() {
    SF_RETURN_IF_ERROR(Advance());
    if (token_.kind == TokenKind::kEnd) return Error("empty expression");
    int root = -1;
    SF_RETURN_IF_ERROR(ParseOr(&root));
    if (token_.kind != TokenKind::kEnd) {
      return Error(fmt::format("expected an operator or end of input, got {}", Describe(token_)));
    }
    return core::Status::OK();
  }

 private:
  core::Status Advance() { return lexer_.Next(&token_); }
  core::Status Error(std::string_view message) const { return ErrorAt(token_.line, token_.column, message); }
  bool IsKeyword(std::string_view word) const { return token_.kind == TokenKind::kIdent && token_.text == word; }

  int Add(Node node) {
    node.start_line = node.line;
    node.start_column = node.column;
    program_->nodes.push_back(std::move(node));
    return static_cast<int>(program_->nodes.size()) - 1;
  }
  int AddOp(Op op, const Token& at, std::vector<int> args) {
    Node node;
    node.op = op;
    node.line = at.line;
    node.column = at.column;
    node.args = std::move(args);
    const int index = Add(std::move(node));
    // A binary operator's subexpression starts at its left operand; a unary one at itself.
    Node& added = program_->nodes[index];
    if (added.args.size() == 2) {
      added.start_line = program_->nodes[added.args[0]].start_line;
      added.start_column = program_->nodes[added.args[0]].start_column;
    }
    return index;
  }

  // Binary levels, loosest first. Each returns the index of the node it built.
  core::Status ParseOr(int* out) {
    SF_RETURN_IF_ERROR(ParseAnd(out));
    while (token_.kind == TokenKind::kOrOr || IsKeyword("or")) {
      const Token op = token_;
      SF_RETURN_IF_ERROR(Advance());
      int rhs = -1;
      SF_RETURN_IF_ERROR(ParseAnd(&rhs));
      *out = AddOp(Op::kOr, op, {*out, rhs});
    }
    return core::Status::OK();
  }
  core::Status ParseAnd(int* out) {
    SF_RETURN_IF_ERROR(ParseEquality(out));
    while (token_.kind == TokenKind::kAndAnd || IsKeyword("and")) {
      const Token op = token_;
      SF_RETURN_IF_ERROR(Advance());
      int rhs = -1;
      SF_RETURN_IF_ERROR(ParseEquality(&rhs));
      *out = AddOp(Op::kAnd, op, {*out, rhs});
    }
    return core::Status::OK();
  }
  core::Status ParseEquality(int* out) {
    SF_RETURN_IF_ERROR(ParseRelational(out));
    while (token_.kind == TokenKind::kEqEq || token_.kind == TokenKind::kNotEq) {
      const Token op = token_;
      SF_RETURN_IF_ERROR(Advance());
      int rhs = -1;
      SF_RETURN_IF_ERROR(ParseRelational(&rhs));
      *out = AddOp(op.kind == TokenKind::kEqEq ? Op::kEq : Op::kNe, op, {*out, rhs});
    }
    return core::Status::OK();
  }
  core::Status ParseRelational(int* out) {
    SF_RETURN_IF_ERROR(ParseAdditive(out));
    for (;;) {
      Op op_code;
      switch (token_.kind) {
        case TokenKind::kLt: op_code = Op::kLt; break;
        case TokenKind::kLe: op_code = Op::kLe; break;
        case TokenKind::kGt: op_code = Op::kGt; break;
        case TokenKind::kGe: op_code = Op::kGe; break;
        default: return core::Status::OK();
      }
      const Token op = token_;
      SF_RETURN_IF_ERROR(Advance());
      int rhs = -1;
      SF_RETURN_IF_ERROR(ParseAdditive(&rhs));
      *out = AddOp(op_code, op, {*out, rhs});
    }
  }
  core::Status ParseAdditive(int* out) {
    SF_RETURN_IF_ERROR(ParseMultiplicative(out));
    while (token_.kind == TokenKind::kPlus || token_.kind == TokenKind::kMinus) {
      const Token op = token_;
      SF_RETURN_IF_ERROR(Advance());
      int rhs = -1;
      SF_RETURN_IF_ERROR(ParseMultiplicative(&rhs));
      *out = AddOp(op.kind == TokenKind::kPlus ? Op::kAdd : Op::kSub, op, {*out, rhs});
    }
    return core::Status::OK();
  }
  core::Status ParseMultiplicative(int* out) {
    SF_RETURN_IF_ERROR(ParseUnary(out));
    for (;;) {
      Op op_code;
      switch (token_.kind) {
        case TokenKind::kStar: op_code = Op::kMul; break;
        case TokenKind::kSlash: op_code = Op::kDiv; break;
        case TokenKind::kPercent: op_code = Op::kMod; break;
        default: return core::Status::OK();
      }
      const Token op = token_;
      SF_RETURN_IF_ERROR(Advance());
      int rhs = -1;
      SF_RETURN_IF_ERROR(ParseUnary(&rhs));
      *out = AddOp(op_code, op, {*out, rhs});
    }
  }

  core::Status ParseUnary(int* out) {
    if (++depth_ > kMaxDepth) return Error(fmt::format("expression nested deeper than {} levels", kMaxDepth));
    core::Status status;
    if (token_.kind == TokenKind::kMinus || token_.kind == TokenKind::kBang || IsKeyword("not")) {
      const Token op = token_;
      status = Advance();
      int operand = -1;
      if (status.ok()) status = ParseUnary(&operand);
      if (status.ok()) *out = AddOp(op.kind == TokenKind::kMinus ? Op::kNeg : Op::kNot, op, {operand});
    } else {
      status = ParsePrimary(out);
    }
    --depth_;
    return status;
  }

  core::Status ParsePrimary(int* out) {
    const Token first = token_;
    Node leaf;
    leaf.line = first.line;
    leaf.column = first.column;
    switch (first.kind) {
      case TokenKind::kNumber:
        leaf.op = Op::kNumber;
        leaf.number = first.number;
        break;
      case TokenKind::kDuration:
        leaf.op = Op::kDuration;
        leaf.type = Type::kDuration;
        leaf.duration = first.duration;
        leaf.text = first.text;
        break;
      case TokenKind::kString:
        leaf.op = Op::kString;
        leaf.type = Type::kString;
        leaf.text = first.text;
        break;
      case TokenKind::kPath:
      case TokenKind::kRelPath:
        leaf.op = Op::kTag;
        leaf.relative = first.kind == TokenKind::kRelPath;
        leaf.text = first.text;
        break;
      case TokenKind::kLParen: {
        SF_RETURN_IF_ERROR(Advance());
        SF_RETURN_IF_ERROR(ParseOr(out));
        if (token_.kind != TokenKind::kRParen) {
          return Error(fmt::format("expected ')' to close the '(' at {}:{}, got {}", first.line, first.column,
                                   Describe(token_)));
        }
        return Advance();
      }
      case TokenKind::kIdent:
        if (first.text == "true" || first.text == "false") {
          leaf.op = Op::kBool;
          leaf.type = Type::kBool;
          leaf.number = first.text == "true" ? 1.0 : 0.0;
          break;
        }
        return ParseCall(out);
      case TokenKind::kEnd:
        return Error("unexpected end of input, expected a value");
      default:
        return Error(fmt::format("expected a value, got {}", Describe(first)));
    }
    *out = Add(std::move(leaf));
    return Advance();
  }

  core::Status ParseCall(int* out) {
    const Token name = token_;
    if (name.text == "and" || name.text == "or" || name.text == "not") {
      return Error(fmt::format("expected a value, got '{}'", name.text));
    }
    SF_RETURN_IF_ERROR(Advance());
    if (token_.kind != TokenKind::kLParen) {
      return ErrorAt(name.line, name.column,
                     fmt::format("unknown name '{}' (a tag is written as <asset path>/<tag>, $tag or "
                                 "tag(\"...\"); a function needs '(')",
                                 name.text));
    }
    SF_RETURN_IF_ERROR(Advance());
    if (name.text == "tag") return ParseQuotedTag(name, out);
    std::vector<int> args;
    if (token_.kind != TokenKind::kRParen) {
      for (;;) {
        int arg = -1;
        SF_RETURN_IF_ERROR(ParseOr(&arg));
        args.push_back(arg);
        if (token_.kind == TokenKind::kComma) {
          SF_RETURN_IF_ERROR(Advance());
          continue;
        }
        if (token_.kind == TokenKind::kRParen) break;
        return Error(fmt::format("expected ',' or ')' in the arguments of {}(), got {}", name.text,
                                 Describe(token_)));
      }
    }
    Node call;
    call.op = Op::kCall;
    call.line = name.line;
    call.column = name.column;
    call.text = name.text;
    call.args = std::move(args);
    *out = Add(std::move(call));
    return Advance();
  }

  // tag("demo-works/.../discharge_pressure") or tag("$discharge_pressure").
  core::Status ParseQuotedTag(const Token& name, int* out) {
    if (token_.kind != TokenKind::kString) {
      return Error(fmt::format("tag() takes one string literal, got {}", Describe(token_)));
    }
    Node leaf;
    leaf.op = Op::kTag;
    leaf.line = token_.line;
    leaf.column = token_.column;
    leaf.relative = !token_.text.empty() && token_.text[0] == '$';
    leaf.text = leaf.relative ? token_.text.substr(1) : token_.text;
    SF_RETURN_IF_ERROR(Advance());
    if (token_.kind != TokenKind::kRParen) {
      return Error(fmt::format("expected ')' after the path in tag() at {}:{}, got {}", name.line, name.column,
                               Describe(token_)));
    }
    *out = Add(std::move(leaf));
    return Advance();
  }

  Lexer lexer_;
  Program* program_;
  Token token_;
  int depth_ = 0;
};

}  // namespace

core::Status Parse(std::string_view text, Program* program) {
  if (text.size() > kMaxTextBytes) {
    return ErrorAt(1, 1, fmt::format("expression is {} bytes, the limit is {}", text.size(), kMaxTextBytes));
  }
  return Parser(text, program).Run();
}

}  // namespace shopfloor::rules
