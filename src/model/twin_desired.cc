// TwinStore: desired state (validation, persistence, events) and staleness.
#include <cmath>

#include <fmt/format.h>

#include "model/asset_store_internal.h"
#include "model/twin.h"
#include "model/twin_internal.h"

namespace shopfloor::model {

using core::Result;
using core::Status;
using nlohmann::json;

namespace {

std::string RangeText(const TagRange& range) { return fmt::format("[{}, {}]", range.min, range.max); }

// Checks `value` against `tag`; returns the value as stored (an int64 for a double tag
// becomes a double).
Result<core::Value> CheckDesired(const Tag& tag, const core::Value& value) {
  std::string what = fmt::format("tag \"{}\"", tag.name);
  if (!tag.writable) return Status::InvalidArgument(fmt::format("{}: not writable", what));
  core::Value stored = value;
  if (tag.type == core::ValueType::kDouble && value.is_int()) stored = static_cast<double>(value.as_int());
  if (stored.type() != tag.type) {
    return Status::InvalidArgument(fmt::format("{}: value must be {} (got {} {})", what, core::ValueTypeName(tag.type),
                                               core::ValueTypeName(value.type()), value.ToString()));
  }
  double number = 0;
  if ((stored.is_double() || stored.is_int()) && stored.ToNumber(&number)) {
    if (!std::isfinite(number)) return Status::InvalidArgument(fmt::format("{}: value must be finite", what));
    if (tag.range && (number < tag.range->min || number > tag.range->max)) {
      return Status::InvalidArgument(fmt::format("{}: value {} is outside the range {}{}", what, stored.ToString(),
                                                 RangeText(*tag.range), tag.unit.empty() ? "" : " " + tag.unit));
    }
  }
  return stored;
}

}  // namespace

Result<TwinSnapshot> TwinStore::SetDesired(std::string_view actor, int64_t asset_id,
                                           const std::map<std::string, core::Value>& values) {
  if (values.empty()) return Status::InvalidArgument("desired: no tag values given");
  std::lock_guard write_lock(write_mu_);
  std::shared_lock lock(structure_mu_);
  auto it = twins_.find(asset_id);
  if (it == twins_.end()) return Status::NotFound(fmt::format("asset {} not found", asset_id));
  Twin* twin = it->second.get();
  core::Timestamp now = clock_->Now();
  std::vector<std::pair<TagSlot*, core::Value>> checked;
  {
    std::lock_guard twin_lock(twin->mu);
    for (const auto& [name, value] : values) {
      TagSlot* slot = twin->Find(name);
      if (slot == nullptr) {
        return Status::NotFound(fmt::format("tag \"{}\": asset \"{}\" has no such tag", name, twin->path));
      }
      SF_ASSIGN_OR_RETURN(core::Value stored, CheckDesired(slot->tag, value));
      checked.emplace_back(slot, std::move(stored));
    }
  }
  // One statement, so the whole set is stored or none of it.
  std::string sql = "INSERT INTO twin_desired(tag_id, value, by, at) VALUES";
  for (size_t i = 0; i < checked.size(); ++i) {
    sql += fmt::format("{}(?{}, ?{}, ?{}, ?{})", i == 0 ? "" : ", ", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4);
  }
  sql += " ON CONFLICT(tag_id) DO UPDATE SET value=excluded.value, by=excluded.by, at=excluded.at";
  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare(sql));
  for (size_t i = 0; i < checked.size(); ++i) {
    int base = static_cast<int>(4 * i);
    q.Bind(base + 1, checked[i].first->tag.id).Bind(base + 2, internal::Dump(internal::ValueToJson(checked[i].second)));
    q.Bind(base + 3, actor).Bind(base + 4, now);
  }
  SF_RETURN_IF_ERROR(q.Run());

  json before = json::object();
  json after = json::object();
  TwinSnapshot snap;
  {
    std::lock_guard twin_lock(twin->mu);
    for (auto& [slot, value] : checked) {
      before[slot->tag.name] = slot->desired ? internal::ValueToJson(slot->desired->value) : json(nullptr);
      after[slot->tag.name] = internal::ValueToJson(value);
      slot->desired = DesiredValue{std::move(value), std::string(actor), now};
    }
    twin->version = NextVersion();
    snap = twin->Snapshot();
  }
  lock.unlock();
  ModelEvent event{now, "twin.desired", snap.path, std::string(actor),
                   fmt::format("desired {} set on {}", internal::Dump(after), snap.path),
                   internal::Dump(json{{"before", before}, {"after", after}, {"version", snap.version}})};
  Notify(event);
  return snap;
}

Result<TwinSnapshot> TwinStore::ClearDesired(std::string_view actor, int64_t asset_id,
                                             const std::vector<std::string>& tags) {
  std::lock_guard write_lock(write_mu_);
  std::shared_lock lock(structure_mu_);
  auto it = twins_.find(asset_id);
  if (it == twins_.end()) return Status::NotFound(fmt::format("asset {} not found", asset_id));
  Twin* twin = it->second.get();
  std::vector<TagSlot*> slots;
  {
    std::lock_guard twin_lock(twin->mu);
    if (tags.empty()) {
      for (TagSlot& slot : twin->tags) {
        if (slot.desired) slots.push_back(&slot);
      }
    } else {
      for (const std::string& name : tags) {
        TagSlot* slot = twin->Find(name);
        if (slot == nullptr) {
          return Status::NotFound(fmt::format("tag \"{}\": asset \"{}\" has no such tag", name, twin->path));
        }
        if (slot->desired) slots.push_back(slot);
      }
    }
  }
  if (!slots.empty()) {
    std::string sql = "DELETE FROM twin_desired WHERE tag_id IN (";
    for (size_t i = 0; i < slots.size(); ++i) sql += fmt::format("{}?{}", i == 0 ? "" : ", ", i + 1);
    sql += ")";
    SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare(sql));
    for (size_t i = 0; i < slots.size(); ++i) q.Bind(static_cast<int>(i + 1), slots[i]->tag.id);
    SF_RETURN_IF_ERROR(q.Run());
  }
  json before = json::object();
  TwinSnapshot snap;
  core::Timestamp now = clock_->Now();
  {
    std::lock_guard twin_lock(twin->mu);
    for (TagSlot* slot : slots) {
      if (slot->desired) before[slot->tag.name] = internal::ValueToJson(slot->desired->value);
      slot->desired.reset();
    }
    if (!slots.empty()) twin->version = NextVersion();
    snap = twin->Snapshot();
  }
  lock.unlock();
  if (!slots.empty()) {
    ModelEvent event{now, "twin.desired_cleared", snap.path, std::string(actor),
                     fmt::format("desired {} cleared on {}", internal::Dump(before), snap.path),
                     internal::Dump(json{{"before", before}, {"after", json::object()}, {"version", snap.version}})};
    Notify(event);
  }
  return snap;
}

Status TwinStore::MarkStale(int64_t asset_id, const std::vector<std::string>& tags, core::Quality quality) {
  std::shared_lock lock(structure_mu_);
  auto it = twins_.find(asset_id);
  if (it == twins_.end()) return Status::NotFound(fmt::format("asset {} not found", asset_id));
  Twin* twin = it->second.get();
  std::lock_guard twin_lock(twin->mu);
  std::vector<TagSlot*> slots;
  if (tags.empty()) {
    for (TagSlot& slot : twin->tags) slots.push_back(&slot);
  } else {
    for (const std::string& name : tags) {
      TagSlot* slot = twin->Find(name);
      if (slot == nullptr) {
        return Status::NotFound(fmt::format("tag \"{}\": asset \"{}\" has no such tag", name, twin->path));
      }
      slots.push_back(slot);
    }
  }
  bool changed = false;
  for (TagSlot* slot : slots) {
    if (slot->has_reported && slot->reported.quality != quality) {
      slot->reported.quality = quality;
      changed = true;
    }
  }
  if (changed) twin->version = NextVersion();
  return Status::OK();
}

}  // namespace shopfloor::model
