// POST /write: line protocol -> series ids -> one SampleBatch -> Storage::Write.
#include <atomic>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "connect/lineproto/line_protocol.h"
#include "ingest/writer.h"
#include "server/api.h"
#include "storage/storage.h"

namespace shopfloor::server {

namespace {

// InfluxDB's error body: {"error":"..."}.
HttpResponse InfluxError(int status, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = "{\"error\":";
  AppendJsonString(message, &r.body);
  r.body += "}";
  return r;
}

int StatusForStorageError(const core::Status& s) {
  switch (s.code()) {
    case core::StatusCode::kInvalidArgument: return 400;
    case core::StatusCode::kNoSpace: return 507;
    default: return 503;
  }
}

// Per-thread buffers reused across requests: the steady state allocates little.
struct WriteScratch {
  connect::LineBatch lines;
  core::SampleBatch samples;
  std::string key;
};

// A per-thread memo in front of the shared SeriesCache, keyed by a line's series prefix
// ("measurement,tags/") and then by field key, so a line with many fields costs one hash
// and no lock. Ids never change for a key, so the memo never goes stale; it belongs to one
// Api instance (owner) and is dropped when it grows past kMaxPrefixes.
struct PrefixMemo {
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Fields = std::vector<std::pair<std::string, SeriesCache::Entry>>;
  static constexpr size_t kMaxPrefixes = 1 << 16;

  uint64_t owner = 0;
  std::unordered_map<std::string, Fields, Hash, std::equal_to<>> by_prefix;

  Fields& For(uint64_t api_id, std::string_view prefix) {
    if (owner != api_id || by_prefix.size() >= kMaxPrefixes) {
      by_prefix.clear();
      owner = api_id;
    }
    auto it = by_prefix.find(prefix);
    if (it == by_prefix.end()) it = by_prefix.emplace(std::string(prefix), Fields{}).first;
    return it->second;
  }
};

std::atomic<uint64_t> next_api_id{1};

}  // namespace

uint64_t Api::NewInstanceId() { return next_api_id.fetch_add(1, std::memory_order_relaxed); }

core::Result<core::SeriesId> Api::ResolveForWrite(std::string_view key, core::ValueType type) {
  return storage_->GetOrCreateSeries(StoredKeyFor(key), type);
}

core::Status Api::WriteBatch(const core::SampleBatch& batch) {
  if (services_.writer != nullptr) return services_.writer->Write(batch);
  return storage_->Write(batch);
}

HttpResponse Api::HandleWrite(const RouteContext& ctx) {
  const HttpRequest& request = ctx.request;
  const QueryParams& params = ctx.params;
  const bool scoped = !ctx.principal.AllSites();
  if (!request.content_encoding.empty() && request.content_encoding != "identity") {
    return InfluxError(415, fmt::format("Content-Encoding \"{}\" is not supported; send the body uncompressed",
                                        request.content_encoding));
  }
  connect::LineProtocolOptions options;
  if (const std::string* p = params.Get("precision"); p && !p->empty()) {
    auto precision = connect::ParsePrecision(*p);
    if (!precision.ok()) return InfluxError(400, "parameter \"precision\": " + precision.status().message());
    options.precision = *precision;
  }
  options.default_time = clock_->Now();

  thread_local WriteScratch scratch;
  scratch.samples.Clear();
  core::Status parsed = connect::ParseLineProtocol(request.body, options, &scratch.lines);
  if (!parsed.ok()) return InfluxError(400, parsed.message());

  thread_local PrefixMemo memo;
  for (const connect::LinePoint& point : scratch.lines.points()) {
    scratch.key.clear();
    scratch.lines.AppendSeriesKeyPrefix(point, &scratch.key);
    scratch.key.push_back('/');
    const size_t prefix_len = scratch.key.size();
    if (scoped) {
      std::string_view asset(scratch.key.data(), scratch.key.size() - 1);
      if (!CanAccessKey(ctx.principal, asset)) {
        return InfluxError(403, fmt::format("line {}: \"{}\" is outside the sites of {}", point.line, asset,
                                            ctx.principal.user));
      }
    }
    PrefixMemo::Fields& known = memo.For(instance_id_.load(std::memory_order_acquire), scratch.key);
    for (const connect::LineField& field : scratch.lines.fields(point)) {
      const core::ValueType type = field.value.type();
      std::optional<SeriesCache::Entry> entry;
      for (const auto& [name, cached] : known) {
        if (name == field.key) {
          entry = cached;
          break;
        }
      }
      if (!entry) {
        scratch.key.resize(prefix_len);
        scratch.key.append(field.key);
        entry = cache_.Find(scratch.key);
        if (!entry) {
          core::Result<core::SeriesId> id = ResolveForWrite(scratch.key, type);
          if (!id.ok()) {
            const core::Status& s = id.status();
            return InfluxError(StatusForStorageError(s),
                               fmt::format("line {}: series \"{}\": {}", point.line, scratch.key, s.message()));
          }
          entry = SeriesCache::Entry{*id, type};
          cache_.Insert(scratch.key, *entry);
        }
        known.emplace_back(std::string(field.key), *entry);
      }
      if (entry->type != type) {
        scratch.key.resize(prefix_len);
        scratch.key.append(field.key);
        return InfluxError(400, fmt::format("line {}: field type conflict: series \"{}\" is {}, got {}", point.line,
                                            scratch.key, core::ValueTypeName(entry->type),
                                            core::ValueTypeName(type)));
      }
      scratch.samples.Add(entry->id, point.ts, field.value);
    }
  }
  if (!scratch.samples.empty()) {
    core::Status s = WriteBatch(scratch.samples);
    scratch.samples.Clear();
    if (!s.ok()) return InfluxError(StatusForStorageError(s), "storage: " + s.message());
  }
  HttpResponse r;
  r.status = 204;
  return r;
}

}  // namespace shopfloor::server
