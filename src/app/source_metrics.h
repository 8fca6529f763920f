// The shopfloor_source_* metric families every connector registers, one series per source
// (label "source"), read from the source's server::SourceStatus at scrape time. A family
// registered by two connectors is shared.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "server/server.h"

namespace shopfloor::app {

struct SourceMetricsOptions {
  // Collectors that subscribe to bound tags and restart on model changes (OPC UA) also
  // export shopfloor_source_tags and shopfloor_source_restarts_total.
  bool collector = false;
};

// `names[i]` is source i; `status(i)` its current status (called from the scrape).
core::Status RegisterSourceMetrics(core::MetricsRegistry* metrics, const std::vector<std::string>& names,
                                   std::function<server::SourceStatus(size_t)> status, SourceMetricsOptions options);

}  // namespace shopfloor::app
