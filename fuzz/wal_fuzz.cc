// Fuzz target for WAL replay: arbitrary bytes as a segment file must yield records, damage
// reports naming file and offset, or a torn-tail cut, and never a crash.
//
// Input: byte 0 holds flags (bit 0: add a valid later segment, so the input is not the
// last segment and its damage must be reported rather than cut); the rest is the segment.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "storage/wal/record_reader.h"
#include "storage/wal/wal.h"
#include "storage/wal/wal_format.h"

namespace {

using shopfloor::core::Status;
namespace sf = shopfloor::storage;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

void WriteFile(shopfloor::core::Env* env, const std::string& path, std::string_view data) {
  auto file = env->NewWritableFile(path);
  Check(file.ok());
  Check((*file)->Append(data).ok());
  Check((*file)->Close().ok());
}

std::vector<std::string> Replay(shopfloor::core::Env* env, sf::WalReplayReport* report) {
  std::vector<std::string> records;
  Status s = sf::ReplayWal(
      env, "/wal",
      [&](uint64_t, std::string_view payload) {
        records.emplace_back(payload);
        return Status::OK();
      },
      report);
  Check(s.ok());
  return records;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool later_segment = (data[0] & 1) != 0;
  const std::string_view segment(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto env = shopfloor::core::NewMemEnv();
  Check(env->CreateDirs("/wal").ok());
  const std::string path = "/wal/" + sf::wal_format::SegmentFileName(1);
  WriteFile(env.get(), path, segment);
  if (later_segment) {
    std::string good;
    sf::wal_format::RecordEncoder encoder;
    encoder.Add("sentinel", &good);
    WriteFile(env.get(), "/wal/" + sf::wal_format::SegmentFileName(2), good);
  }

  sf::WalReplayReport report;
  std::vector<std::string> records = Replay(env.get(), &report);
  Check(report.segments == (later_segment ? 2u : 1u));
  if (later_segment) {
    Check(!records.empty() && records.back() == "sentinel");
    Check(report.truncated_bytes == 0);
  }
  for (const Status& c : report.corruptions) {
    Check(c.IsCorruption());
    Check(c.context().file == path);
    Check(c.context().offset.has_value() && *c.context().offset <= segment.size());
  }
  const uint64_t size_after = env->GetFileSize(path).value_or(~0ull);
  Check(size_after + report.truncated_bytes == segment.size());

  // Cutting the tail leaves a clean log with the same records and damage reports.
  sf::WalReplayReport again;
  Check(Replay(env.get(), &again) == records);
  Check(again.truncated_bytes == 0);
  Check(again.corruptions.size() == report.corruptions.size());
  for (size_t i = 0; i < again.corruptions.size(); ++i) {
    Check(again.corruptions[i].ToString() == report.corruptions[i].ToString());
  }

  // Whatever the bytes, they survive a round trip as a payload, at any block offset.
  std::string encoded;
  sf::wal_format::RecordEncoder encoder;
  encoder.Add(std::string(size % sf::wal_format::kBlockSize, 'f'), &encoded);
  encoder.Add(segment, &encoded);
  WriteFile(env.get(), "/wal/rt", encoded);
  auto file = env->NewSequentialFile("/wal/rt");
  Check(file.ok());
  sf::RecordReader reader(file->get(), "/wal/rt");
  bool seen = false;
  while (true) {
    auto event = reader.Next();
    Check(event.ok());
    if (*event == sf::RecordReader::Event::kEnd) break;
    if (*event == sf::RecordReader::Event::kRecord && reader.payload() == segment) seen = true;
  }
  Check(seen);
  return 0;
}
