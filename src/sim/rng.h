// Rng: a small deterministic PRNG (xoshiro256**, seeded through splitmix64) with its own
// uniform, normal, exponential and Weibull draws. The std distributions are avoided on
// purpose: their output differs between standard libraries, and the simulator promises the
// same plant for the same seed everywhere.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

namespace shopfloor::sim {

inline uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// FNV-1a: derives a per-stream seed from a name, so adding a machine leaves the other
// machines' random streams unchanged.
inline uint64_t HashName(std::string_view name) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (char c : name) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001B3ull;
  }
  return h;
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 1) { Seed(seed); }
  Rng(uint64_t seed, std::string_view stream) { Seed(seed ^ HashName(stream)); }

  void Seed(uint64_t seed) {
    uint64_t sm = seed;
    for (uint64_t& word : s_) word = SplitMix64(&sm);
    has_spare_ = false;
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  bool Bernoulli(double p) { return Uniform() < p; }

  // Standard normal by the Marsaglia polar method (two draws per accepted pair).
  double Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2.0 * Uniform() - 1.0;
      v = 2.0 * Uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }
  double Normal(double mean, double sigma) { return mean + sigma * Normal(); }

  // Exponential with the given mean (inverse CDF; 1 - U is in (0, 1]).
  double Exponential(double mean) { return -mean * std::log(1.0 - Uniform()); }

  // Weibull with shape k and scale lambda (inverse CDF).
  double Weibull(double shape, double scale) {
    return scale * std::pow(-std::log(1.0 - Uniform()), 1.0 / shape);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t s_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace shopfloor::sim
