// Recursive-descent parser: text -> untyped Program (calls by name, tags as written).
// The checker (check.h) then resolves names, tags and types.
#pragma once

#include <string_view>

#include "core/status.h"
#include "rules/program.h"

namespace shopfloor::rules {

// Appends the nodes of `text` to program->nodes (root last). InvalidArgument with
// "line:column: ..." on the first syntax error.
core::Status Parse(std::string_view text, Program* program);

}  // namespace shopfloor::rules
