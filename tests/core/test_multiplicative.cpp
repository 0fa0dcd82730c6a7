// The generic multilinear MU step: numerator − denominator = −gradient, fast paths agree with
// the general path, zeros stay zero, and the MM update never increases the objective.
#include <gtest/gtest.h>

#include "factorch/multiplicative.h"

using namespace factorch;

namespace {
torch::Tensor rnd(int64_t r, int64_t c, uint64_t seed, double lo = 0.1) {
  torch::manual_seed(seed);
  return torch::rand({r, c}, torch::kFloat64) + lo;
}

// −∂/∂A [D(X | P A Q + rest) + penalty(A)] by autograd.
torch::Tensor negative_gradient(const torch::Tensor& A0, const MultilinearTerm& t, const torch::Tensor& X,
                                const BetaDivergence& d, const FactorPenalty& pen, const torch::Tensor& mask) {
  torch::Tensor A = A0.clone().requires_grad_(true);
  torch::Tensor V = A;
  if (t.P.defined()) V = torch::mm(t.P, V);
  if (t.Q.defined()) V = torch::mm(V, t.Q);
  if (t.rest.defined()) V = V + t.rest;
  (d.value(X, V, mask) + pen.value(A)).backward();
  return -A.grad();
}
}  // namespace

TEST(Multiplicative, PartsDifferenceIsNegativeGradient) {
  const torch::Tensor X = rnd(6, 7, 1), M = rnd(6, 7, 2, 0.0);
  const torch::Tensor P = rnd(6, 3, 3), A = rnd(3, 4, 4), Q = rnd(4, 7, 5), R = rnd(6, 7, 6);
  for (double beta : {0.0, 0.5, 1.0, 1.5, 2.0, 3.0}) {
    for (int variant = 0; variant < 5; ++variant) {
      BetaDivergence d(beta, variant == 4 ? 1e-3 : 0.0);
      MultilinearTerm t{P, Q, variant == 2 ? R : torch::Tensor()};
      const torch::Tensor mask = variant == 3 ? M : torch::Tensor();
      const FactorPenalty pen{variant == 1 ? 0.3 : 0.0, variant == 1 ? 0.2 : 0.0};
      auto [num, den] = multiplicative_parts(A, t, X, d, pen, mask);
      EXPECT_TRUE(torch::allclose(num - den, negative_gradient(A, t, X, d, pen, mask), 1e-9, 1e-11))
          << "beta=" << beta << " variant=" << variant;
      EXPECT_TRUE((num >= 0).all().item<bool>() && (den > 0).all().item<bool>());
    }
  }
}

TEST(Multiplicative, IdentityOperandsGiveNmfUpdates) {
  // H-update (P = W, Q = I) and W-update (P = I, Q = H) against the textbook KL rules.
  const torch::Tensor V = rnd(8, 9, 7), W = rnd(8, 3, 8), H = rnd(3, 9, 9);
  const BetaDivergence kl(1.0);
  torch::Tensor H1 = H.clone();
  multiplicative_update_(H1, {W, {}, {}}, V, kl);
  const torch::Tensor expected_h = H * torch::mm(W.t(), V / torch::mm(W, H)) / W.sum(0).unsqueeze(1);
  EXPECT_TRUE(torch::allclose(H1, expected_h, 1e-12, 1e-14));
  torch::Tensor W1 = W.clone();
  multiplicative_update_(W1, {{}, H, {}}, V, kl);
  const torch::Tensor expected_w = W * torch::mm(V / torch::mm(W, H), H.t()) / H.sum(1).unsqueeze(0);
  EXPECT_TRUE(torch::allclose(W1, expected_w, 1e-12, 1e-14));
}

TEST(Multiplicative, FastPathsMatchGeneralPath) {
  // A mask of ones forces the general path; results must match the Gram / KL / IS shortcuts.
  const torch::Tensor X = rnd(10, 12, 10), P = rnd(10, 4, 11), A = rnd(4, 5, 12), Q = rnd(5, 12, 13);
  const torch::Tensor ones = torch::ones_like(X);
  for (double beta : {0.0, 1.0, 2.0}) {
    BetaDivergence d(beta);
    auto [n1, d1] = multiplicative_parts(A, {P, Q, {}}, X, d);
    auto [n2, d2] = multiplicative_parts(A, {P, Q, {}}, X, d, {}, ones);
    EXPECT_TRUE(torch::allclose(n1 / d1, n2 / d2, 1e-11, 1e-13)) << "beta=" << beta;
  }
}

TEST(Multiplicative, ZerosStayZeroAndObjectiveDoesNotIncrease) {
  const torch::Tensor X = rnd(12, 15, 14), P = rnd(12, 4, 15), Q = rnd(4, 15, 16);
  for (double beta : {0.0, 0.5, 1.0, 1.5, 2.0, 3.0}) {
    BetaDivergence d(beta);
    torch::Tensor A = rnd(4, 4, 17);
    A[0][3] = 0.0;
    A[2][1] = 0.0;
    double previous = d.value(X, torch::mm(torch::mm(P, A), Q)).item<double>();
    for (int it = 0; it < 30; ++it) {
      multiplicative_update_(A, {P, Q, {}}, X, d);
      const double j = d.value(X, torch::mm(torch::mm(P, A), Q)).item<double>();
      EXPECT_LE(j, previous * (1 + 1e-12)) << "beta=" << beta << " it=" << it;
      previous = j;
    }
    EXPECT_EQ(A[0][3].item<double>(), 0.0);
    EXPECT_EQ(A[2][1].item<double>(), 0.0);
  }
}
