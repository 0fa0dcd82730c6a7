// Orthogonal-group building blocks: retractions stay on O(M), are first-order, polar is the
// nearest orthogonal matrix, Armijo accepts only sufficient decrease.
#include <gtest/gtest.h>

#include "factorch/error.h"
#include "factorch/orthogonal.h"

using namespace factorch;
using namespace factorch::orthogonal;

namespace {
torch::Tensor random_skew(int64_t M, uint64_t seed, double scale) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const torch::Tensor A = at::randn({M, M}, gen, torch::TensorOptions().dtype(torch::kFloat64));
  const torch::Tensor S = skew(A);
  return S * (scale / S.norm().item<double>());
}
}  // namespace

TEST(Orthogonal, RetractionsStayOrthogonalOver100Steps) {
  for (Retraction kind : {Retraction::Projected, Retraction::Cayley, Retraction::Exponential}) {
    torch::Tensor Phi = random_orthogonal(40, 3);
    for (int s = 0; s < 100; ++s) Phi = torch::mm(retraction_matrix(random_skew(40, 100 + s, 0.7), 1.0, kind), Phi);
    EXPECT_LT(orthogonality_error(Phi), 1e-10) << retraction_name(kind);
  }
}

TEST(Orthogonal, RetractionsAreFirstOrder) {
  // ‖Q(μE) − I − μE‖ = O(μ²): halving μ divides the residual by ≈ 4.
  const torch::Tensor E = random_skew(12, 5, 1.0);
  const torch::Tensor I = torch::eye(12, torch::kFloat64);
  for (Retraction kind : {Retraction::Projected, Retraction::Cayley, Retraction::Exponential}) {
    const double r1 = (retraction_matrix(E, 1e-2, kind) - I - 1e-2 * E).norm().item<double>();
    const double r2 = (retraction_matrix(E, 5e-3, kind) - I - 5e-3 * E).norm().item<double>();
    EXPECT_LT(r1, 1e-3) << retraction_name(kind);
    EXPECT_NEAR(r1 / r2, 4.0, 0.2) << retraction_name(kind);
  }
  // Cayley and expm agree to second order; expm of a skew matrix is exactly matrix_exp.
  const torch::Tensor Q = retraction_matrix(E, 0.3, Retraction::Exponential);
  EXPECT_LT((Q - torch::matrix_exp(0.3 * E)).abs().max().item<double>(), 1e-14);
}

TEST(Orthogonal, PolarIsTheOrthogonalFactor) {
  // A = Q·S with S symmetric positive definite → polar(A) = Q.
  const torch::Tensor Q = random_orthogonal(10, 11);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(12);
  const torch::Tensor B = at::randn({10, 10}, gen, torch::TensorOptions().dtype(torch::kFloat64));
  const torch::Tensor S = torch::mm(B, B.t()) + torch::eye(10, torch::kFloat64);
  EXPECT_LT((polar(torch::mm(Q, S)) - Q).abs().max().item<double>(), 1e-12);
  EXPECT_LT(orthogonality_error(random_orthogonal(64, 1)), 1e-12);
}

TEST(Orthogonal, PreconditionedDirectionIsSkewAndClipped) {
  const torch::Tensor G = random_skew(6, 2, 1.0);
  torch::Tensor H = torch::rand({6, 6}, torch::kFloat64);
  H = H + H.t();
  const torch::Tensor E = precondition(G, H, 0.5);
  EXPECT_LT((E + E.t()).abs().max().item<double>(), 1e-15);
  EXPECT_LT((E + G / H.clamp_min(0.5)).abs().max().item<double>(), 1e-15);
  EXPECT_LE(E.abs().max().item<double>(), G.abs().max().item<double>() / 0.5 + 1e-15);
}

TEST(Orthogonal, ArmijoAcceptsOnlySufficientDecrease) {
  // f(μ) = (μ − 3)² from f(0) = 9, slope −6: μ = 1 gives 4 ≤ 9 − 6c₁ → accepted at once.
  auto f = [](double mu) { return (mu - 3) * (mu - 3); };
  ArmijoResult r = armijo_backtracking(9.0, -6.0, f, {1.0, 0.5, 1e-4, 30});
  EXPECT_TRUE(r.accepted);
  EXPECT_DOUBLE_EQ(r.step, 1.0);
  EXPECT_LE(r.value, r.f0 + 1e-4 * r.step * r.slope);
  // Starting far away (μ = 16) it backtracks to μ = 4 (f = 1 ≤ 9 − 4·6·c₁ for c₁ = 0.3).
  r = armijo_backtracking(9.0, -6.0, f, {16.0, 0.5, 0.3, 30});
  EXPECT_TRUE(r.accepted);
  EXPECT_DOUBLE_EQ(r.step, 4.0);
  EXPECT_EQ(r.tries, 3);
  // Not a descent direction, or never decreasing: nothing accepted, value unchanged.
  EXPECT_FALSE(armijo_backtracking(9.0, 1.0, f).accepted);
  EXPECT_FALSE(armijo_backtracking(0.0, -1.0, [](double) { return 1.0; }, {1.0, 0.5, 1e-4, 5}).accepted);
  EXPECT_THROW(armijo_backtracking(0.0, -1.0, f, {1.0, 1.5, 1e-4, 5}), Error);
}

TEST(Orthogonal, RequireOrthogonalNamesTheProblem) {
  EXPECT_NO_THROW(require_orthogonal(random_orthogonal(8, 0), 1e-10, "Phi"));
  try {
    require_orthogonal(2.0 * torch::eye(8, torch::kFloat64), 1e-6, "phi.npy");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("phi.npy is not orthogonal"), std::string::npos) << e.what();
  }
  EXPECT_THROW(require_orthogonal(torch::zeros({3, 4}, torch::kFloat64), 1e-6, "Phi"), Error);
  EXPECT_THROW(retraction_from_name("newton"), Error);
}
