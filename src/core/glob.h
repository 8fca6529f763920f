// Glob patterns over '/'-separated keys (series keys, asset paths):
//   '*'  any run of characters within one segment (never a '/')
//   '**' any run of characters, across segments
//   '?'  one character other than '/'
// Every other character is literal; there are no character classes.
#pragma once

#include <string_view>

namespace shopfloor::core {

// O(|pattern| * |text|) time, no recursion: safe on adversarial patterns.
bool GlobMatch(std::string_view pattern, std::string_view text);

// The literal prefix of a pattern (up to its first wildcard), to narrow a sorted scan.
std::string_view GlobLiteralPrefix(std::string_view pattern);

}  // namespace shopfloor::core
