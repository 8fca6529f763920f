// GET /metrics: the Prometheus scrape endpoint, and the metrics the server registers.
//
// Start-up order, in whoever owns the registry (the serve command):
//   core::MetricsRegistry registry;
//   options.wal_fsync_seconds = *RegisterWalFsyncHistogram(&registry);  // before Open
//   storage = Storage::Open(options);
//   RegisterStorageMetrics(&registry, storage.get());
//   RegisterProcessMetrics(&registry, clock, SHOPFLOOR_VERSION);
//   RegisterIngestMetrics(&registry, &writer);
//   auto http_metrics = HttpMetrics::Create(&registry);
// and the router answers GET /metrics with MetricsResponse(registry) and calls
// http_metrics->Observe(...) once per request.
//
// Metric names (all shopfloor_* except the conventional process_* ones):
//   shopfloor_build_info{version}                       gauge, 1
//   process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds,
//   process_start_time_seconds, process_cpu_seconds_total
//   shopfloor_wal_fsync_seconds                         histogram
//   shopfloor_storage_{series,head_bytes,head_samples,blocks,block_bytes}   gauges
//   shopfloor_storage_{samples_written,wal_written_bytes,wal_syncs,flushes,compactions,
//                      corruptions}_total              counters
//   shopfloor_ingest_{samples,batches,batches_failed}_total                 counters
//   shopfloor_queue_depth{queue}                        gauge family others add to
//   shopfloor_live_clients                              gauge (callback)
//   http_requests_total{route,method,status}            counter
//   http_request_duration_seconds{route,method}         histogram
//
// Callbacks registered here hold raw pointers: the registered objects must outlive every
// scrape (stop the HTTP server before destroying storage or the writer).
#pragma once

#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/core.h"
#include "core/metrics.h"
#include "server/http_types.h"

namespace shopfloor::storage {
class Storage;
}
namespace shopfloor::ingest {
class Writer;
}

namespace shopfloor::server {

// 200, text/plain; version=0.0.4, the registry's exposition text.
HttpResponse MetricsResponse(const core::MetricsRegistry& registry);

// shopfloor_wal_fsync_seconds (50 us .. ~1.6 s, doubling) for storage::Options.
core::Result<core::Histogram*> RegisterWalFsyncHistogram(core::MetricsRegistry* registry);

// Scrape-time values from storage->stats(). `storage` is not owned.
core::Status RegisterStorageMetrics(core::MetricsRegistry* registry, const storage::Storage* storage);

// Memory (from <proc_dir>/statm), open fds (entries of <proc_dir>/fd), CPU time
// (getrusage), the start time (clock->Now() at this call) and shopfloor_build_info. A value
// that cannot be read is reported as NaN rather than failing the scrape.
core::Status RegisterProcessMetrics(core::MetricsRegistry* registry, core::Clock* clock, std::string_view version,
                                    std::string proc_dir = "/proc/self");

// Counters read from the writer's own atomics at scrape time. `writer` is not owned.
core::Status RegisterIngestMetrics(core::MetricsRegistry* registry, const ingest::Writer* writer);

// shopfloor_queue_depth{queue=...}: a queue owner adds its child with
// family->SetCallback({"bus"}, [q] { return q->size(); }) and removes it before it dies.
core::Result<core::GaugeFamily*> QueueDepthFamily(core::MetricsRegistry* registry);

// shopfloor_live_clients, evaluated at scrape time.
core::Status RegisterLiveClients(core::MetricsRegistry* registry, std::function<double()> clients);

// Per-route request counts and latencies. Observe() is cheap: the children for a
// (route, method, status) are looked up under a shared lock in a small hash map, and
// created once. Label values are bounded so a client cannot grow memory: routes beyond
// max_routes distinct templates count as route="other", methods other than the standard
// ones as method="OTHER", statuses outside 100..599 as status="0".
// Thread-safe.
class HttpMetrics {
 public:
  static constexpr size_t kDefaultMaxRoutes = 256;

  static core::Result<std::unique_ptr<HttpMetrics>> Create(core::MetricsRegistry* registry,
                                                           size_t max_routes = kDefaultMaxRoutes);

  // route_template is the router's pattern ("/api/v1/assets/{asset}/twin"), not the path.
  void Observe(std::string_view route_template, std::string_view method, int status, double seconds);

 private:
  struct Children {
    core::Counter* requests = nullptr;
    core::Histogram* duration = nullptr;
  };

  HttpMetrics(core::CounterFamily* requests, core::HistogramFamily* duration, size_t max_routes)
      : requests_(requests), duration_(duration), max_routes_(max_routes) {}
  const Children* Lookup(std::string_view route, std::string_view method, int status);

  core::CounterFamily* const requests_;
  core::HistogramFamily* const duration_;
  const size_t max_routes_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, Children> children_;  // guarded by mu_; key "route\0method\0status"
  std::unordered_set<std::string> routes_;               // guarded by mu_; distinct route templates seen
};

}  // namespace shopfloor::server
