// Glob matching for series keys: '*' matches any run of characters within one
// '/'-separated segment, '**' matches across segments (including none), '?' matches one
// character other than '/'. No character classes; every other character is literal.
#pragma once

#include <string_view>

namespace shopfloor::storage {

bool GlobMatch(std::string_view pattern, std::string_view key);

// The literal prefix of a pattern (up to its first wildcard), used to narrow a sorted scan.
std::string_view GlobLiteralPrefix(std::string_view pattern);

}  // namespace shopfloor::storage
