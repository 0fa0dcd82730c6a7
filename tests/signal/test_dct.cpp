#include <gtest/gtest.h>

#include <cmath>

#include "factorch/error.h"
#include "factorch/signal/dct.h"

namespace fs = factorch::signal;

TEST(Dct, Orthonormal) {
  for (const int64_t M : {1, 2, 7, 64, 200, 1024}) {
    for (const auto& phi : {fs::dct2_matrix(M), fs::dct4_matrix(M)}) {
      const auto eye = torch::eye(M, torch::kFloat64);
      EXPECT_LT((phi.matmul(phi.t()) - eye).abs().max().item<double>(), 1e-12) << M;
      EXPECT_LT((phi.t().matmul(phi) - eye).abs().max().item<double>(), 1e-12) << M;
    }
  }
}

TEST(Dct, ClosedForms) {
  const int64_t M = 12;
  const auto c2 = fs::dct2_matrix(M);
  const auto c4 = fs::dct4_matrix(M);
  for (int64_t k = 0; k < M; ++k)
    for (int64_t m = 0; m < M; ++m) {
      const double scale = std::sqrt(2.0 / M) * (k == 0 ? 1 / std::sqrt(2.0) : 1.0);
      EXPECT_NEAR(c2[k][m].item<double>(), scale * std::cos(M_PI * k * (2 * m + 1) / (2.0 * M)), 1e-14);
      EXPECT_NEAR(c4[k][m].item<double>(), std::sqrt(2.0 / M) * std::cos(M_PI * (2 * k + 1) * (2 * m + 1) / (4.0 * M)),
                  1e-14);
    }
  // Atom 0 is the constant 1/√M; DCT-IV is symmetric.
  EXPECT_NEAR((c2[0] - 1 / std::sqrt(double(M))).abs().max().item<double>(), 0, 1e-15);
  EXPECT_TRUE(torch::allclose(c4, c4.t(), 0, 1e-15));
}

TEST(Dct, OptionsAndErrors) {
  EXPECT_EQ(fs::dct2_matrix(8, torch::kFloat32).scalar_type(), torch::kFloat32);
  EXPECT_THROW(fs::dct2_matrix(0), factorch::Error);
  EXPECT_THROW(fs::dct4_matrix(-3), factorch::Error);
}
