#include "core/glob.h"

#include <vector>

namespace shopfloor::core {

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Dynamic programming over (pattern position, text position): matched[t] says whether
  // pattern[0, p) matches text[0, t). O(|pattern| * |text|), no recursion, no backtracking
  // blow-up on adversarial patterns.
  std::vector<char> matched(text.size() + 1, 0);
  matched[0] = 1;
  size_t p = 0;
  while (p < pattern.size()) {
    std::vector<char> next(text.size() + 1, 0);
    if (pattern[p] == '*') {
      bool crosses = p + 1 < pattern.size() && pattern[p + 1] == '*';
      for (size_t t = 0; t <= text.size(); ++t) {
        if (matched[t]) {
          next[t] = 1;
        } else if (t > 0 && next[t - 1] && (crosses || text[t - 1] != '/')) {
          next[t] = 1;
        }
      }
      p += crosses ? 2 : 1;
    } else {
      for (size_t t = 1; t <= text.size(); ++t) {
        char c = text[t - 1];
        if (matched[t - 1] && (pattern[p] == c || (pattern[p] == '?' && c != '/'))) next[t] = 1;
      }
      ++p;
    }
    matched.swap(next);
  }
  return matched[text.size()] != 0;
}

std::string_view GlobLiteralPrefix(std::string_view pattern) {
  size_t end = pattern.find_first_of("*?");
  return end == std::string_view::npos ? pattern : pattern.substr(0, end);
}

}  // namespace shopfloor::core
