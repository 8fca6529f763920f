// Fuzz target for the REST API's JSON request decoders (server/json_body.h,
// server/model_json.h and the handlers that use them): the input after the first byte is
// the body of a POST/PATCH/PUT to one of the JSON routes, picked by the first byte. The Api
// runs over in-memory metadata databases (per component; twins share the model's) and MemEnv storage, with no
// user store and allow_anonymous, so every call is an anonymous admin and reaches the
// decoders. Never a crash, never a 5xx; every answer that is not 2xx is a JSON error.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "auth/audit.h"
#include "ingest/bus.h"
#include "ingest/event_log.h"
#include "ingest/writer.h"
#include "meta/db.h"
#include "model/asset_store.h"
#include "model/twin.h"
#include "server/api.h"
#include "storage/storage.h"

namespace {

using namespace shopfloor;

struct World {
  std::unique_ptr<core::Env> env = core::NewMemEnv();
  std::unique_ptr<storage::Storage> storage;
  std::unique_ptr<meta::Db> audit_db, model_db, events_db;
  std::unique_ptr<auth::AuditLog> audit;
  std::unique_ptr<model::AssetStore> assets;
  std::unique_ptr<model::TwinStore> twins;
  std::unique_ptr<ingest::EventLog> events;
  ingest::Bus bus;
  std::unique_ptr<ingest::Writer> writer;
  std::unique_ptr<server::Api> api;
  int64_t machine_id = 0;
};

template <typename T>
T Must(core::Result<T> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "fuzz setup failed: %s\n", r.status().ToString().c_str());
    std::abort();
  }
  return std::move(r).value();
}

void Must(const core::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "fuzz setup failed: %s\n", s.ToString().c_str());
    std::abort();
  }
}

World* BuildWorld() {
  spdlog::set_level(spdlog::level::err);
  auto* w = new World();
  core::Clock* clock = core::Clock::System();
  storage::Options so;
  so.env = w->env.get();
  so.clock = clock;
  so.dir = "/fuzz";
  so.durability.mode = storage::DurabilityPolicy::Mode::kNone;
  so.background_maintenance = false;
  w->storage = Must(storage::Storage::Open(so));
  w->audit_db = Must(meta::Db::Open(":memory:"));
  w->model_db = Must(meta::Db::Open(":memory:"));
  w->events_db = Must(meta::Db::Open(":memory:"));
  w->audit = Must(auth::AuditLog::Open(w->audit_db.get(), clock, ""));
  w->assets = Must(model::AssetStore::Open(w->model_db.get(), clock));

  // A small plant: enterprise/site/area/line, one machine with a writable tag, one type.
  auto add = [&](std::string parent, model::AssetLevel level, std::string name, std::vector<model::TagDef> tags) {
    model::NewAsset a;
    a.parent_path = std::move(parent);
    a.level = level;
    a.name = std::move(name);
    a.tags = std::move(tags);
    return Must(w->assets->CreateAsset("fuzz", a));
  };
  add("", model::AssetLevel::kEnterprise, "e", {});
  add("e", model::AssetLevel::kSite, "s", {});
  add("e/s", model::AssetLevel::kArea, "a", {});
  add("e/s/a", model::AssetLevel::kLine, "l", {});
  model::TagDef sp;
  sp.name = "sp";
  sp.type = core::ValueType::kDouble;
  sp.writable = true;
  sp.range = model::TagRange{0, 100};
  sp.binding = model::TagBinding{"plc", "hr:1:float32"};
  model::TagDef count;
  count.name = "count";
  count.type = core::ValueType::kInt64;
  count.writable = true;
  count.binding = model::TagBinding{"plc", "hr:3:int32"};
  w->machine_id = add("e/s/a/l", model::AssetLevel::kMachine, "m", {sp, count}).id;
  model::AssetType type;
  type.name = "ty";
  model::TagDef temp;
  temp.name = "temp";
  temp.type = core::ValueType::kDouble;
  type.tags.push_back(temp);
  Must(w->assets->CreateType("fuzz", type).status());

  storage::Storage* st = w->storage.get();
  // The twin tables reference the model's tags: a private in-memory database cannot be
  // shared between connections, so twins use the model's.
  w->twins = Must(model::TwinStore::Open(w->model_db.get(), w->assets.get(), clock,
                                         [st](std::string_view key) -> std::optional<core::SeriesId> {
                                           auto info = st->FindSeries(key);
                                           if (!info.ok()) return std::nullopt;
                                           return info->id;
                                         }));
  w->events = Must(ingest::EventLog::Open(w->events_db.get()));
  w->events->Subscribe(&w->bus);
  w->writer = std::make_unique<ingest::Writer>(st, &w->bus);

  server::Services services;
  services.storage = st;
  services.clock = clock;
  services.writer = w->writer.get();
  services.bus = &w->bus;
  services.events = w->events.get();
  services.audit = w->audit.get();
  services.assets = w->assets.get();
  services.twins = w->twins.get();
  server::HttpServerOptions options;
  options.allow_anonymous = true;
  w->api = std::make_unique<server::Api>(services, options);
  return w;
}

struct Target {
  const char* method;
  std::string target;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = BuildWorld();  // lives for the process: the model accumulates
  if (size == 0) return 0;
  // The machine is addressed by id: renames and moves by earlier inputs keep it reachable.
  const std::string machine = std::to_string(world->machine_id);
  const Target targets[] = {
      {"POST", "/api/v1/assets"},
      {"PATCH", "/api/v1/assets/" + machine},
      {"PUT", "/api/v1/assets/" + machine + "/tags/t1"},
      {"POST", "/api/v1/types"},
      {"PUT", "/api/v1/types/ty"},
      {"PATCH", "/api/v1/assets/" + machine + "/twin/desired"},
  };
  const Target& t = targets[data[0] % (sizeof targets / sizeof targets[0])];
  server::HttpRequest request;
  request.method = t.method;
  request.target = t.target;
  request.body = std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1);
  request.content_type = "application/json";
  request.remote = "fuzz";
  server::HttpResponse r = world->api->Handle(request);
  if (r.status >= 500 || r.status < 200) {
    std::fprintf(stderr, "%s %s -> %d %s\n", t.method, t.target.c_str(), r.status, r.body.c_str());
    std::abort();
  }
  if (r.status >= 300 && !nlohmann::json::accept(r.body)) {
    std::fprintf(stderr, "%s %s -> %d: not JSON: %s\n", t.method, t.target.c_str(), r.status, r.body.c_str());
    std::abort();
  }
  return 0;
}
