// Fuzz target for the rollup blob decoder (src/storage/rollup.h). Two uses of the input:
// decoded as a blob directly (must answer OK or Corruption, never crash), and read as
// window values that are encoded, decoded and compared (the codec must round-trip).
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "storage/rollup.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using shopfloor::storage::Partial;
  using shopfloor::storage::WindowPartial;
  std::vector<WindowPartial> decoded;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  shopfloor::storage::DecodeRollupWindows(in, &decoded).IgnoreError();

  // Structured: 8-byte words -> windows of a minute each with arbitrary double fields.
  std::vector<WindowPartial> windows;
  size_t pos = 0;
  auto word = [&]() {
    uint64_t w = 0;
    std::memcpy(&w, data + pos, 8);
    pos += 8;
    return w;
  };
  int64_t start = 1'700'000'000'000'000'000;
  while (pos + 8 * 8 <= size && windows.size() < 2000) {
    Partial p;
    p.count = 1 + word() % 100000;
    p.sum = std::bit_cast<double>(word());
    p.m2 = std::bit_cast<double>(word());
    p.min = std::bit_cast<double>(word());
    p.max = std::bit_cast<double>(word());
    p.first = std::bit_cast<double>(word());
    p.last = std::bit_cast<double>(word());
    p.integral = std::bit_cast<double>(word());
    p.first_ts = start + static_cast<int64_t>(p.count % 1000);
    p.last_ts = p.first_ts + static_cast<int64_t>(p.count % 7);
    windows.push_back(WindowPartial{start, p});
    start += 60'000'000'000 * (1 + static_cast<int64_t>(p.count % 3));
  }
  if (windows.empty()) return 0;
  std::string blob;
  shopfloor::storage::EncodeRollupWindows(windows, &blob);
  std::vector<WindowPartial> back;
  if (!shopfloor::storage::DecodeRollupWindows(blob, &back).ok() || back.size() != windows.size()) __builtin_trap();
  for (size_t i = 0; i < windows.size(); ++i) {
    const Partial& a = windows[i].partial;
    const Partial& b = back[i].partial;
    auto same = [](double x, double y) { return std::bit_cast<uint64_t>(x) == std::bit_cast<uint64_t>(y); };
    if (back[i].start != windows[i].start || a.count != b.count || a.first_ts != b.first_ts || a.last_ts != b.last_ts ||
        !same(a.sum, b.sum) || !same(a.m2, b.m2) || !same(a.min, b.min) || !same(a.max, b.max) ||
        !same(a.first, b.first) || !same(a.last, b.last) || !same(a.integral, b.integral)) {
      __builtin_trap();
    }
  }
  return 0;
}
