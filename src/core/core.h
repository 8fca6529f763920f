// The public header of the core module: include this from other modules.
#pragma once

#include "core/clock.h"   // IWYU pragma: export
#include "core/env.h"     // IWYU pragma: export
#include "core/sample_batch.h"  // IWYU pragma: export
#include "core/status.h"  // IWYU pragma: export
#include "core/types.h"   // IWYU pragma: export
