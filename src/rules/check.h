// The checker: completes a parsed Program. Resolves tags (absolute series keys, the
// resolver, input indices), function names to ops, argument counts and types, windows and
// state slots. Every error names the line and column of what is wrong.
#pragma once

#include <string_view>

#include "core/status.h"
#include "rules/expr.h"
#include "rules/program.h"

namespace shopfloor::rules {

// Tree height limit: a chain of binary operators this long is rejected (evaluation and
// formatting recurse over the tree).
inline constexpr int kMaxHeight = 256;

core::Status Check(std::string_view base_asset, const Resolver& resolver, Program* program);

}  // namespace shopfloor::rules
