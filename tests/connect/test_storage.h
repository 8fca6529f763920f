// Shared by the connector tests: a temporary directory, and a real storage::Storage (no
// fsync, no background work) behind an ingest::Writer, with a reader of one series.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ingest/writer.h"
#include "storage/storage.h"

namespace shopfloor::connect::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "sf-connect-test") {
    std::string templ = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    path_ = ::mkdtemp(templ.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class TestStorage {
 public:
  TestStorage() {
    storage::Options options;
    options.env = core::Env::Posix();
    options.clock = core::Clock::System();
    options.dir = dir_.path();
    options.durability.mode = storage::DurabilityPolicy::Mode::kNone;
    options.background_maintenance = false;
    auto opened = storage::Storage::Open(options);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (opened.ok()) storage_ = std::move(*opened);
    writer_ = std::make_unique<ingest::Writer>(storage_.get(), nullptr);
  }
  // Every sample of the series `key`, in time order (none when it does not exist).
  std::vector<core::Sample> Samples(const std::string& key) const {
    std::vector<core::Sample> out;
    auto info = storage_->FindSeries(key);
    if (!info.ok()) return out;
    auto it = storage_->ReadRaw(info->id, 0, std::numeric_limits<core::Timestamp>::max());
    EXPECT_TRUE(it.ok());
    core::Sample sample;
    while ((*it)->Next(&sample)) out.push_back(sample);
    EXPECT_TRUE((*it)->status().ok());
    return out;
  }
  ingest::Writer* writer() { return writer_.get(); }
  storage::Storage* storage() { return storage_.get(); }

 private:
  TempDir dir_{"sf-connect-storage"};
  std::unique_ptr<storage::Storage> storage_;
  std::unique_ptr<ingest::Writer> writer_;
};

}  // namespace shopfloor::connect::testing
