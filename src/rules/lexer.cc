#include "rules/lexer.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

#include "model/plant_config.h"

namespace shopfloor::rules {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsAlpha(c) || IsDigit(c); }
// Characters of asset and tag names (model::IsValidName) plus the path separator.
bool IsPathChar(char c) { return IsIdentChar(c) || c == '.' || c == '-' || c == '/'; }

}  // namespace

core::Status ErrorAt(int line, int column, std::string_view message) {
  core::StatusContext ctx;
  ctx.line = line;
  ctx.column = column;
  return core::Status::InvalidArgument(fmt::format("{}:{}: {}", line, column, message), std::move(ctx));
}

std::string Describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd: return "end of input";
    case TokenKind::kNumber: return fmt::format("number {}", token.text);
    case TokenKind::kDuration: return fmt::format("duration {}", token.text);
    case TokenKind::kString: return fmt::format("string \"{}\"", token.text);
    case TokenKind::kIdent: return fmt::format("'{}'", token.text);
    case TokenKind::kPath: return fmt::format("tag {}", token.text);
    case TokenKind::kRelPath: return fmt::format("tag ${}", token.text);
    default: return fmt::format("'{}'", token.text);
  }
}

void Lexer::Advance(size_t n) {
  for (size_t i = 0; i < n && pos_ < text_.size(); ++i) {
    if (text_[pos_] == '\n') {
      ++line_;
      line_start_ = pos_ + 1;
    }
    ++pos_;
  }
}

void Lexer::SkipBlanksAndComments() {
  for (;;) {
    const char c = Peek();
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      Advance();
    } else if (c == '#') {  // a comment runs to the end of the line
      while (pos_ < text_.size() && text_[pos_] != '\n') Advance();
    } else {
      return;
    }
  }
}

core::Status Lexer::Next(Token* token) {
  SkipBlanksAndComments();
  *token = Token{};
  token->line = line_;
  token->column = static_cast<int>(pos_ - line_start_) + 1;
  if (pos_ >= text_.size()) return core::Status::OK();
  const char c = Peek();
  if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) return LexNumber(token);
  if (c == '"') return LexString(token);
  if (IsAlpha(c) || c == '$') {
    LexWord(token);
    if (token->kind == TokenKind::kRelPath && token->text.empty()) {
      return ErrorAt(token->line, token->column, "expected a tag name after '$'");
    }
    return core::Status::OK();
  }
  struct Punct {
    const char* text;
    TokenKind kind;
  };
  static constexpr Punct kPuncts[] = {
      {"<=", TokenKind::kLe}, {">=", TokenKind::kGe}, {"==", TokenKind::kEqEq},
      {"!=", TokenKind::kNotEq}, {"&&", TokenKind::kAndAnd}, {"||", TokenKind::kOrOr},
      {"+", TokenKind::kPlus}, {"-", TokenKind::kMinus}, {"*", TokenKind::kStar},
      {"/", TokenKind::kSlash}, {"%", TokenKind::kPercent}, {"<", TokenKind::kLt},
      {">", TokenKind::kGt}, {"!", TokenKind::kBang}, {"(", TokenKind::kLParen},
      {")", TokenKind::kRParen}, {",", TokenKind::kComma},
  };
  for (const Punct& p : kPuncts) {
    const std::string_view op(p.text);
    if (text_.substr(pos_, op.size()) == op) {
      token->kind = p.kind;
      token->text = std::string(op);
      Advance(op.size());
      return core::Status::OK();
    }
  }
  if (c == '=') return ErrorAt(token->line, token->column, "unexpected '=' (compare with '==')");
  if (c == '&' || c == '|') {
    return ErrorAt(token->line, token->column, fmt::format("unexpected '{}' (did you mean '{}{}'?)", c, c, c));
  }
  const auto byte = static_cast<unsigned char>(c);
  if (byte < 0x20 || byte >= 0x7f) {
    return ErrorAt(token->line, token->column, fmt::format("unexpected byte 0x{:02x}", byte));
  }
  return ErrorAt(token->line, token->column, fmt::format("unexpected character '{}'", c));
}

core::Status Lexer::LexNumber(Token* token) {
  const size_t start = pos_;
  bool whole = true;
  while (IsDigit(Peek())) Advance();
  if (Peek() == '.' && IsDigit(Peek(1))) {
    whole = false;
    Advance();
    while (IsDigit(Peek())) Advance();
  }
  if ((Peek() == 'e' || Peek() == 'E') &&
      (IsDigit(Peek(1)) || ((Peek(1) == '+' || Peek(1) == '-') && IsDigit(Peek(2))))) {
    whole = false;
    Advance(2);
    while (IsDigit(Peek())) Advance();
  }
  if (IsAlpha(Peek())) {
    // A duration: digits and unit letters, e.g. 500ms, 1h30m.
    while (IsIdentChar(Peek())) Advance();
    token->text = std::string(text_.substr(start, pos_ - start));
    if (!whole) {
      return ErrorAt(token->line, token->column,
                     fmt::format("invalid duration '{}': use whole numbers of a unit (e.g. 1500ms)", token->text));
    }
    auto duration = model::ParseDuration(token->text);
    if (!duration.ok()) {
      return ErrorAt(token->line, token->column,
                     fmt::format("invalid duration '{}' (units ns, us, ms, s, m, h, d, w)", token->text));
    }
    token->kind = TokenKind::kDuration;
    token->duration = *duration;
    return core::Status::OK();
  }
  token->text = std::string(text_.substr(start, pos_ - start));
  token->number = std::strtod(token->text.c_str(), nullptr);
  if (!std::isfinite(token->number)) {
    return ErrorAt(token->line, token->column, fmt::format("number '{}' is out of range", token->text));
  }
  token->kind = TokenKind::kNumber;
  return core::Status::OK();
}

core::Status Lexer::LexString(Token* token) {
  Advance();  // the opening quote
  std::string out;
  for (;;) {
    if (pos_ >= text_.size() || Peek() == '\n') {
      return ErrorAt(token->line, token->column, "unterminated string");
    }
    const char c = Peek();
    if (c == '"') {
      Advance();
      break;
    }
    if (c == '\\') {
      const char e = Peek(1);
      const int line = line_;
      const int column = static_cast<int>(pos_ - line_start_) + 1;
      if (e == '"' || e == '\\') {
        out += e;
      } else if (e == 'n') {
        out += '\n';
      } else if (e == 't') {
        out += '\t';
      } else {
        return ErrorAt(line, column, "unknown escape in string (use \\\" \\\\ \\n \\t)");
      }
      Advance(2);
      continue;
    }
    out += c;
    Advance();
  }
  token->kind = TokenKind::kString;
  token->text = std::move(out);
  return core::Status::OK();
}

void Lexer::LexWord(Token* token) {
  if (Peek() == '$') {
    Advance();
    const size_t start = pos_;
    while (IsPathChar(Peek())) Advance();
    token->kind = TokenKind::kRelPath;
    token->text = std::string(text_.substr(start, pos_ - start));
    return;
  }
  // Greedy over path characters; a path is a word with a '/' in it. Anything else is an
  // identifier, which stops at the first character that is not [A-Za-z0-9_], so "x-1"
  // still lexes as x, -, 1.
  size_t end = pos_;
  bool slash = false;
  while (end < text_.size() && IsPathChar(text_[end])) {
    slash = slash || text_[end] == '/';
    ++end;
  }
  if (!slash) {
    end = pos_;
    while (end < text_.size() && IsIdentChar(text_[end])) ++end;
  }
  token->kind = slash ? TokenKind::kPath : TokenKind::kIdent;
  token->text = std::string(text_.substr(pos_, end - pos_));
  Advance(end - pos_);
}

}  // namespace shopfloor::rules
