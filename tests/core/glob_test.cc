#include "core/glob.h"

#include <gtest/gtest.h>

#include <string>

namespace shopfloor::core {
namespace {

TEST(GlobMatch, SegmentsAndCrossingStars) {
  EXPECT_TRUE(GlobMatch("**", "a/b/c"));
  EXPECT_TRUE(GlobMatch("a/*/c", "a/b/c"));
  EXPECT_FALSE(GlobMatch("a/*", "a/b/c"));
  EXPECT_TRUE(GlobMatch("a/**", "a/b/c"));
  EXPECT_TRUE(GlobMatch("demo-works/**/energy*", "demo-works/stuttgart/utilities/main-meter/energy_import"));
  EXPECT_FALSE(GlobMatch("demo-works/**/energy*", "demo-works/stuttgart/utilities/main-meter/power"));
  EXPECT_TRUE(GlobMatch("**/x*", "a/xb/xc"));
  EXPECT_TRUE(GlobMatch("*/state", "press/state"));
  EXPECT_FALSE(GlobMatch("*/state", "a/press/state"));
  EXPECT_TRUE(GlobMatch("press-?", "press-1"));
  EXPECT_FALSE(GlobMatch("a?b", "a/b"));
  EXPECT_TRUE(GlobMatch("", ""));
  EXPECT_FALSE(GlobMatch("", "a"));
  EXPECT_FALSE(GlobMatch("abc", "ab"));
}

TEST(GlobMatch, AdversarialPatternsStayFast) {
  std::string text(2000, 'a');
  std::string pattern;
  for (int i = 0; i < 50; ++i) pattern += "*a";
  pattern += "b";
  EXPECT_FALSE(GlobMatch(pattern, text));
}

TEST(GlobLiteralPrefix, StopsAtTheFirstWildcard) {
  EXPECT_EQ(GlobLiteralPrefix("works/body/*/temp"), "works/body/");
  EXPECT_EQ(GlobLiteralPrefix("a?b"), "a");
  EXPECT_EQ(GlobLiteralPrefix("plain/key"), "plain/key");
  EXPECT_EQ(GlobLiteralPrefix("**"), "");
}

}  // namespace
}  // namespace shopfloor::core
