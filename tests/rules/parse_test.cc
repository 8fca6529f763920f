// Parsing and checking: precedence (through the canonical form), every function, tag
// references, and every error with its line:column.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "rules/expr.h"

namespace shopfloor::rules {
namespace {

constexpr const char* kBase = "demo-works/stuttgart/utilities/compressor-1";

std::string Canon(std::string_view text) {
  auto expr = Compile(text, kBase);
  EXPECT_TRUE(expr.ok()) << text << ": " << expr.status().ToString();
  return expr.ok() ? expr->ToString() : "";
}

std::string ErrorOf(std::string_view text, const Resolver& resolver = {}) {
  auto expr = Compile(text, kBase, resolver);
  if (expr.ok()) return "compiled: " + expr->ToString();
  const core::Status status = expr.status();  // a copy: context() refers into it
  EXPECT_TRUE(status.IsInvalidArgument());
  const auto& ctx = status.context();
  EXPECT_TRUE(ctx.line && ctx.column);
  // The message starts with the same position as the context.
  if (ctx.line && ctx.column) {
    EXPECT_EQ(status.message().rfind(std::to_string(*ctx.line) + ":" + std::to_string(*ctx.column) + ": ", 0), 0u)
        << status.message();
  }
  return status.message();
}

TEST(ParseTest, PrecedenceIsCLike) {
  EXPECT_EQ(Canon("1 + 2 * 3"), "(1 + (2 * 3))");
  EXPECT_EQ(Canon("1 - 2 - 3"), "((1 - 2) - 3)");
  EXPECT_EQ(Canon("8 / 4 / 2"), "((8 / 4) / 2)");
  EXPECT_EQ(Canon("7 % 4 * 2"), "((7 % 4) * 2)");
  EXPECT_EQ(Canon("(1 + 2) * 3"), "((1 + 2) * 3)");
  EXPECT_EQ(Canon("-2 * 3"), "((-2) * 3)");
  EXPECT_EQ(Canon("- -2"), "(-(-2))");
  EXPECT_EQ(Canon("1 + 2 < 4 == true"), "(((1 + 2) < 4) == true)");
  EXPECT_EQ(Canon("1 < 2 and 3 > 4 or 5 <= 6"), "(((1 < 2) and (3 > 4)) or (5 <= 6))");
  EXPECT_EQ(Canon("true or false and false"), "(true or (false and false))");
  EXPECT_EQ(Canon("true || false && false"), "(true or (false and false))");
  EXPECT_EQ(Canon("not true and false"), "((not true) and false)");
  EXPECT_EQ(Canon("!true == false"), "((not true) == false)");
  EXPECT_EQ(Canon("1 >= 2 != 3 < 4"), "((1 >= 2) != (3 < 4))");
}

TEST(ParseTest, Literals) {
  EXPECT_EQ(Canon("2.5 + 1e3 + .5 + 1E-2"), "(((2.5 + 1000) + 0.5) + 0.01)");
  EXPECT_EQ(Canon("\"a\\\"b\" == \"x\""), "(\"a\\\"b\" == \"x\")");
  EXPECT_EQ(Canon("on_delay(true, 1h30m) or on_delay(true, 500ms)"),
            "(on_delay(true, 1h30m) or on_delay(true, 500ms))");
}

TEST(ParseTest, TagReferences) {
  auto expr = Compile(
      "demo-works/stuttgart/utilities/compressor-1/discharge_pressure > 8 and $vibration_rms < 4.5 and "
      "tag(\"demo-works/stuttgart/utilities/compressor-1/discharge_pressure\") > 0 and tag(\"$state\") == 6",
      kBase);
  ASSERT_TRUE(expr.ok()) << expr.status().ToString();
  EXPECT_EQ(expr->type(), ResultType::kBool);
  // Each series once, in order of first appearance.
  ASSERT_EQ(expr->inputs().size(), 3u);
  EXPECT_EQ(expr->inputs()[0], "demo-works/stuttgart/utilities/compressor-1/discharge_pressure");
  EXPECT_EQ(expr->inputs()[1], "demo-works/stuttgart/utilities/compressor-1/vibration_rms");
  EXPECT_EQ(expr->inputs()[2], "demo-works/stuttgart/utilities/compressor-1/state");
  // Paths are greedy: a '-' or '/' right after a path belongs to it; with spaces it is an operator.
  EXPECT_EQ(Canon("a/b-1"), "a/b-1");
  EXPECT_EQ(Canon("a/b - 1"), "(a/b - 1)");
  EXPECT_EQ(Canon("$x / 2"), "(demo-works/stuttgart/utilities/compressor-1/x / 2)");
  EXPECT_EQ(Canon("$motor/temperature"), "demo-works/stuttgart/utilities/compressor-1/motor/temperature");
  // A path that does not start like an identifier is printed quoted, and reads back.
  EXPECT_EQ(Canon("tag(\"1plant/site/t\") + 1"), "(tag(\"1plant/site/t\") + 1)");
  EXPECT_EQ(Canon("tag(\"1plant/site/t\") + 1"), Canon(Canon("tag(\"1plant/site/t\") + 1")));
}

TEST(ParseTest, EveryFunctionCompilesWithItsType) {
  const std::map<std::string, ResultType> cases = {
      {"abs(-1)", ResultType::kNumber},
      {"min(1, 2)", ResultType::kNumber},
      {"max(1, 2, 3, 4, 5)", ResultType::kNumber},
      {"clamp($p, 0, 10)", ResultType::kNumber},
      {"if($p > 1, 2, 3)", ResultType::kNumber},
      {"if($p > 1, true, false)", ResultType::kBool},
      {"known($p)", ResultType::kBool},
      {"avg($p, 5m)", ResultType::kNumber},
      {"min($p, 5m)", ResultType::kNumber},
      {"max($p, 5m)", ResultType::kNumber},
      {"stddev($p, 5m)", ResultType::kNumber},
      {"rate($p, 1m)", ResultType::kNumber},
      {"delta($p, 10m)", ResultType::kNumber},
      {"count($p, 1h)", ResultType::kNumber},
      {"time_in_state($state == 6, 1h)", ResultType::kNumber},
      {"good($p)", ResultType::kBool},
      {"stale($p, 30s)", ResultType::kBool},
      {"on_delay($p > 8, 10s)", ResultType::kBool},
      {"off_delay($p > 8, 10s)", ResultType::kBool},
      {"hysteresis($p, 7.5, 8.5)", ResultType::kBool},
  };
  for (const auto& [text, type] : cases) {
    auto expr = Compile(text, kBase);
    ASSERT_TRUE(expr.ok()) << text << ": " << expr.status().ToString();
    EXPECT_EQ(expr->type(), type) << text;
    // The canonical form compiles to itself.
    auto again = Compile(expr->ToString(), "");
    ASSERT_TRUE(again.ok()) << expr->ToString();
    EXPECT_EQ(again->ToString(), expr->ToString());
  }
}

TEST(ParseTest, SyntaxErrorsNameLineAndColumn) {
  EXPECT_EQ(ErrorOf(""), "1:1: empty expression");
  EXPECT_EQ(ErrorOf("   # only a comment"), "1:20: empty expression");
  EXPECT_EQ(ErrorOf("(1, 2)"), "1:3: expected ')' to close the '(' at 1:1, got ','");
  EXPECT_EQ(ErrorOf("max(1, 2"), "1:9: expected ',' or ')' in the arguments of max(), got end of input");
  EXPECT_EQ(ErrorOf("abs(1 2)"), "1:7: expected ',' or ')' in the arguments of abs(), got number 2");
  EXPECT_EQ(ErrorOf("1 +"), "1:4: unexpected end of input, expected a value");
  EXPECT_EQ(ErrorOf("1 2"), "1:3: expected an operator or end of input, got number 2");
  EXPECT_EQ(ErrorOf("1 = 2"), "1:3: unexpected '=' (compare with '==')");
  EXPECT_EQ(ErrorOf("true & false"), "1:6: unexpected '&' (did you mean '&&'?)");
  EXPECT_EQ(ErrorOf("1 ^ 2"), "1:3: unexpected character '^'");
  EXPECT_EQ(ErrorOf("\"abc"), "1:1: unterminated string");
  EXPECT_EQ(ErrorOf("\"a\\qb\" == \"\""), "1:3: unknown escape in string (use \\\" \\\\ \\n \\t)");
  EXPECT_EQ(ErrorOf("on_delay(true, 1.5s)"), "1:16: invalid duration '1.5s': use whole numbers of a unit (e.g. 1500ms)");
  EXPECT_EQ(ErrorOf("on_delay(true, 10x)"), "1:16: invalid duration '10x' (units ns, us, ms, s, m, h, d, w)");
  EXPECT_EQ(ErrorOf("1e999"), "1:1: number '1e999' is out of range");
  EXPECT_EQ(ErrorOf("pressure > 1"), "1:1: unknown name 'pressure' (a tag is written as <asset path>/<tag>, "
                                     "$tag or tag(\"...\"); a function needs '(')");
  EXPECT_EQ(ErrorOf("$ > 1"), "1:1: expected a tag name after '$'");
  EXPECT_EQ(ErrorOf("tag(1)"), "1:5: tag() takes one string literal, got number 1");
  EXPECT_EQ(ErrorOf("tag(\"a/b\", 2)"), "1:10: expected ')' after the path in tag() at 1:1, got ','");
  EXPECT_EQ(ErrorOf("1 and and 2"), "1:7: expected a value, got 'and'");
  EXPECT_EQ(ErrorOf("1 +\n  (2 *\n   )"), "3:4: expected a value, got ')'");
  EXPECT_EQ(ErrorOf("1 + \x01"), "1:5: unexpected byte 0x01");
  EXPECT_EQ(ErrorOf(std::string(100, '(') + "1" + std::string(100, ')')),
            "1:65: expression nested deeper than 64 levels");
  std::string chain = "1";
  for (int i = 0; i < 300; ++i) chain += "+1";
  EXPECT_EQ(ErrorOf(chain), "1:512: expression is more than 256 levels deep");
  EXPECT_EQ(ErrorOf(std::string(kMaxTextBytes + 1, ' ')), "1:1: expression is 65537 bytes, the limit is 65536");
}

TEST(ParseTest, TypeErrorsNameLineAndColumn) {
  EXPECT_EQ(ErrorOf("frobnicate(1)"), "1:1: unknown function 'frobnicate'");
  EXPECT_EQ(ErrorOf("abs(1, 2)"), "1:1: abs() takes 1 argument, got 2");
  EXPECT_EQ(ErrorOf("x + if(true, 1)"), "1:1: unknown name 'x' (a tag is written as <asset path>/<tag>, $tag or "
                                        "tag(\"...\"); a function needs '(')");
  EXPECT_EQ(ErrorOf("1 + if(true, 1)"), "1:5: if() takes 3 arguments, got 2");
  EXPECT_EQ(ErrorOf("min(1)"), "1:1: min() takes at least 2 arguments, got 1");
  EXPECT_EQ(ErrorOf("avg($p)"), "1:1: avg() takes 2 arguments, got 1");
  EXPECT_EQ(ErrorOf("avg($p + 1, 5m)"), "1:5: avg() takes a tag as its first argument (e.g. avg($pressure, 5m))");
  EXPECT_EQ(ErrorOf("avg($p, 5)"), "1:9: the window of avg() expects a duration such as 30s or 5m, got number");
  EXPECT_EQ(ErrorOf("avg($p, 0s)"), "1:9: the window of avg() must be a positive duration of at most 366d, got 0s");
  EXPECT_EQ(ErrorOf("count($p, 400d)"), "1:11: the window of count() must be a positive duration of at most 366d, got 400d");
  EXPECT_EQ(ErrorOf("on_delay($p > 1, 0)"), "1:18: the delay of on_delay() expects a duration such as 30s or 5m, got number");
  EXPECT_EQ(ErrorOf("time_in_state(\"x\", 1h)"), "1:15: time_in_state() expects a condition, got string");
  EXPECT_EQ(ErrorOf("stale($p, 1)"), "1:11: the age limit of stale() expects a duration such as 30s or 5m, got number");
  EXPECT_EQ(ErrorOf("good(1)"), "1:6: good() takes a tag as its first argument (e.g. good($pressure, 5m))");
  EXPECT_EQ(ErrorOf("5m + 1"), "1:1: '+' expects a number, got duration 5m (a duration is only allowed as the "
                               "window or delay of a function)");
  EXPECT_EQ(ErrorOf("1 + true"), "1:5: '+' expects a number, got bool");
  EXPECT_EQ(ErrorOf("-\"a\" > 0"), "1:2: '-' expects a number, got string");
  EXPECT_EQ(ErrorOf("\"a\" == 1"), "1:5: '==' compares a string with a number");
  EXPECT_EQ(ErrorOf("\"a\""), "1:1: the expression must be a number or a condition, got string");
  EXPECT_EQ(ErrorOf("if(true, \"a\", 1)"), "1:10: if() branches must be numbers or conditions, got string");
  EXPECT_EQ(ErrorOf("hysteresis($p, true, 2)"), "1:16: hysteresis() expects a number, got bool");
  EXPECT_EQ(ErrorOf("a/b/ > 1"), "1:1: invalid tag path 'a/b/': '' is not a valid asset or tag name");
  EXPECT_EQ(ErrorOf("tag(\"plant\") > 1"), "1:5: invalid tag path 'plant': expected <asset path>/<tag>");
  auto no_base = Compile("$p > 1", "");
  ASSERT_FALSE(no_base.ok());
  EXPECT_EQ(no_base.status().message(), "1:1: $p is relative to the rule's asset, but the rule has none");
}

TEST(ParseTest, ResolverChecksTagsAndTypes) {
  const std::map<std::string, core::ValueType, std::less<>> model = {
      {std::string(kBase) + "/discharge_pressure", core::ValueType::kDouble},
      {std::string(kBase) + "/state", core::ValueType::kInt64},
      {std::string(kBase) + "/running", core::ValueType::kBool},
      {std::string(kBase) + "/mode", core::ValueType::kString},
  };
  Resolver resolver = [&](std::string_view key) -> std::optional<core::ValueType> {
    auto it = model.find(key);
    if (it == model.end()) return std::nullopt;
    return it->second;
  };
  auto ok = Compile("$running and $mode == \"auto\" and avg($discharge_pressure, 1m) > 7 and $state == 6",
                    kBase, resolver);
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ErrorOf("$discharge_presure > 7", resolver),
            "1:1: unknown tag 'demo-works/stuttgart/utilities/compressor-1/discharge_presure'");
  EXPECT_EQ(ErrorOf("1 +\n $running", resolver), "2:2: '+' expects a number, got bool");
  EXPECT_EQ(ErrorOf("$mode == 1", resolver), "1:7: '==' compares a string with a number");
  EXPECT_EQ(ErrorOf("avg($mode, 1m)", resolver),
            "1:5: avg() needs a numeric or boolean tag, demo-works/stuttgart/utilities/compressor-1/mode is a string");
  // Without a resolver every tag is a number.
  EXPECT_EQ(ErrorOf("$mode == \"auto\""), "1:7: '==' compares a number with a string");
}

}  // namespace
}  // namespace shopfloor::rules
