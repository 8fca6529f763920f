// Fuzz target for the engine's payload decoders: DecodeWalRecord (a WAL record's payload)
// and DecodeCatalog (the series.catalog file). Arbitrary bytes must decode or yield a
// Corruption status, never a crash; what decodes must survive an encode/decode round trip.
//
// Input: byte 0 selects the decoder (bit 0 clear: WAL record, set: catalog); the rest is
// the payload or file.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"
#include "storage/catalog.h"
#include "storage/wal_record.h"

namespace {

using shopfloor::core::Status;
namespace sf = shopfloor::storage;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

bool SameBatch(const shopfloor::core::SampleBatch& a, const shopfloor::core::SampleBatch& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto& x = a.entries[i];
    const auto& y = b.entries[i];
    if (x.series != y.series || x.ts != y.ts || !x.value.IdenticalTo(y.value) || x.quality != y.quality) return false;
  }
  return true;
}

void FuzzWalRecord(std::string_view payload) {
  sf::WalRecordKind kind{};
  sf::WalSeriesCreate create;
  shopfloor::core::SampleBatch batch;
  Status s = sf::DecodeWalRecord(payload, &kind, &create, &batch);
  if (!s.ok()) {
    Check(s.IsCorruption());
    Check(s.context().offset.value_or(0) <= payload.size());
    return;
  }
  std::string encoded;
  if (kind == sf::WalRecordKind::kSeriesCreate) {
    sf::EncodeSeriesCreate(create, &encoded);
  } else {
    Check(kind == sf::WalRecordKind::kSamples);
    sf::EncodeSamples(batch, &encoded);
  }
  sf::WalRecordKind kind2{};
  sf::WalSeriesCreate create2;
  shopfloor::core::SampleBatch batch2;
  Check(sf::DecodeWalRecord(encoded, &kind2, &create2, &batch2).ok());
  Check(kind2 == kind);
  if (kind == sf::WalRecordKind::kSeriesCreate) {
    Check(create2.id == create.id && create2.type == create.type && create2.key == create.key);
  } else {
    Check(SameBatch(batch, batch2));
  }
  // The encoder writes canonical varints, so a second round trip is byte-identical.
  std::string again;
  if (kind == sf::WalRecordKind::kSeriesCreate) {
    sf::EncodeSeriesCreate(create2, &again);
  } else {
    sf::EncodeSamples(batch2, &again);
  }
  Check(again == encoded);
}

void FuzzCatalog(std::string_view data) {
  const std::string file = "/db/series.catalog";
  std::vector<sf::SeriesInfo> series;
  Status s = sf::DecodeCatalog(data, file, &series);
  if (!s.ok()) {
    Check(s.IsCorruption());
    Check(s.context().file == file);
    Check(s.context().offset.value_or(0) <= data.size());
    return;
  }
  std::string encoded;
  sf::EncodeCatalog(series, &encoded);
  std::vector<sf::SeriesInfo> series2;
  Check(sf::DecodeCatalog(encoded, file, &series2).ok());
  Check(series2.size() == series.size());
  for (size_t i = 0; i < series.size(); ++i) {
    Check(series2[i].id == series[i].id && series2[i].type == series[i].type && series2[i].key == series[i].key);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    FuzzWalRecord(body);
  } else {
    FuzzCatalog(body);
  }
  return 0;
}
