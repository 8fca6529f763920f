#include "storage/glob.h"

namespace shopfloor::storage {

// Iterative matcher with backtracking to the most recent star, as in classic wildcard
// matching; two kinds of star are tracked because '*' may not cross a '/'.
bool GlobMatch(std::string_view pattern, std::string_view key) {
  size_t p = 0, k = 0;
  size_t star_p = std::string_view::npos, star_k = 0;  // last '*' (segment-local)
  size_t dstar_p = std::string_view::npos, dstar_k = 0;  // last '**'
  bool dstar_segment = false;  // "**/": the rest must start at a segment boundary
  while (k < key.size()) {
    if (p < pattern.size()) {
      if (pattern[p] == '*' && p + 1 < pattern.size() && pattern[p + 1] == '*') {
        p += 2;
        // "**/" also matches zero segments: let the '/' be optional by consuming it here.
        dstar_segment = p < pattern.size() && pattern[p] == '/';
        if (dstar_segment) ++p;
        dstar_p = p;
        dstar_k = k;
        star_p = std::string_view::npos;
        continue;
      }
      if (pattern[p] == '*') {
        ++p;
        star_p = p;
        star_k = k;
        continue;
      }
      if ((pattern[p] == '?' && key[k] != '/') || pattern[p] == key[k]) {
        ++p;
        ++k;
        continue;
      }
    }
    if (star_p != std::string_view::npos && key[star_k] != '/') {
      p = star_p;
      k = ++star_k;
      continue;
    }
    if (dstar_p != std::string_view::npos) {
      ++dstar_k;
      if (dstar_segment) {
        while (dstar_k < key.size() && key[dstar_k - 1] != '/') ++dstar_k;
      }
      p = dstar_p;
      k = dstar_k;
      star_p = std::string_view::npos;
      continue;
    }
    return false;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string_view GlobLiteralPrefix(std::string_view pattern) {
  size_t end = pattern.find_first_of("*?");
  return end == std::string_view::npos ? pattern : pattern.substr(0, end);
}

}  // namespace shopfloor::storage
