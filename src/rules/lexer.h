// Tokens of the expression language (grammar: docs/rules.md).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "core/types.h"

namespace shopfloor::rules {

enum class TokenKind : uint8_t {
  kEnd,
  kNumber,    // 1, 2.5, 1e3, .5
  kDuration,  // 500ms, 10s, 1h30m
  kString,    // "text" (escapes \" \\ \n \t decoded)
  kIdent,     // abs, avg, and, true, ...
  kPath,      // an absolute tag path: a name, then '/' and more names
  kRelPath,   // $name (or $child/name): relative to the rule's base asset; text without '$'
  kPlus, kMinus, kStar, kSlash, kPercent,
  kLt, kLe, kGt, kGe, kEqEq, kNotEq, kBang, kAndAnd, kOrOr,
  kLParen, kRParen, kComma,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;             // as decoded (strings, paths, identifiers) or as written
  double number = 0.0;
  core::Duration duration = 0;
  int line = 1;
  int column = 1;
};

// "')'", "number 2.5", "identifier 'avg'", "end of input": for "expected X, got Y" messages.
std::string Describe(const Token& token);

// An error at a 1-based position: InvalidArgument "line:column: message" with the position
// also in the context.
core::Status ErrorAt(int line, int column, std::string_view message);

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}
  // The next token; kEnd at the end (and again after it).
  core::Status Next(Token* token);

 private:
  core::Status LexNumber(Token* token);
  core::Status LexString(Token* token);
  void LexWord(Token* token);
  void SkipBlanksAndComments();
  char Peek(size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }
  void Advance(size_t n = 1);

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
};

}  // namespace shopfloor::rules
