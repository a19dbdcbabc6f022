#include "core/rng.h"

#include <gtest/gtest.h>

#include <cmath>

namespace gpuscale::core {
namespace {

TEST(RngTest, SameSeedSameSequence) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    double x = a.Uniform();
    EXPECT_EQ(x, b.Uniform());
    EXPECT_GE(x, 0.0);
    EXPECT_LT(x, 1.0);
  }
  EXPECT_NE(Rng(42).Uniform(), c.Uniform());
  EXPECT_EQ(a.seed(), 42u);
}

TEST(RngTest, ExponentialMeanIsInverseRate) {
  Rng r(7);
  double sum = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) sum += r.Exponential(4.0);
  EXPECT_NEAR(sum / n, 0.25, 0.005);
}

TEST(RngTest, ForkIsDeterministicAndIndependent) {
  Rng a(1), b(1);
  Rng fa = a.Fork(), fb = b.Fork();
  EXPECT_EQ(fa.seed(), fb.seed());
  EXPECT_NE(fa.seed(), 1u);
  EXPECT_EQ(fa.UniformInt(0, 1000000), fb.UniformInt(0, 1000000));
}

}  // namespace
}  // namespace gpuscale::core
