#include "app/source_metrics.h"

namespace shopfloor::app {

core::Status RegisterSourceMetrics(core::MetricsRegistry* metrics, const std::vector<std::string>& names,
                                   std::function<server::SourceStatus(size_t)> status, SourceMetricsOptions options) {
  using Field = std::function<double(const server::SourceStatus&)>;
  struct Def {
    const char* name;
    const char* help;
    bool counter;
    bool collector_only;
    Field field;
  };
  const Def defs[] = {
      {"shopfloor_source_up", "1 while the source's subscription is delivering, else 0", false, false,
       [](const server::SourceStatus& s) { return s.state == "connected" ? 1.0 : 0.0; }},
      {"shopfloor_source_tags", "Bound tags the source's collector subscribes to", false, true,
       [](const server::SourceStatus& s) { return static_cast<double>(s.tags); }},
      {"shopfloor_source_connects_total", "Sessions that got as far as a subscription", true, false,
       [](const server::SourceStatus& s) { return static_cast<double>(s.connects); }},
      {"shopfloor_source_connection_losses_total", "Connection losses (each recorded as a gap in storage)", true, false,
       [](const server::SourceStatus& s) { return static_cast<double>(s.connection_losses); }},
      {"shopfloor_source_failed_attempts_total", "Connects or subscriptions that failed", true, false,
       [](const server::SourceStatus& s) { return static_cast<double>(s.failed_attempts); }},
      {"shopfloor_source_samples_total", "Samples written, gap and refused-tag samples included", true, false,
       [](const server::SourceStatus& s) { return static_cast<double>(s.samples); }},
      {"shopfloor_source_restarts_total", "Collector restarts after model changes", true, true,
       [](const server::SourceStatus& s) { return static_cast<double>(s.restarts); }},
      {"shopfloor_source_last_error_timestamp_seconds",
       "Unix time of the source's latest error (see /api/v1/sources for the text), 0 if none", false, false,
       [](const server::SourceStatus& s) { return static_cast<double>(s.last_error_at) / 1e9; }},
  };
  for (const Def& def : defs) {
    if (def.collector_only && !options.collector) continue;
    for (size_t i = 0; i < names.size(); ++i) {
      auto fn = [status, i, field = def.field] { return field(status(i)); };
      const std::vector<std::string> labels = {names[i]};
      if (def.counter) {
        SF_ASSIGN_OR_RETURN(core::CounterFamily * family, metrics->AddCounterFamily(def.name, def.help, {"source"}));
        SF_RETURN_IF_ERROR(family->SetCallback(labels, fn));
      } else {
        SF_ASSIGN_OR_RETURN(core::GaugeFamily * family, metrics->AddGaugeFamily(def.name, def.help, {"source"}));
        SF_RETURN_IF_ERROR(family->SetCallback(labels, fn));
      }
    }
  }
  return core::Status::OK();
}

}  // namespace shopfloor::app
