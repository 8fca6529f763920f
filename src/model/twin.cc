// TwinStore: reported/desired state per asset, the version sequence and desired persistence.
#include "model/twin.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "model/asset_store_internal.h"
#include "model/twin_internal.h"

namespace shopfloor::model {

using core::Result;
using core::Status;
using nlohmann::json;

namespace {

const std::vector<std::string> kMigrations = {
    R"sql(
CREATE TABLE twin_meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE twin_desired(
  tag_id INTEGER PRIMARY KEY REFERENCES tags(id) ON DELETE CASCADE,
  value TEXT NOT NULL,
  by TEXT NOT NULL,
  at INTEGER NOT NULL);
)sql",
};

constexpr size_t kMaxForeignIds = 100'000;

bool IsNumeric(core::ValueType type) { return type == core::ValueType::kDouble || type == core::ValueType::kInt64; }

}  // namespace

TwinSnapshot TwinStore::Twin::Snapshot() const {
  TwinSnapshot snap;
  snap.asset_id = asset_id;
  snap.path = path;
  snap.attributes = attributes;
  snap.version = version;
  for (const TagSlot& slot : tags) {
    if (slot.has_reported) snap.reported.emplace(slot.tag.name, slot.reported);
    if (!slot.desired) continue;
    snap.desired.emplace(slot.tag.name, *slot.desired);
    bool equal = false;
    if (slot.has_reported) {
      const core::Value& want = slot.desired->value;
      const core::Value& have = slot.reported.value;
      double a = 0;
      double b = 0;
      if (IsNumeric(want.type()) && IsNumeric(have.type()) && want.ToNumber(&a) && have.ToNumber(&b)) {
        double tolerance = std::max(slot.tag.deadband, 1e-6 * std::max(1.0, std::fabs(a)));
        equal = std::fabs(a - b) <= tolerance;
      } else {
        equal = want == have;
      }
    }
    if (!equal) snap.delta.push_back(slot.tag.name);
  }
  std::sort(snap.delta.begin(), snap.delta.end());
  return snap;
}

TwinStore::TwinStore(meta::Db* db, AssetStore* assets, core::Clock* clock, SeriesResolver resolver,
                     TwinOptions options)
    : db_(db), assets_(assets), clock_(clock), resolver_(std::move(resolver)), options_(options) {
  if (options_.version_block == 0) options_.version_block = 1;
}

TwinStore::~TwinStore() = default;

Result<std::unique_ptr<TwinStore>> TwinStore::Open(meta::Db* db, AssetStore* assets, core::Clock* clock,
                                                   SeriesResolver resolver, TwinOptions options) {
  SF_RETURN_IF_ERROR(db->Migrate("twin", kMigrations));
  std::unique_ptr<TwinStore> store(new TwinStore(db, assets, clock, std::move(resolver), options));
  SF_RETURN_IF_ERROR(store->LoadVersionMark());
  SF_RETURN_IF_ERROR(store->Rebuild());
  return store;
}

Status TwinStore::LoadVersionMark() {
  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare("SELECT value FROM twin_meta WHERE key='version_mark'"));
  SF_ASSIGN_OR_RETURN(bool row, q.Step());
  // Every version handed out before is below the persisted mark, so continue at the mark.
  uint64_t mark = row ? static_cast<uint64_t>(q.Int(0)) : 0;
  uint64_t start = std::max<uint64_t>(mark, 1);
  uint64_t limit = start + options_.version_block;
  SF_ASSIGN_OR_RETURN(meta::Statement up, db_->Prepare(
      "INSERT INTO twin_meta(key, value) VALUES('version_mark', ?1) ON CONFLICT(key) DO UPDATE SET value=excluded.value"));
  up.Bind(1, static_cast<int64_t>(limit));
  SF_RETURN_IF_ERROR(up.Run());
  next_version_.store(start);
  version_limit_.store(limit);
  return Status::OK();
}

uint64_t TwinStore::NextVersion() {
  uint64_t version = next_version_.fetch_add(1, std::memory_order_relaxed);
  if (version < version_limit_.load(std::memory_order_acquire)) return version;
  std::lock_guard lock(version_mu_);
  while (version >= version_limit_.load(std::memory_order_acquire)) {
    uint64_t limit = version_limit_.load(std::memory_order_relaxed) + options_.version_block;
    auto q = db_->Prepare("UPDATE twin_meta SET value=?1 WHERE key='version_mark'");
    Status s = q.ok() ? q->Bind(1, static_cast<int64_t>(limit)).Run() : q.status();
    // Without the mark a crash could repeat versions; say so loudly, keep serving.
    if (!s.ok()) spdlog::error("twin.version_mark_failed mark={} error=\"{}\"", limit, s.ToString());
    version_limit_.store(limit, std::memory_order_release);
  }
  return version;
}

Status TwinStore::Rebuild() {
  std::vector<Asset> assets = assets_->AllAssets();
  std::map<int64_t, DesiredValue> desired;
  {
    SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare("SELECT tag_id, value, by, at FROM twin_desired"));
    while (true) {
      SF_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      json value = json::parse(q.Text(1), nullptr, false);
      auto parsed = internal::ValueFromJson(value, fmt::format("desired value of tag {}", q.Int(0)));
      if (!parsed.ok()) return Status::Corruption(parsed.status().message(), db_->path(), 0);
      desired[q.Int(0)] = DesiredValue{std::move(parsed).value(), q.Text(2), q.Int(3)};
    }
  }
  std::map<int64_t, std::unique_ptr<Twin>> twins;
  std::vector<std::pair<std::string, SlotRef>> keys;
  for (Asset& asset : assets) {
    auto twin = std::make_unique<Twin>();
    twin->asset_id = asset.id;
    twin->path = asset.path;
    twin->attributes = std::move(asset.attributes);
    for (Tag& tag : asset.tags) {
      TagSlot slot;
      if (auto it = desired.find(tag.id); it != desired.end()) slot.desired = it->second;
      slot.tag = std::move(tag);
      twin->tags.push_back(std::move(slot));
    }
    for (size_t i = 0; i < twin->tags.size(); ++i) keys.emplace_back(twin->tags[i].tag.series_key, SlotRef{twin.get(), i});
    twins.emplace(asset.id, std::move(twin));
  }
  std::unique_lock lock(structure_mu_);
  for (auto& [id, twin] : twins) {
    auto old = twins_.find(id);
    if (old == twins_.end()) {
      twin->version = NextVersion();
      continue;
    }
    std::lock_guard old_lock(old->second->mu);
    twin->version = old->second->version;
    for (TagSlot& slot : twin->tags) {
      for (const TagSlot& before : old->second->tags) {
        if (before.tag.id == slot.tag.id && before.has_reported) {
          slot.has_reported = true;
          slot.reported = before.reported;
        }
      }
    }
  }
  twins_ = std::move(twins);
  by_series_.clear();
  by_series_key_.clear();
  pending_.clear();
  foreign_.clear();
  for (auto& [key, ref] : keys) {
    by_series_key_.emplace(key, ref);
    pending_.push_back(ref);
  }
  ResolvePending();
  return Status::OK();
}

bool TwinStore::ResolvePending() {
  bool changed = false;
  std::vector<SlotRef> still;
  for (const SlotRef& ref : pending_) {
    std::optional<core::SeriesId> id = resolver_ ? resolver_(ref.twin->tags[ref.index].tag.series_key) : std::nullopt;
    if (id) {
      by_series_[core::ToU64(*id)] = ref;
      foreign_.erase(core::ToU64(*id));
      changed = true;
    } else {
      still.push_back(ref);
    }
  }
  pending_ = std::move(still);
  return changed;
}

namespace {

// Applies one sample to a slot unless it is older than the one held.
template <typename TwinT, typename Next>
void ApplySample(TwinT* twin, size_t index, const core::SampleBatch::Entry& entry, Next&& next_version) {
  std::lock_guard lock(twin->mu);
  auto& slot = twin->tags[index];
  if (slot.has_reported && entry.ts < slot.reported.ts) return;
  slot.has_reported = true;
  slot.reported.ts = entry.ts;
  slot.reported.value = entry.value;
  slot.reported.quality = entry.quality;
  twin->version = next_version();
}

}  // namespace

void TwinStore::OnSamples(const core::SampleBatch& batch) {
  std::vector<size_t> misses;  // allocated only when a sample's series is unknown
  {
    std::shared_lock lock(structure_mu_);
    for (size_t i = 0; i < batch.entries.size(); ++i) {
      const auto& entry = batch.entries[i];
      auto it = by_series_.find(core::ToU64(entry.series));
      if (it != by_series_.end()) {
        ApplySample(it->second.twin, it->second.index, entry, [this] { return NextVersion(); });
      } else if (!pending_.empty() && foreign_.count(core::ToU64(entry.series)) == 0) {
        misses.push_back(i);
      } else {
        unmatched_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  if (misses.empty()) return;
  // Slow path: series we have not seen; they may belong to tags whose series are new.
  std::unique_lock lock(structure_mu_);
  ResolvePending();
  for (size_t i : misses) {
    const auto& entry = batch.entries[i];
    auto it = by_series_.find(core::ToU64(entry.series));
    if (it != by_series_.end()) {
      ApplySample(it->second.twin, it->second.index, entry, [this] { return NextVersion(); });
      continue;
    }
    if (foreign_.size() >= kMaxForeignIds) foreign_.clear();
    foreign_.insert(core::ToU64(entry.series));
    unmatched_.fetch_add(1, std::memory_order_relaxed);
  }
}

bool TwinStore::SeedReported(std::string_view series_key, const core::Sample& sample) {
  std::shared_lock lock(structure_mu_);
  auto it = by_series_key_.find(std::string(series_key));
  if (it == by_series_key_.end()) return false;
  core::SampleBatch::Entry entry{core::SeriesId{0}, sample.ts, sample.value, sample.quality};
  ApplySample(it->second.twin, it->second.index, entry, [this] { return NextVersion(); });
  return true;
}

Result<TwinSnapshot> TwinStore::Get(int64_t asset_id) const {
  std::shared_lock lock(structure_mu_);
  auto it = twins_.find(asset_id);
  if (it == twins_.end()) return Status::NotFound(fmt::format("asset {} not found", asset_id));
  std::lock_guard twin_lock(it->second->mu);
  return it->second->Snapshot();
}

void TwinStore::SetListener(Listener listener) {
  std::lock_guard lock(listener_mu_);
  listener_ = std::move(listener);
}

void TwinStore::Notify(const ModelEvent& event) {
  Listener listener;
  {
    std::lock_guard lock(listener_mu_);
    listener = listener_;
  }
  if (listener) listener(event);
}

}  // namespace shopfloor::model
