// Shared helpers for the codec tests: value generators and bitwise comparison.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace shopfloor::storage::testing {

// Doubles compared bit for bit (NaN payloads, -0.0).
inline ::testing::AssertionResult BitwiseEqual(const std::vector<double>& want, const std::vector<double>& got) {
  if (want.size() != got.size()) {
    return ::testing::AssertionFailure() << "size " << got.size() << " != " << want.size();
  }
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::bit_cast<uint64_t>(want[i]) != std::bit_cast<uint64_t>(got[i])) {
      return ::testing::AssertionFailure() << "index " << i << ": got " << got[i] << " (0x" << std::hex
                                           << std::bit_cast<uint64_t>(got[i]) << ") want " << want[i] << " (0x"
                                           << std::bit_cast<uint64_t>(want[i]) << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

inline std::vector<double> SpecialDoubles() {
  using L = std::numeric_limits<double>;
  return {0.0,
          -0.0,
          L::infinity(),
          -L::infinity(),
          L::quiet_NaN(),
          -L::quiet_NaN(),
          std::bit_cast<double>(uint64_t{0x7FF0000000000001}),  // signalling NaN
          std::bit_cast<double>(uint64_t{0x7FF8DEADBEEF1234}),  // NaN with a payload
          std::bit_cast<double>(uint64_t{0xFFFFFFFFFFFFFFFF}),
          L::denorm_min(),
          -L::denorm_min(),
          std::bit_cast<double>(uint64_t{0x000FFFFFFFFFFFFF}),  // largest subnormal
          L::min(),
          L::max(),
          L::lowest(),
          L::epsilon(),
          1.0,
          -1.0,
          0.1,
          1e300,
          -1e-300,
          9007199254740993.0,
          2251799813685248.0,
          -2251799813685248.0,
          4503599627370496.5};
}

// Named double vectors covering the shapes a codec must handle.
inline std::vector<std::pair<std::string, std::vector<double>>> DoubleTables() {
  std::mt19937_64 rng(42);
  std::vector<std::pair<std::string, std::vector<double>>> tables;
  auto make = [&](const std::string& name, size_t n, auto gen) {
    std::vector<double> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = gen(i);
    tables.emplace_back(name, std::move(v));
  };
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  make("empty", 0, [](size_t) { return 0.0; });
  make("one", 1, [](size_t) { return 3.25; });
  make("constant", 3000, [](size_t) { return 21.5; });
  make("zeros", 1024, [](size_t) { return 0.0; });
  make("monotonic", 2500, [](size_t i) { return 100.0 + static_cast<double>(i) * 0.25; });
  make("random_bits", 2048, [&](size_t) { return std::bit_cast<double>(rng()); });
  make("random_uniform", 2048, [&](size_t) { return unit(rng); });
  for (int decimals = 1; decimals <= 4; ++decimals) {
    double scale = std::pow(10.0, decimals);
    double level = 20.0;
    make("decimal_" + std::to_string(decimals), 3000, [&, scale](size_t) {
      level += unit(rng) * 0.3;
      return std::round(level * scale) / scale;
    });
  }
  make("negative_decimals", 1500, [&](size_t) { return std::round(unit(rng) * 1e5) / 100.0; });
  make("integers_as_doubles", 1500, [&](size_t i) { return static_cast<double>(static_cast<int64_t>(i * 7919) - 5000); });
  make("large_magnitude", 1024, [&](size_t i) { return 1e15 + static_cast<double>(i); });
  auto specials = SpecialDoubles();
  make("specials", specials.size(), [&](size_t i) { return specials[i]; });
  make("decimals_with_specials", 2000, [&](size_t i) {
    if (i % 97 == 0) return specials[(i / 97) % specials.size()];
    return std::round(unit(rng) * 1e4) / 100.0;
  });
  make("float32_like", 1500, [&](size_t) { return static_cast<double>(static_cast<float>(unit(rng))); });
  return tables;
}

}  // namespace shopfloor::storage::testing
