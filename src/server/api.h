// Api: authenticates, authorizes and routes transport-neutral requests to the handlers of
// the REST API (/api/v1/...), the InfluxDB-compatible write endpoints, /metrics and health.
//
// Every route but /healthz needs a caller: a session or API token (Authorization: Bearer or
// Token, the sf_session cookie, or ?access_token= for WebSocket clients), or HTTP basic auth
// (the password may be the user's password or one of their API tokens; InfluxDB's u/p query
// parameters are read the same way, so Telegraf works unchanged). Each route names the least
// role that may call it; handlers also check the caller's sites against what they touch.
//
// Thread-safe: one Api serves all I/O threads.
#pragma once

#include <atomic>
#include <memory>

#include "auth/auth.h"
#include "core/core.h"
#include "server/http_types.h"
#include "server/query_params.h"
#include "server/router.h"
#include "server/series_cache.h"
#include "server/server.h"
#include "model/asset_store.h"
#include "storage/storage.h"

namespace shopfloor::server {

class LiveHub;
class HttpMetrics;

class Api {
 public:
  Api(Services services, const HttpServerOptions& options);
  // Storage and clock only, every caller an anonymous admin (tests of the handlers).
  Api(storage::Storage* storage, core::Clock* clock, const HttpServerOptions& options);
  ~Api();

  HttpResponse Handle(const HttpRequest& request);

  // Who is calling: see the header comment. kUnauthenticated (or kPermissionDenied for a
  // locked account) when no valid credential is present. Used by the transport before a
  // WebSocket upgrade.
  core::Result<auth::Principal> AuthenticateRequest(const HttpRequest& request);

  // The live-data hub for WebSocket sessions (set by the transport; may be null).
  LiveHub* live_hub() const { return live_hub_.load(std::memory_order_acquire); }
  void set_live_hub(LiveHub* hub) { live_hub_.store(hub, std::memory_order_release); }

  const Router& router() const { return router_; }
  const Services& services() const { return services_; }

  // The site an asset path or series key belongs to ("" when outside the asset model: such
  // series are plant-wide and only unscoped callers may touch them).
  std::string SiteOf(std::string_view path_or_key) const;
  // True when the principal may read/write the series key.
  bool CanAccessKey(const auth::Principal& principal, std::string_view key) const;

  // Visible for tests: number of cached series keys.
  size_t cached_series() const { return cache_.size(); }
  // Drops cached key -> series mappings (the model renamed or moved something).
  void InvalidateSeriesCache();

 private:
  void AddRoutes();
  // False when the route's tag needs a service this server runs without (answers 503).
  bool ServiceAvailable(const Route& route) const;
  void AddStorageRoutes();
  void AddAuthRoutes();
  void AddUserRoutes();
  void AddModelRoutes();
  void AddTwinRoutes();
  void AddAdminRoutes();
  void AddSourceRoutes();
  void AddDeviceRoutes();  // routes_devices.cc

  // /write and /api/v2/write (InfluxDB compatible). Error bodies are InfluxDB's
  // {"error":"line 3: ..."} so Telegraf logs them.
  HttpResponse HandleWrite(const RouteContext& ctx);
  // /query: InfluxQL is not supported; CREATE DATABASE (Telegraf's start-up call) answers ok.
  HttpResponse HandleInfluxQuery(const HttpRequest& request, const QueryParams& params);
  HttpResponse HandleSeries(const RouteContext& ctx);
  HttpResponse HandleQuery(const RouteContext& ctx);
  // Lists only the series the principal may read.
  HttpResponse HandleIndex(const auth::Principal& principal);
  // The newest sample of each selected series; a series with no data has no "ts"/"value".
  HttpResponse HandleLatest(const RouteContext& ctx);

  // A series picked by a query: `key` is how the caller addresses it (the current asset
  // path + tag); info.key the stored series key (they differ after a rename or move).
  struct Selected {
    std::string key;
    storage::SeriesInfo info;
    bool exists = false;  // false: a model tag that has no data yet
  };
  struct AssetSeries {
    std::string current_key;
    std::string stored_key;
    core::ValueType type = core::ValueType::kDouble;
  };
  // series=, asset= (+tag=) and, with allow_match, match= parameters; checks sites.
  core::Result<std::vector<Selected>> SelectSeries(const RouteContext& ctx, bool allow_match);
  // Every tag of the asset at `path` and its subtree (only tags named in `tags`, if any).
  core::Result<std::vector<AssetSeries>> AssetSeriesKeys(const auth::Principal& principal, std::string_view path,
                                                         const std::vector<std::string>& tags) const;
  // The stored series key for a key addressed by the current asset path (identity outside
  // the model).
  std::string StoredKeyFor(std::string_view key) const;
  void ObserveRequest(const Route& route, int status, int64_t start_steady);
  // Records an audit entry for a change made through the API (result: its outcome).
  void Audit(const RouteContext& ctx, std::string_view action, std::string_view target, std::string old_value,
             std::string new_value, const core::Status& result);
  // {asset} in a route: a numeric id or a path; NotFound, or PermissionDenied outside the
  // caller's sites (the enterprise itself is readable by all).
  core::Result<model::Asset> ResolveAsset(const RouteContext& ctx, std::string_view ref) const;
  // A tag binding must name a source of the plant config (field named in the error, e.g.
  // "body.tags[2].binding.source").
  core::Status CheckBinding(const model::TagDef& def, std::string_view where) const;
  core::Status CheckBindings(const std::vector<model::TagDef>& defs, std::string_view where) const;
  // OK when the caller's sites cover the asset path ("" = plant-wide: unscoped only).
  core::Status CheckCanChange(const RouteContext& ctx, std::string_view asset_path) const;

  // Resolves a series key for writing: the model's current path -> the tag's stored series
  // key (rename/move keep history), then storage.
  core::Result<core::SeriesId> ResolveForWrite(std::string_view key, core::ValueType type);
  core::Status WriteBatch(const core::SampleBatch& batch);

  static uint64_t NewInstanceId();

  std::atomic<uint64_t> instance_id_{NewInstanceId()};  // owner of the per-thread key memos
  Services services_;
  storage::Storage* const storage_;
  core::Clock* const clock_;
  const HttpServerOptions options_;
  SeriesCache cache_;
  Router router_;
  auth::Principal anonymous_;
  std::atomic<LiveHub*> live_hub_{nullptr};
  std::unique_ptr<HttpMetrics> http_metrics_;
  int model_listener_ = 0;
  std::atomic<int64_t> in_flight_{0};  // requests being handled (shopfloor_queue_depth{queue="http"})
};

}  // namespace shopfloor::server
