// Fuzz target for the InfluxDB line protocol parser (connect/lineproto).
// Checks the contract beyond "no crash": a failed parse leaves the batch empty and names a
// line; a successful one yields points that each have at least one field and sorted tags.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "connect/lineproto/line_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using shopfloor::connect::LineBatch;
  using shopfloor::connect::LineProtocolOptions;
  using shopfloor::connect::Precision;
  if (size == 0) return 0;
  // The first byte picks the precision so scaling and overflow paths are reached.
  LineProtocolOptions options;
  options.precision = static_cast<Precision>(data[0] % 6);
  options.default_time = 1'700'000'000'123'456'789LL;
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  static LineBatch batch;  // reused, as the server does
  shopfloor::core::Status s = shopfloor::connect::ParseLineProtocol(body, options, &batch);
  if (!s.ok()) {
    if (!batch.empty() || !s.context().line || s.message().rfind("line ", 0) != 0) std::abort();
    return 0;
  }
  std::string key;
  for (const auto& point : batch.points()) {
    if (point.field_count == 0 || point.raw_measurement.empty()) std::abort();
    auto tags = batch.tags(point);
    for (size_t i = 1; i < tags.size(); ++i) {
      if (!(tags[i - 1].raw_key < tags[i].raw_key)) std::abort();
    }
    for (const auto& field : batch.fields(point)) {
      key = batch.SeriesKey(point, field);
      if (key.empty()) std::abort();
    }
  }
  return 0;
}
