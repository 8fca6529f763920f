#include "server/metrics_handler.h"

#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>

#include <fmt/format.h>

#include "ingest/writer.h"
#include "storage/storage.h"

namespace shopfloor::server {

namespace {

// Field `index` (0-based) of <proc_dir>/statm in pages, times the page size; NaN when the
// file cannot be read or parsed.
double StatmBytes(const std::string& proc_dir, int index) {
  std::ifstream in(proc_dir + "/statm");
  uint64_t pages = 0;
  for (int i = 0; i <= index; ++i) {
    if (!(in >> pages)) return NAN;
  }
  const long page_size = sysconf(_SC_PAGESIZE);
  return static_cast<double>(pages) * static_cast<double>(page_size > 0 ? page_size : 4096);
}

double OpenFds(const std::string& proc_dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(proc_dir + "/fd", ec);
  if (ec) return NAN;
  double n = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return NAN;
    ++n;
  }
  // The iterator itself holds one descriptor open on the fd directory while it counts.
  return proc_dir == "/proc/self" && n > 0 ? n - 1 : n;
}

double CpuSeconds() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return NAN;
  auto seconds = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::string_view NormalizeMethod(std::string_view method) {
  static constexpr std::array<std::string_view, 7> kMethods = {"GET",    "POST", "PUT",    "PATCH",
                                                               "DELETE", "HEAD", "OPTIONS"};
  for (std::string_view m : kMethods) {
    if (m == method) return m;
  }
  return "OTHER";
}

}  // namespace

HttpResponse MetricsResponse(const core::MetricsRegistry& registry) {
  HttpResponse response;
  response.status = 200;
  response.content_type = std::string(core::kPrometheusContentType);
  response.cache_control = "no-store";
  response.body = registry.RenderPrometheus();
  return response;
}

core::Result<core::Histogram*> RegisterWalFsyncHistogram(core::MetricsRegistry* registry) {
  return registry->AddHistogram("shopfloor_wal_fsync_seconds", "Duration of WAL segment fsyncs.",
                                core::ExponentialBuckets(50e-6, 2, 16));
}

core::Status RegisterStorageMetrics(core::MetricsRegistry* registry, const storage::Storage* storage) {
  struct Stat {
    const char* name;
    const char* help;
    bool counter;
    uint64_t storage::StorageStats::*field;
  };
  static constexpr Stat kStats[] = {
      {"shopfloor_storage_series", "Series known to storage.", false, &storage::StorageStats::series},
      {"shopfloor_storage_head_bytes", "Memory held by the in-memory head.", false,
       &storage::StorageStats::head_bytes},
      {"shopfloor_storage_head_samples", "Samples in the in-memory head.", false,
       &storage::StorageStats::head_samples},
      {"shopfloor_storage_blocks", "Block files (raw and rollup).", false, &storage::StorageStats::blocks},
      {"shopfloor_storage_block_bytes", "Bytes in block files.", false, &storage::StorageStats::block_bytes},
      {"shopfloor_storage_samples_written_total", "Samples written to storage since start.", true,
       &storage::StorageStats::samples_written},
      {"shopfloor_storage_wal_written_bytes_total", "Bytes written to WAL segments since start.", true,
       &storage::StorageStats::wal_bytes},
      {"shopfloor_storage_wal_syncs_total", "WAL fsyncs since start.", true, &storage::StorageStats::wal_syncs},
      {"shopfloor_storage_flushes_total", "Head flushes to blocks since start.", true,
       &storage::StorageStats::flushes},
      {"shopfloor_storage_compactions_total", "Compactions since start.", true,
       &storage::StorageStats::compactions},
      {"shopfloor_storage_corruptions_total", "Damaged records, chunks or blocks found since start.", true,
       &storage::StorageStats::corruptions},
  };
  for (const Stat& stat : kStats) {
    auto read = [storage, field = stat.field] { return static_cast<double>(storage->stats().*field); };
    SF_RETURN_IF_ERROR(stat.counter ? registry->AddCounterCallback(stat.name, stat.help, read)
                                    : registry->AddGaugeCallback(stat.name, stat.help, read));
  }
  return core::Status::OK();
}

core::Status RegisterProcessMetrics(core::MetricsRegistry* registry, core::Clock* clock, std::string_view version,
                                    std::string proc_dir) {
  SF_RETURN_IF_ERROR(registry->AddGaugeCallback("process_resident_memory_bytes", "Resident memory size in bytes.",
                                                [proc_dir] { return StatmBytes(proc_dir, 1); }));
  SF_RETURN_IF_ERROR(registry->AddGaugeCallback("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                                [proc_dir] { return StatmBytes(proc_dir, 0); }));
  SF_RETURN_IF_ERROR(registry->AddGaugeCallback("process_open_fds", "Open file descriptors.",
                                                [proc_dir] { return OpenFds(proc_dir); }));
  SF_RETURN_IF_ERROR(registry->AddCounterCallback("process_cpu_seconds_total", "User and system CPU time.",
                                                  [] { return CpuSeconds(); }));
  SF_ASSIGN_OR_RETURN(core::Gauge * start, registry->AddGauge("process_start_time_seconds",
                                                              "Start time of the process since the Unix epoch."));
  start->Set(static_cast<double>(clock->Now()) / core::kSecond);
  SF_ASSIGN_OR_RETURN(core::GaugeFamily * info,
                      registry->AddGaugeFamily("shopfloor_build_info", "Shopfloor build; the value is 1.",
                                               {"version"}));
  SF_ASSIGN_OR_RETURN(core::Gauge * build, info->WithLabels({std::string(version)}));
  build->Set(1);
  return core::Status::OK();
}

core::Status RegisterIngestMetrics(core::MetricsRegistry* registry, const ingest::Writer* writer) {
  SF_RETURN_IF_ERROR(registry->AddCounterCallback("shopfloor_ingest_samples_total",
                                                  "Samples made durable and published by the ingest writer.",
                                                  [writer] { return static_cast<double>(writer->samples_written()); }));
  SF_RETURN_IF_ERROR(registry->AddCounterCallback("shopfloor_ingest_batches_total",
                                                  "Batches made durable and published by the ingest writer.",
                                                  [writer] { return static_cast<double>(writer->batches_written()); }));
  return registry->AddCounterCallback("shopfloor_ingest_batches_failed_total",
                                      "Batches the ingest writer failed to store.",
                                      [writer] { return static_cast<double>(writer->batches_failed()); });
}

core::Result<core::GaugeFamily*> QueueDepthFamily(core::MetricsRegistry* registry) {
  return registry->AddGaugeFamily("shopfloor_queue_depth", "Items waiting in a bounded queue.", {"queue"});
}

core::Status RegisterLiveClients(core::MetricsRegistry* registry, std::function<double()> clients) {
  return registry->AddGaugeCallback("shopfloor_live_clients", "WebSocket live-data clients connected.",
                                    std::move(clients));
}

// ---------------------------------------------------------------- HttpMetrics

core::Result<std::unique_ptr<HttpMetrics>> HttpMetrics::Create(core::MetricsRegistry* registry, size_t max_routes) {
  SF_ASSIGN_OR_RETURN(core::CounterFamily * requests,
                      registry->AddCounterFamily("http_requests_total", "HTTP requests answered.",
                                                 {"route", "method", "status"}));
  SF_ASSIGN_OR_RETURN(core::HistogramFamily * duration,
                      registry->AddHistogramFamily("http_request_duration_seconds",
                                                   "Time from a request's arrival to its response.",
                                                   core::ExponentialBuckets(0.0001, 4, 9), {"route", "method"}));
  return std::unique_ptr<HttpMetrics>(new HttpMetrics(requests, duration, max_routes));
}

void HttpMetrics::Observe(std::string_view route_template, std::string_view method, int status, double seconds) {
  const int status_label = status >= 100 && status <= 599 ? status : 0;
  const Children* children = Lookup(route_template, NormalizeMethod(method), status_label);
  if (children == nullptr) return;
  children->requests->Increment();
  children->duration->Observe(seconds);
}

const HttpMetrics::Children* HttpMetrics::Lookup(std::string_view route, std::string_view method, int status) {
  auto key_of = [&](std::string_view r) { return fmt::format("{}{}{}{}{}", r, '\0', method, '\0', status); };
  std::string key = key_of(route);
  {
    std::shared_lock l(mu_);
    auto it = children_.find(key);
    if (it != children_.end()) return &it->second;
  }
  std::unique_lock l(mu_);
  std::string route_label(route);
  if (!routes_.contains(route_label)) {
    if (routes_.size() >= max_routes_) {
      route_label = "other";
      key = key_of(route_label);
    } else {
      routes_.insert(route_label);
    }
  }
  auto it = children_.find(key);
  if (it != children_.end()) return &it->second;
  auto requests = requests_->WithLabels({route_label, std::string(method), std::to_string(status)});
  auto duration = duration_->WithLabels({route_label, std::string(method)});
  // Both families were created with exactly these labels, so neither lookup can fail.
  if (!requests.ok() || !duration.ok()) return nullptr;
  // unordered_map never moves its elements, so the pointer stays valid after rehashes.
  return &children_.emplace(std::move(key), Children{*requests, *duration}).first->second;
}

}  // namespace shopfloor::server
