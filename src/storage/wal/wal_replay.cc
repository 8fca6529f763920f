// ReplayWal: reads every segment in order and applies the recovery rules of
// docs/format/wal.md (torn tail of the last segment cut away, other damage reported).
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "storage/wal/record_reader.h"
#include "storage/wal/wal.h"
#include "storage/wal/wal_format.h"

namespace shopfloor::storage {

using core::Status;

namespace {

Status DamageStatus(const WalDamage& damage, const std::string& path) {
  return Status::Corruption(
      fmt::format("WAL {}; {} bytes [{}, {}) skipped", damage.reason, damage.end - damage.start,
                  damage.start, damage.end),
      path, damage.detected_at);
}

// Replays one segment. In the last segment, damage is held back until a good payload
// follows it; if none does, the segment ends in a torn tail and *torn_tail_at is set to
// the end of the last good payload (the held-back damage is part of what is cut).
Status ReplaySegment(core::Env* env, const std::string& path, uint64_t number, bool is_last,
                     const std::function<Status(uint64_t, std::string_view)>& fn,
                     WalReplayReport* report, std::optional<uint64_t>* torn_tail_at) {
  auto file = env->NewSequentialFile(path);
  if (!file.ok()) return file.status().WithPrefix("opening WAL segment " + path);
  RecordReader reader(file->get(), path);
  uint64_t good_end = 0;  // end of the last good payload
  std::vector<Status> held_back;
  while (true) {
    auto event = reader.Next();
    if (!event.ok()) return event.status();
    switch (*event) {
      case RecordReader::Event::kEnd:
        // Damage is only ever followed by a record or by damage at the end of the file,
        // so nothing is held back here.
        return Status::OK();
      case RecordReader::Event::kRecord:
        for (Status& s : held_back) report->corruptions.push_back(std::move(s));
        held_back.clear();
        SF_RETURN_IF_ERROR(fn(number, reader.payload()));
        ++report->records;
        good_end = reader.record_end();
        break;
      case RecordReader::Event::kDamage: {
        const WalDamage& damage = reader.damage();
        if (is_last && damage.at_end_of_file) {
          *torn_tail_at = good_end;
          report->truncated_bytes += damage.end - good_end;
          return Status::OK();
        }
        if (is_last) {
          held_back.push_back(DamageStatus(damage, path));
        } else {
          report->corruptions.push_back(DamageStatus(damage, path));
        }
        break;
      }
    }
  }
}

}  // namespace

Status ReplayWal(core::Env* env, const std::string& dir,
                 const std::function<Status(uint64_t segment, std::string_view payload)>& fn,
                 WalReplayReport* report) {
  WalReplayReport local;
  if (report == nullptr) report = &local;
  *report = WalReplayReport{};
  if (env == nullptr) return Status::InvalidArgument("ReplayWal: env is required");

  SF_ASSIGN_OR_RETURN(std::vector<uint64_t> segments, ListWalSegments(env, dir));
  for (size_t i = 0; i < segments.size(); ++i) {
    const uint64_t number = segments[i];
    const std::string path = core::JoinPath(dir, wal_format::SegmentFileName(number));
    if (i > 0 && number != segments[i - 1] + 1) {
      report->corruptions.push_back(Status::Corruption(
          fmt::format("WAL segments {} to {} are missing", segments[i - 1] + 1, number - 1),
          core::JoinPath(dir, wal_format::SegmentFileName(segments[i - 1] + 1)), 0));
    }
    std::optional<uint64_t> torn_tail_at;
    SF_RETURN_IF_ERROR(
        ReplaySegment(env, path, number, i + 1 == segments.size(), fn, report, &torn_tail_at));
    ++report->segments;
    if (torn_tail_at) {
      Status s = env->TruncateFile(path, *torn_tail_at);
      if (!s.ok()) return s.WithPrefix(fmt::format("cutting torn tail of WAL segment {} at offset {}", path, *torn_tail_at));
    }
  }
  return Status::OK();
}

}  // namespace shopfloor::storage
