#include <gtest/gtest.h>

#include <cmath>

#include "factorch/error.h"
#include "factorch/signal/window.h"

namespace fs = factorch::signal;

TEST(Window, HannIsPeriodic) {
  const int64_t M = 16;
  const auto w = fs::hann_window(M);
  ASSERT_EQ(w.scalar_type(), torch::kFloat64);
  for (int64_t m = 0; m < M; ++m) EXPECT_NEAR(w[m].item<double>(), 0.5 - 0.5 * std::cos(2 * M_PI * m / M), 1e-15);
  // Periodic: the sum of shifted copies at hop M/4 is the constant 2.
  const auto cola = w.view({4, 4}).sum(0);
  EXPECT_TRUE(torch::allclose(cola, torch::full({4}, 2.0, torch::kFloat64), 0, 1e-14));
}

TEST(Window, SineBellSquaresSumToOneAtHalfOverlap) {
  const int64_t M = 200;
  const auto w = fs::sine_bell_window(M);
  EXPECT_NEAR(w[0].item<double>(), std::sin(M_PI * 0.5 / M), 1e-15);
  const auto sq = w.square();
  EXPECT_LT((sq.slice(0, 0, M / 2) + sq.slice(0, M / 2, M) - 1).abs().max().item<double>(), 1e-14);
}

TEST(Window, TukeyMatchesScipy) {
  // scipy.signal.windows.tukey(M, alpha) (sym=True), values printed by scipy 1.10.
  const std::vector<double> w10 = {0.0, 0.41317591116653485, 0.9698463103929542, 1.0, 1.0,
                                   1.0, 1.0, 0.9698463103929542, 0.4131759111665352, 0.0};
  const auto t10 = fs::tukey_window(10, 0.5);
  for (int m = 0; m < 10; ++m) EXPECT_NEAR(t10[m].item<double>(), w10[m], 1e-15) << m;
  const auto t11 = fs::tukey_window(11, 0.3);
  EXPECT_NEAR(t11[1].item<double>(), 0.75, 1e-15);
  EXPECT_NEAR(t11.sum().item<double>(), 8.5, 1e-13);
  const auto t200 = fs::tukey_window(200, 0.1);
  EXPECT_NEAR(t200[1].item<double>(), 0.024716255306108548, 1e-15);
  EXPECT_NEAR(t200[9].item<double>(), 0.9776754757575974, 1e-15);
  EXPECT_NEAR(t200.sum().item<double>(), 189.04964417696948, 1e-12);
  EXPECT_TRUE(torch::equal(fs::tukey_window(8, 0.0), torch::ones({8}, torch::kFloat64)));
}

TEST(Window, ByNameAndOptions) {
  EXPECT_TRUE(torch::equal(fs::window_from_name("sine", 8), fs::sine_bell_window(8)));
  EXPECT_TRUE(torch::equal(fs::window_from_name("tukey", 8, 0.25), fs::tukey_window(8, 0.25)));
  EXPECT_TRUE(torch::equal(fs::window_from_name("rectangular", 5), torch::ones({5}, torch::kFloat64)));
  const auto w32 = fs::window_from_name("hann", 8, 0.5, torch::kFloat32);
  EXPECT_EQ(w32.scalar_type(), torch::kFloat32);
  EXPECT_THROW(fs::window_from_name("hamming", 8), factorch::Error);
  EXPECT_THROW(fs::hann_window(0), factorch::Error);
  EXPECT_THROW(fs::tukey_window(8, 1.5), factorch::Error);
}
