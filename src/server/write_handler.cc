// POST /write: line protocol -> series ids -> one SampleBatch -> Storage::Write.
#include <fmt/format.h>

#include "connect/lineproto/line_protocol.h"
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

}  // namespace

HttpResponse Api::HandleWrite(const HttpRequest& request, const QueryParams& params) {
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

  for (const connect::LinePoint& point : scratch.lines.points()) {
    scratch.key.clear();
    scratch.lines.AppendSeriesKeyPrefix(point, &scratch.key);
    scratch.key.push_back('/');
    const size_t prefix_len = scratch.key.size();
    for (const connect::LineField& field : scratch.lines.fields(point)) {
      scratch.key.resize(prefix_len);
      scratch.key.append(field.key);
      const core::ValueType type = field.value.type();
      std::optional<SeriesCache::Entry> entry = cache_.Find(scratch.key);
      if (!entry) {
        core::Result<core::SeriesId> id = storage_->GetOrCreateSeries(scratch.key, type);
        if (!id.ok()) {
          const core::Status& s = id.status();
          return InfluxError(StatusForStorageError(s),
                             fmt::format("line {}: series \"{}\": {}", point.line, scratch.key, s.message()));
        }
        entry = SeriesCache::Entry{*id, type};
        cache_.Insert(scratch.key, *entry);
      }
      if (entry->type != type) {
        return InfluxError(400, fmt::format("line {}: field type conflict: series \"{}\" is {}, got {}", point.line,
                                            scratch.key, core::ValueTypeName(entry->type),
                                            core::ValueTypeName(type)));
      }
      scratch.samples.Add(entry->id, point.ts, field.value);
    }
  }
  if (!scratch.samples.empty()) {
    core::Status s = storage_->Write(scratch.samples);
    scratch.samples.Clear();
    if (!s.ok()) return InfluxError(StatusForStorageError(s), "storage: " + s.message());
  }
  HttpResponse r;
  r.status = 204;
  return r;
}

}  // namespace shopfloor::server
