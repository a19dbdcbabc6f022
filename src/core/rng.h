// A seeded random number generator handle. Generators are passed in, never global; binaries log
// the seed they use, tests fix it. Not thread-safe: one per thread or per component.
#pragma once

#include <cstdint>
#include <random>

namespace gpuscale::core {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : seed_(seed), engine_(seed) {}

  // A seed from the operating system, for binaries that were given none (log it).
  static std::uint64_t RandomSeed();

  std::uint64_t seed() const { return seed_; }
  std::mt19937_64& engine() { return engine_; }

  // Uniform in [0, 1).
  double Uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(engine_); }
  // Uniform integer in [lo, hi].
  std::int64_t UniformInt(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(engine_);
  }
  // Exponential with the given rate (mean 1/rate).
  double Exponential(double rate) { return std::exponential_distribution<double>(rate)(engine_); }
  double Normal(double mean, double stddev) {
    return std::normal_distribution<double>(mean, stddev)(engine_);
  }
  double LogNormal(double mu, double sigma) {
    return std::lognormal_distribution<double>(mu, sigma)(engine_);
  }
  // A child generator with a seed derived from this one (for independent streams).
  Rng Fork() { return Rng(engine_()); }

 private:
  std::uint64_t seed_;
  std::mt19937_64 engine_;
};

}  // namespace gpuscale::core
