#include "server/metrics_handler.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "ingest/writer.h"
#include "storage/storage.h"

namespace shopfloor::server {
namespace {

bool Contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// The value of the first sample line that starts with `prefix` (name plus labels).
double SampleValue(const std::string& text, const std::string& prefix) {
  size_t pos = 0;
  while ((pos = text.find(prefix + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') {
      size_t start = pos + prefix.size() + 1;
      std::string value = text.substr(start, text.find('\n', start) - start);
      if (value == "NaN") return NAN;
      return std::stod(value);
    }
    ++pos;
  }
  ADD_FAILURE() << "no sample " << prefix << " in\n" << text;
  return NAN;
}

TEST(MetricsHandlerTest, ResponseIsPrometheusText) {
  core::MetricsRegistry registry;
  ASSERT_TRUE(registry.AddGaugeCallback("x_gauge", "X.", [] { return 1.5; }).ok());
  HttpResponse r = MetricsResponse(registry);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, "# HELP x_gauge X.\n# TYPE x_gauge gauge\nx_gauge 1.5\n");
}

TEST(MetricsHandlerTest, HttpMetricsCountsPerRouteMethodAndStatus) {
  core::MetricsRegistry registry;
  auto http = HttpMetrics::Create(&registry);
  ASSERT_TRUE(http.ok()) << http.status().ToString();
  (*http)->Observe("/api/v1/query", "GET", 200, 0.002);
  (*http)->Observe("/api/v1/query", "GET", 200, 0.5);
  (*http)->Observe("/api/v1/query", "GET", 400, 0.0001);
  (*http)->Observe("/api/v1/assets/{asset}/twin", "PATCH", 204, 0.01);
  (*http)->Observe("/api/v1/query", "BREW", 999, 0.01);  // bounded labels
  std::string text = registry.RenderPrometheus();
  EXPECT_EQ(SampleValue(text, "http_requests_total{route=\"/api/v1/query\",method=\"GET\",status=\"200\"}"), 2);
  EXPECT_EQ(SampleValue(text, "http_requests_total{route=\"/api/v1/query\",method=\"GET\",status=\"400\"}"), 1);
  EXPECT_EQ(SampleValue(text, "http_requests_total{route=\"/api/v1/query\",method=\"OTHER\",status=\"0\"}"), 1);
  EXPECT_EQ(
      SampleValue(text, "http_requests_total{route=\"/api/v1/assets/{asset}/twin\",method=\"PATCH\",status=\"204\"}"),
      1);
  EXPECT_EQ(SampleValue(text, "http_request_duration_seconds_count{route=\"/api/v1/query\",method=\"GET\"}"), 3);
  EXPECT_DOUBLE_EQ(SampleValue(text, "http_request_duration_seconds_sum{route=\"/api/v1/query\",method=\"GET\"}"),
                   0.5021);
  EXPECT_EQ(
      SampleValue(text, "http_request_duration_seconds_bucket{route=\"/api/v1/query\",method=\"GET\",le=\"+Inf\"}"),
      3);
}

TEST(MetricsHandlerTest, HttpMetricsBoundsTheNumberOfRoutes) {
  core::MetricsRegistry registry;
  auto http = HttpMetrics::Create(&registry, /*max_routes=*/2);
  ASSERT_TRUE(http.ok());
  for (int i = 0; i < 100; ++i) (*http)->Observe("/raw/path/" + std::to_string(i), "GET", 404, 0.001);
  std::string text = registry.RenderPrometheus();
  EXPECT_EQ(SampleValue(text, "http_requests_total{route=\"/raw/path/0\",method=\"GET\",status=\"404\"}"), 1);
  EXPECT_EQ(SampleValue(text, "http_requests_total{route=\"/raw/path/1\",method=\"GET\",status=\"404\"}"), 1);
  EXPECT_EQ(SampleValue(text, "http_requests_total{route=\"other\",method=\"GET\",status=\"404\"}"), 98);
  EXPECT_FALSE(Contains(text, "/raw/path/2\""));
}

TEST(MetricsHandlerTest, HttpMetricsFromManyThreads) {
  core::MetricsRegistry registry;
  auto http = HttpMetrics::Create(&registry);
  ASSERT_TRUE(http.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20'000; ++i) (*http)->Observe(i % 2 ? "/a" : "/b", "GET", 200 + t, 0.001);
    });
  }
  for (auto& t : threads) t.join();
  std::string text = registry.RenderPrometheus();
  for (int t = 0; t < 4; ++t) {
    std::string status = std::to_string(200 + t);
    EXPECT_EQ(SampleValue(text, "http_requests_total{route=\"/a\",method=\"GET\",status=\"" + status + "\"}"), 10'000);
  }
  EXPECT_EQ(SampleValue(text, "http_request_duration_seconds_count{route=\"/b\",method=\"GET\"}"), 40'000);
}

TEST(MetricsHandlerTest, ProcessMetricsFromAFakeProcDir) {
  const std::string dir = ::testing::TempDir() + "/metrics-proc-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/fd");
  for (int i = 0; i < 3; ++i) std::ofstream(dir + "/fd/" + std::to_string(i)) << "";
  std::ofstream(dir + "/statm") << "1000 250 10 1 0 100 0\n";
  core::SimClock clock(1'700'000'123LL * core::kSecond);
  core::MetricsRegistry registry;
  ASSERT_TRUE(RegisterProcessMetrics(&registry, &clock, "9.8.7", dir).ok());
  std::string text = registry.RenderPrometheus();
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  EXPECT_EQ(SampleValue(text, "process_virtual_memory_bytes"), 1000 * page);
  EXPECT_EQ(SampleValue(text, "process_resident_memory_bytes"), 250 * page);
  EXPECT_EQ(SampleValue(text, "process_open_fds"), 3);
  EXPECT_EQ(SampleValue(text, "process_start_time_seconds"), 1'700'000'123.0);
  EXPECT_EQ(SampleValue(text, "shopfloor_build_info{version=\"9.8.7\"}"), 1);
  EXPECT_GE(SampleValue(text, "process_cpu_seconds_total"), 0);

  // Unreadable files give NaN, not a failed scrape.
  std::ofstream(dir + "/statm") << "garbage\n";
  std::filesystem::remove_all(dir + "/fd");
  text = registry.RenderPrometheus();
  EXPECT_TRUE(std::isnan(SampleValue(text, "process_resident_memory_bytes")));
  EXPECT_TRUE(std::isnan(SampleValue(text, "process_open_fds")));
  std::filesystem::remove_all(dir);
}

TEST(MetricsHandlerTest, RealProcessMetricsAreSane) {
  core::MetricsRegistry registry;
  ASSERT_TRUE(RegisterProcessMetrics(&registry, core::Clock::System(), "0.1.0").ok());
  std::string text = registry.RenderPrometheus();
  EXPECT_GT(SampleValue(text, "process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(SampleValue(text, "process_virtual_memory_bytes"), SampleValue(text, "process_resident_memory_bytes"));
  EXPECT_GE(SampleValue(text, "process_open_fds"), 3);  // stdin, stdout, stderr
}

TEST(MetricsHandlerTest, StorageAndIngestMetrics) {
  auto env = core::NewMemEnv();
  core::SimClock clock;
  core::MetricsRegistry registry;
  auto fsync = RegisterWalFsyncHistogram(&registry);
  ASSERT_TRUE(fsync.ok());
  storage::Options o;
  o.env = env.get();
  o.clock = &clock;
  o.dir = "/db";
  o.durability.mode = storage::DurabilityPolicy::Mode::kAlways;
  o.background_maintenance = false;
  o.wal_fsync_seconds = *fsync;
  auto db = storage::Storage::Open(o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE(RegisterStorageMetrics(&registry, db->get()).ok());
  ingest::Writer writer(db->get(), nullptr);
  ASSERT_TRUE(RegisterIngestMetrics(&registry, &writer).ok());

  auto a = (*db)->GetOrCreateSeries("a", core::ValueType::kDouble);
  auto b = (*db)->GetOrCreateSeries("b", core::ValueType::kDouble);
  ASSERT_TRUE(a.ok() && b.ok());
  for (int i = 0; i < 3; ++i) {
    core::SampleBatch batch;
    batch.Add(*a, clock.Now() + i, 1.0 * i);
    batch.Add(*b, clock.Now() + i, 2.0 * i);
    ASSERT_TRUE(writer.Write(batch).ok());
  }
  std::string text = registry.RenderPrometheus();
  EXPECT_EQ(SampleValue(text, "shopfloor_storage_series"), 2);
  EXPECT_EQ(SampleValue(text, "shopfloor_storage_head_samples"), 6);
  EXPECT_GT(SampleValue(text, "shopfloor_storage_head_bytes"), 0);
  EXPECT_EQ(SampleValue(text, "shopfloor_storage_samples_written_total"), 6);
  EXPECT_GT(SampleValue(text, "shopfloor_storage_wal_written_bytes_total"), 0);
  const double syncs = SampleValue(text, "shopfloor_storage_wal_syncs_total");
  EXPECT_GE(syncs, 3);
  EXPECT_EQ(SampleValue(text, "shopfloor_wal_fsync_seconds_count"), syncs);
  EXPECT_EQ(SampleValue(text, "shopfloor_ingest_samples_total"), 6);
  EXPECT_EQ(SampleValue(text, "shopfloor_ingest_batches_total"), 3);
  EXPECT_EQ(SampleValue(text, "shopfloor_ingest_batches_failed_total"), 0);
  EXPECT_TRUE(Contains(text, "# TYPE shopfloor_storage_samples_written_total counter\n"));
  EXPECT_TRUE(Contains(text, "# TYPE shopfloor_storage_head_bytes gauge\n"));

  ASSERT_TRUE((*db)->Flush().ok());
  text = registry.RenderPrometheus();
  EXPECT_EQ(SampleValue(text, "shopfloor_storage_head_samples"), 0);
  EXPECT_GE(SampleValue(text, "shopfloor_storage_blocks"), 1);
  EXPECT_EQ(SampleValue(text, "shopfloor_storage_flushes_total"), 1);
}

TEST(MetricsHandlerTest, QueueDepthAndLiveClients) {
  core::MetricsRegistry registry;
  auto queues = QueueDepthFamily(&registry);
  ASSERT_TRUE(queues.ok());
  int depth = 5;
  ASSERT_TRUE((*queues)->SetCallback({"bus"}, [&] { return static_cast<double>(depth); }).ok());
  auto again = QueueDepthFamily(&registry);  // another component shares the family
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->SetCallback({"ws"}, [] { return 2.0; }).ok());
  ASSERT_TRUE(RegisterLiveClients(&registry, [] { return 4.0; }).ok());
  depth = 9;
  std::string text = registry.RenderPrometheus();
  EXPECT_EQ(SampleValue(text, "shopfloor_queue_depth{queue=\"bus\"}"), 9);
  EXPECT_EQ(SampleValue(text, "shopfloor_queue_depth{queue=\"ws\"}"), 2);
  EXPECT_EQ(SampleValue(text, "shopfloor_live_clients"), 4);
}

}  // namespace
}  // namespace shopfloor::server
