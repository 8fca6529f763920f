// Api: routes transport-neutral requests to the write, query and health handlers.
// Thread-safe: one Api serves all I/O threads.
#pragma once

#include <memory>

#include "core/core.h"
#include "server/http_types.h"
#include "server/query_params.h"
#include "server/series_cache.h"
#include "server/server.h"

namespace shopfloor::storage {
class Storage;
}

namespace shopfloor::server {

class Api {
 public:
  Api(storage::Storage* storage, core::Clock* clock, const HttpServerOptions& options);

  HttpResponse Handle(const HttpRequest& request);

  // Visible for tests: number of cached series keys.
  size_t cached_series() const { return cache_.size(); }

 private:
  // /write and /api/v2/write (InfluxDB compatible). Error bodies are InfluxDB's
  // {"error":"line 3: ..."} so Telegraf logs them.
  HttpResponse HandleWrite(const HttpRequest& request, const QueryParams& params);
  // /query: InfluxQL is not supported; CREATE DATABASE (Telegraf's start-up call) answers ok.
  HttpResponse HandleInfluxQuery(const HttpRequest& request, const QueryParams& params);
  HttpResponse HandleSeries(const QueryParams& params);
  HttpResponse HandleQuery(const QueryParams& params);
  // GET /: an HTML status page (what is stored, how to use the API).
  HttpResponse HandleIndex();
  // The newest sample of each selected series; a series with no data has no "ts"/"value".
  HttpResponse HandleLatest(const QueryParams& params);

  static uint64_t NewInstanceId();

  const uint64_t instance_id_ = NewInstanceId();  // owner of the per-thread key memos
  storage::Storage* const storage_;
  core::Clock* const clock_;
  const HttpServerOptions options_;
  SeriesCache cache_;
};

}  // namespace shopfloor::server
