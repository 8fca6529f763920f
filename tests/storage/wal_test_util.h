// Helpers shared by the WAL tests.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "core/env.h"
#include "storage/wal/record_reader.h"
#include "storage/wal/wal.h"
#include "storage/wal/wal_format.h"

namespace shopfloor::storage::testing {

struct Replayed {
  uint64_t segment;
  std::string payload;
  bool operator==(const Replayed&) const = default;
};

// Replays dir; fails the test on a non-OK result.
inline std::vector<Replayed> ReplayAll(core::Env* env, const std::string& dir, WalReplayReport* report) {
  std::vector<Replayed> out;
  core::Status s = ReplayWal(
      env, dir,
      [&](uint64_t segment, std::string_view payload) {
        out.push_back(Replayed{segment, std::string(payload)});
        return core::Status::OK();
      },
      report);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// A deterministic payload of `size` bytes that differs for every index.
inline std::string TestPayload(uint64_t index, size_t size) {
  std::string out(size, '\0');
  uint64_t x = index * 0x9e3779b97f4a7c15ull + 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x);
  }
  return out;
}

inline std::string SegmentPath(const std::string& dir, uint64_t number) {
  return core::JoinPath(dir, wal_format::SegmentFileName(number));
}

inline std::string ReadWhole(core::Env* env, const std::string& path) {
  auto content = env->ReadFileToString(path);
  EXPECT_TRUE(content.ok()) << content.status().ToString();
  return content.ok() ? *content : std::string();
}

inline void WriteWhole(core::Env* env, const std::string& path, std::string_view data) {
  auto file = env->NewWritableFile(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_TRUE((*file)->Append(data).ok());
  ASSERT_TRUE((*file)->Close().ok());
}

// Start offsets of the payloads in one segment file, via RecordReader.
inline std::vector<uint64_t> RecordOffsets(core::Env* env, const std::string& path) {
  std::vector<uint64_t> offsets;
  auto file = env->NewSequentialFile(path);
  EXPECT_TRUE(file.ok());
  if (!file.ok()) return offsets;
  RecordReader reader(file->get(), path);
  while (true) {
    auto event = reader.Next();
    EXPECT_TRUE(event.ok());
    if (!event.ok() || *event == RecordReader::Event::kEnd) break;
    if (*event == RecordReader::Event::kRecord) offsets.push_back(reader.record_offset());
  }
  return offsets;
}

}  // namespace shopfloor::storage::testing
