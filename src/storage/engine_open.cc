// Engine: opening, recovery, the series registry and shutdown.
#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/log.h"
#include "storage/catalog.h"
#include "storage/engine.h"
#include "core/glob.h"
#include "storage/wal_record.h"

namespace shopfloor::storage {

using core::Status;

namespace {
// Series ids are handed out densely; a gap this large between known ids can only be damage.
constexpr uint64_t kMaxIdGap = 1u << 20;
}  // namespace

Result<std::unique_ptr<Storage>> Storage::Open(const Options& options) { return Engine::Open(options); }

namespace {

// `<dir>/FORMAT` holds "block_duration_ns=<n>\n".
Result<core::Duration> RecordedBlockDuration(core::Env* env, const std::string& dir, core::Duration wanted) {
  const std::string path = core::JoinPath(dir, "FORMAT");
  constexpr std::string_view kKey = "block_duration_ns=";
  if (!env->FileExists(path)) {
    SF_RETURN_IF_ERROR(env->WriteFileAtomic(path, fmt::format("{}{}\n", kKey, wanted)));
    return wanted;
  }
  SF_ASSIGN_OR_RETURN(std::string text, env->ReadFileToString(path));
  core::Duration recorded = 0;
  std::string_view v = text;
  if (v.starts_with(kKey)) v.remove_prefix(kKey.size());
  while (!v.empty() && v.back() == '\n') v.remove_suffix(1);
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), recorded);
  if (!text.starts_with(kKey) || ec != std::errc() || ptr != v.data() + v.size() || recorded < core::kHour ||
      recorded % core::kHour != 0) {
    return Status::Corruption("FORMAT: expected block_duration_ns=<whole hours in ns>", path, 0);
  }
  if (recorded != wanted) {
    SF_LOG(info, "storage.block_duration_recorded", "dir={} recorded_ns={} requested_ns={}", dir, recorded, wanted);
  }
  return recorded;
}

}  // namespace

Engine::Engine(const Options& options)
    : options_(options), env_(options.env), clock_(options.clock), blocks_(std::make_shared<BlockSet>()) {}

Result<std::unique_ptr<Storage>> Engine::Open(const Options& options) {
  if (options.env == nullptr || options.clock == nullptr || options.dir.empty()) {
    return Status::InvalidArgument("storage options need env, clock and dir");
  }
  if (options.block_duration < core::kHour || options.block_duration % core::kHour != 0) {
    return Status::InvalidArgument("block_duration must be a whole number of hours (rollups align to it)");
  }
  core::Env* env = options.env;
  for (const char* sub : {"", "wal", "blocks", "rollup", "rollup/1m", "rollup/1h"}) {
    SF_RETURN_IF_ERROR(env->CreateDirs(core::JoinPath(options.dir, sub)));
  }
  // The partition width is a property of the directory's blocks: the first open records
  // it, later opens adopt it whatever their options say.
  Options effective = options;
  SF_ASSIGN_OR_RETURN(effective.block_duration, RecordedBlockDuration(env, options.dir, options.block_duration));
  std::unique_ptr<Engine> engine(new Engine(effective));
  SF_ASSIGN_OR_RETURN(engine->lock_, env->LockFile(core::JoinPath(options.dir, "LOCK")));
  SF_RETURN_IF_ERROR(engine->Recover());

  WalOptions wal_options;
  wal_options.env = env;
  wal_options.clock = options.clock;
  wal_options.dir = core::JoinPath(options.dir, "wal");
  wal_options.durability = options.durability;
  wal_options.segment_bytes = options.wal_segment_bytes;
  wal_options.fsync_seconds = options.wal_fsync_seconds;
  SF_ASSIGN_OR_RETURN(engine->wal_, Wal::Open(wal_options));
  engine->last_flush_ = options.clock->Now();
  if (options.background_maintenance) {
    engine->maintenance_ = std::thread([e = engine.get()] { e->MaintenanceLoop(); });
  }
  SF_LOG(info, "storage.opened", "dir={} series={} blocks={} head_samples={} durability={}", options.dir,
         engine->by_id_.size(), engine->CurrentBlocks()->raw.size(), engine->head_samples_.load(),
         options.durability.ToString());
  return std::unique_ptr<Storage>(std::move(engine));
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    stop_ = true;
  }
  bg_cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  if (wal_) {
    Status s = wal_->Close();
    if (!s.ok()) SF_LOG(error, "storage.close_failed", "dir={} error=\"{}\"", options_.dir, s.ToString());
  }
}

Status Engine::Recover() {
  SF_RETURN_IF_ERROR(LoadCatalog());
  SF_RETURN_IF_ERROR(OpenBlocks());
  return ReplayWal();
}

Status Engine::LoadCatalog() {
  const std::string path = core::JoinPath(options_.dir, "series.catalog");
  if (!env_->FileExists(path)) return Status::OK();
  SF_ASSIGN_OR_RETURN(std::string data, env_->ReadFileToString(path));
  std::vector<SeriesInfo> series;
  SF_RETURN_IF_ERROR(DecodeCatalog(data, path, &series));
  std::unique_lock l(series_mu_);
  for (const SeriesInfo& info : series) {
    // Ids are dense, so one far beyond the number of series is damage, not a reason to
    // allocate a table that large.
    if (core::ToU64(info.id) > series.size() + kMaxIdGap) {
      return Status::Corruption(fmt::format("series catalog: id {} for {} series", core::ToU64(info.id), series.size()),
                                path, 0);
    }
    InsertSeriesLocked(info);
  }
  return Status::OK();
}

namespace {

// "0000000000000042.blk" -> 42.
bool ParseBlockName(const std::string& name, uint64_t* seq) {
  if (!name.ends_with(".blk") || name.size() != 20) return false;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + 16, *seq);
  return ec == std::errc() && ptr == name.data() + 16;
}

}  // namespace

std::string Engine::BlockPath(const char* subdir, uint64_t seq) const {
  return core::JoinPath(core::JoinPath(options_.dir, subdir), fmt::format("{:016d}.blk", seq));
}

Status Engine::OpenBlocks() {
  auto set = std::make_shared<BlockSet>();
  uint64_t max_seq = 0;
  auto load = [&](const char* subdir, std::vector<std::shared_ptr<BlockReader>>* out) -> Status {
    const std::string dir = core::JoinPath(options_.dir, subdir);
    SF_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->GetChildren(dir));
    for (const std::string& name : names) {
      const std::string path = core::JoinPath(dir, name);
      if (name.ends_with(".tmp")) {  // an unfinished block from a crash: never visible
        SF_RETURN_IF_ERROR(env_->RemoveFile(path));
        continue;
      }
      uint64_t seq = 0;
      if (!ParseBlockName(name, &seq)) continue;
      auto reader = BlockReader::Open(env_, path);
      if (!reader.ok()) {
        // A damaged block is set aside, never deleted: an operator may salvage it.
        RecordCorruption(reader.status());
        SF_RETURN_IF_ERROR(env_->RenameFile(path, path + ".corrupt"));
        continue;
      }
      max_seq = std::max(max_seq, seq);
      out->push_back(std::shared_ptr<BlockReader>(std::move(reader).value()));
    }
    SortBlocks(out);
    return Status::OK();
  };
  SF_RETURN_IF_ERROR(load("blocks", &set->raw));
  SF_RETURN_IF_ERROR(load("rollup/1m", &set->rollup_1m));
  SF_RETURN_IF_ERROR(load("rollup/1h", &set->rollup_1h));
  next_seq_ = max_seq + 1;
  blocks_ = std::move(set);
  return Status::OK();
}

Status Engine::ReplayWal() {
  WalReplayReport report;
  WalRecordKind kind{};
  WalSeriesCreate create;
  SampleBatch batch;
  uint64_t skipped = 0;
  Status s = storage::ReplayWal(
      env_, core::JoinPath(options_.dir, "wal"),
      [&](uint64_t segment, std::string_view payload) -> Status {
        Status d = DecodeWalRecord(payload, &kind, &create, &batch);
        if (!d.ok()) {
          RecordCorruption(d.WithPrefix(fmt::format("WAL segment {}", segment)));
          return Status::OK();
        }
        std::unique_lock l(series_mu_);
        if (kind == WalRecordKind::kSeriesCreate) {
          if (core::ToU64(create.id) > by_id_.size() + kMaxIdGap) {
            RecordCorruption(Status::Corruption(fmt::format("WAL series creation with id {} (next id {})",
                                                            core::ToU64(create.id), by_id_.size() + 1),
                                                fmt::format("WAL segment {}", segment), 0));
            return Status::OK();
          }
          if (StateOf(create.id) == nullptr && by_key_.find(create.key) == by_key_.end()) {
            InsertSeriesLocked(SeriesInfo{create.id, create.key, create.type});
          }
          return Status::OK();
        }
        for (const auto& e : batch.entries) {
          SeriesState* st = StateOf(e.series);
          if (st == nullptr || st->info.type != e.value.type()) {
            ++skipped;
            continue;
          }
          size_t before = st->head.ApproxBytes();
          st->head.Append(e.ts, e.value, e.quality);
          head_bytes_ += static_cast<int64_t>(st->head.ApproxBytes() - before);
          ++head_samples_;
          if (!st->latest || e.ts >= st->latest->ts) st->latest = core::Sample{e.ts, e.value, e.quality};
        }
        return Status::OK();
      },
      &report);
  SF_RETURN_IF_ERROR(s);
  for (const Status& c : report.corruptions) RecordCorruption(c);
  if (report.truncated_bytes > 0) {
    SF_LOG(warn, "storage.wal_torn_tail", "dir={} truncated_bytes={}", options_.dir, report.truncated_bytes);
  }
  if (skipped > 0) {
    RecordCorruption(Status::Corruption(fmt::format("{} WAL samples refer to unknown series or the wrong type", skipped),
                                        core::JoinPath(options_.dir, "wal"), 0));
  }
  return Status::OK();
}

void Engine::RecordCorruption(const Status& s) const {
  ++corruptions_;
  SF_LOG(error, "storage.corruption", "dir={} error=\"{}\"", options_.dir, s.ToString());
}

void Engine::InsertSeriesLocked(const SeriesInfo& info) {
  const uint64_t id = core::ToU64(info.id);
  if (by_id_.size() < id) by_id_.resize(id);
  auto state = std::make_unique<SeriesState>();
  state->info = info;
  state->max_age = RetentionFor(info.key);
  state->head = HeadBuffer(info.type);
  state->frozen = HeadBuffer(info.type);
  by_id_[id - 1] = std::move(state);
  by_key_[info.key] = info.id;
}

SeriesState* Engine::StateOf(SeriesId id) const {
  const uint64_t i = core::ToU64(id);
  if (i == 0 || i > by_id_.size()) return nullptr;
  return by_id_[i - 1].get();
}

core::Duration Engine::RetentionFor(std::string_view key) const {
  for (const RetentionRule& rule : options_.retention) {
    if (core::GlobMatch(rule.pattern, key)) return rule.max_age;
  }
  return 0;
}

namespace {

Status ValidateKey(std::string_view key) {
  if (key.empty() || key.size() > 1024) {
    return Status::InvalidArgument(fmt::format("series key must be 1..1024 bytes (got {})", key.size()));
  }
  for (char c : key) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Status::InvalidArgument("series key contains a control character");
    }
  }
  if (key.front() == '/' || key.back() == '/' || key.find("//") != std::string_view::npos) {
    return Status::InvalidArgument(fmt::format("series key \"{}\" has an empty path segment", key));
  }
  return Status::OK();
}

}  // namespace

Result<SeriesId> Engine::GetOrCreateSeries(std::string_view key, ValueType type) {
  auto check = [&](SeriesId id) -> Result<SeriesId> {
    const SeriesState* st = StateOf(id);
    if (st->info.type != type) {
      return Status::InvalidArgument(fmt::format("series \"{}\" holds {} values, not {}", key,
                                                 core::ValueTypeName(st->info.type), core::ValueTypeName(type)));
    }
    return id;
  };
  {
    std::shared_lock l(series_mu_);
    auto it = by_key_.find(key);
    if (it != by_key_.end()) return check(it->second);
  }
  SF_RETURN_IF_ERROR(ValidateKey(key));
  std::lock_guard<std::mutex> create(create_mu_);
  {
    std::shared_lock l(series_mu_);
    auto it = by_key_.find(key);
    if (it != by_key_.end()) return check(it->second);
  }
  SeriesInfo info;
  {
    std::shared_lock l(series_mu_);
    info.id = static_cast<SeriesId>(by_id_.size() + 1);
  }
  info.key = std::string(key);
  info.type = type;
  std::string payload;
  EncodeSeriesCreate(WalSeriesCreate{info.id, info.type, info.key}, &payload);
  // Registered before the gate is released: a flush (which holds the gate exclusively to
  // rotate the WAL) must find the series in the catalog it writes if the creation record
  // is in a segment that the flush trims.
  std::shared_lock gate(gate_);
  SF_RETURN_IF_ERROR(wal_->Append(payload).status());
  std::unique_lock l(series_mu_);
  InsertSeriesLocked(info);
  return info.id;
}

Result<SeriesInfo> Engine::FindSeries(std::string_view key) const {
  std::shared_lock l(series_mu_);
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return Status::NotFound(fmt::format("no series \"{}\"", key));
  return StateOf(it->second)->info;
}

Result<SeriesInfo> Engine::GetSeries(SeriesId id) const {
  std::shared_lock l(series_mu_);
  const SeriesState* st = StateOf(id);
  if (st == nullptr) return Status::NotFound(fmt::format("no series with id {}", core::ToU64(id)));
  return st->info;
}

std::vector<SeriesInfo> Engine::MatchSeries(std::string_view glob) const {
  std::vector<SeriesInfo> out;
  const std::string_view prefix = core::GlobLiteralPrefix(glob);
  std::shared_lock l(series_mu_);
  for (auto it = by_key_.lower_bound(prefix); it != by_key_.end() && it->first.starts_with(prefix); ++it) {
    if (core::GlobMatch(glob, it->first)) out.push_back(StateOf(it->second)->info);
  }
  return out;
}

StorageStats Engine::stats() const {
  StorageStats s;
  {
    std::shared_lock l(series_mu_);
    s.series = by_key_.size();
  }
  s.samples_written = samples_written_;
  s.head_bytes = static_cast<uint64_t>(std::max<int64_t>(0, head_bytes_.load()));
  s.head_samples = static_cast<uint64_t>(std::max<int64_t>(0, head_samples_.load()));
  auto blocks = CurrentBlocks();
  for (const auto* list : {&blocks->raw, &blocks->rollup_1m, &blocks->rollup_1h}) {
    for (const auto& b : *list) {
      ++s.blocks;
      s.block_bytes += b->file_size();
    }
  }
  if (wal_) {
    s.wal_bytes = wal_->bytes_written();
    s.wal_syncs = wal_->syncs();
  }
  s.flushes = flushes_;
  s.compactions = compactions_;
  s.retention_evicted_blocks = retention_evicted_;
  s.retention_evicted_samples = retention_evicted_samples_;
  s.quota_evicted_blocks = quota_evicted_;
  s.corruptions = corruptions_;
  return s;
}

std::shared_ptr<const BlockSet> Engine::CurrentBlocks() const {
  std::shared_lock l(version_mu_);
  return blocks_;
}

}  // namespace shopfloor::storage
