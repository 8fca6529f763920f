// The HTTP API server: InfluxDB 1.x compatible /write, the query API and health checks.
//
//   POST /write?precision=ns|us|ms|s|m|h[&db=..&rp=..&u=..&p=..]   line protocol body -> 204
//   POST /api/v2/write?precision=...                                 same, for v2 clients
//   GET  /api/v1/series?match=GLOB                                   [{"key","id","type"}]
//   GET  /api/v1/query?series=KEY&from=&to=[&step=&agg=][&precision=][&max_points=]
//   GET  /api/v1/latest?series=KEY..|match=GLOB                      newest sample per series
//   GET  /                                                           HTML status page
//   GET  /healthz                                                    {"status":"ok"}
//   GET  /ping                                                       204 (InfluxDB clients)
//   POST /query                                                      answers Telegraf's start-up
//                                                                    CREATE DATABASE with ok; other
//                                                                    InfluxQL gets 400
// See docs/ingest-line-protocol.md for the series key mapping and the error bodies.
//
// HTTP/1.1 with keep-alive; `threads` I/O threads share one io_context. Handlers run on the
// I/O threads and block while storage makes a write durable, so `threads` bounds the number
// of writes in flight. Bodies above max_body_bytes get 413; a request (headers and body) not
// received within request_timeout_ms, or a keep-alive connection idle that long, is closed.
//
// Thread safety: Start() and Stop() from one owning thread; port() from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/core.h"

namespace shopfloor::storage {
class Storage;
}
namespace shopfloor::ingest {
class Bus;
class Writer;
class EventLog;
}  // namespace shopfloor::ingest
namespace shopfloor::auth {
class UserStore;
class DeviceStore;
class AuditLog;
}  // namespace shopfloor::auth
namespace shopfloor::model {
class AssetStore;
class TwinStore;
struct PlantConfig;
}  // namespace shopfloor::model
namespace shopfloor::core {
class MetricsRegistry;
}

namespace shopfloor::server {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8086;  // 0 picks an ephemeral port (tests); see HttpServer::port()
  int threads = 2;
  uint64_t max_body_bytes = 32ull << 20;
  uint32_t max_header_bytes = 16 << 10;
  // Deadline for receiving one whole request, and for an idle keep-alive connection.
  int64_t request_timeout_ms = 30'000;
  // Series key -> id cache entries before the cache is reset (bounds its memory).
  size_t series_cache_capacity = 1 << 20;
  // Raw points or aggregate rows one query may return; beyond it the answer is truncated
  // and says so ("truncated": true).
  uint64_t max_query_points = 1'000'000;
  // HTTPS: when both are set (PEM files) the listener speaks TLS 1.2+ only, for HTTP and
  // WebSocket alike.
  std::string tls_cert_file;
  std::string tls_key_file;
  // WebSocket keep-alive ping interval.
  int64_t ws_ping_ms = 20'000;
  // Without a user store every request is served as an anonymous admin. Only tests and
  // benchmarks of the transport set this; `shopfloor serve` always authenticates.
  bool allow_anonymous = false;
};

// What the server serves. Pointers are not owned and must outlive the server; only storage
// and clock are required. users (with audit) is required unless options.allow_anonymous.
// Without assets/twins the model routes answer 503; without a writer, writes go straight to
// storage and nothing is published on the bus.
// The state of one data source's connector, for /api/v1/sources. Counters are totals
// since the server started (across collector restarts).
struct SourceStatus {
  std::string name;
  std::string protocol;
  std::string endpoint;
  std::string state;  // "connected", "connecting", "restarting", "idle" (no bound tags), "error"
  size_t tags = 0;    // bound tags being collected
  std::string last_error;
  core::Timestamp last_error_at = 0;
  uint64_t connects = 0;
  uint64_t connection_losses = 0;
  uint64_t failed_attempts = 0;
  uint64_t samples = 0;
  uint64_t restamped = 0;
  uint64_t restarts = 0;  // collector restarts after model changes
  uint64_t setpoints_ok = 0;
  uint64_t setpoints_failed = 0;
  uint64_t setpoints_unknown = 0;  // outcome unknown (e.g. timeout); never retried
};

struct Services {
  storage::Storage* storage = nullptr;
  core::Clock* clock = nullptr;
  ingest::Writer* writer = nullptr;
  ingest::Bus* bus = nullptr;
  ingest::EventLog* events = nullptr;
  auth::UserStore* users = nullptr;
  auth::DeviceStore* devices = nullptr;  // MQTT device identities; null: no /api/v1/devices
  auth::AuditLog* audit = nullptr;
  model::AssetStore* assets = nullptr;
  model::TwinStore* twins = nullptr;
  core::MetricsRegistry* metrics = nullptr;
  const model::PlantConfig* config = nullptr;  // sources/storage/server sections for export
  std::function<std::vector<SourceStatus>()> sources;  // connector states; empty: none run
};

class HttpServer {
 public:
  // Binds, listens and starts the I/O threads. `storage` and `clock` are not owned and must
  // outlive the server. Fails with a Status naming host:port when binding fails.
  static core::Result<std::unique_ptr<HttpServer>> Start(HttpServerOptions options, Services services);
  // Storage and clock only, every caller an anonymous admin: transport tests and benchmarks.
  static core::Result<std::unique_ptr<HttpServer>> Start(HttpServerOptions options, storage::Storage* storage,
                                                         core::Clock* clock);
  virtual ~HttpServer() = default;

  // The bound port (the ephemeral one when options.port was 0).
  virtual uint16_t port() const = 0;
  // Stops accepting, closes connections and joins the I/O threads. Idempotent; the
  // destructor calls it.
  virtual void Stop() = 0;
};

}  // namespace shopfloor::server
