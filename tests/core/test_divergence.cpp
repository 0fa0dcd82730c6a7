// β-divergence: closed forms, autograd vs finite differences, MU parts = gradient, γ(β), zeros.
#include <gtest/gtest.h>

#include <cmath>

#include <torch/autograd.h>

#include "factorch/divergence.h"
#include "factorch/error.h"

using factorch::BetaDivergence;

namespace {
double closed_form(double x, double v, double b) {
  if (b == 2.0) return 0.5 * (x - v) * (x - v);
  if (b == 1.0) return x * std::log(x / v) - x + v;
  if (b == 0.0) return x / v - std::log(x / v) - 1.0;
  return (std::pow(x, b) + (b - 1) * std::pow(v, b) - b * x * std::pow(v, b - 1)) / (b * (b - 1));
}
torch::Tensor positive(int64_t r, int64_t c, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::rand({r, c}, torch::kFloat64) + 0.1;
}
}  // namespace

TEST(Divergence, MatchesClosedFormsForSeveralBetas) {
  const double xs[] = {0.3, 1.0, 2.5};
  const double vs[] = {0.7, 1.0, 4.0};
  for (double b : {2.0, 1.0, 0.0, 0.5, 1.5, 3.0, -0.5}) {
    BetaDivergence d(b);
    for (double x : xs)
      for (double v : vs) {
        const double got = d.value(torch::tensor({x}, torch::kFloat64), torch::tensor({v}, torch::kFloat64)).item<double>();
        EXPECT_NEAR(got, closed_form(x, v, b), 1e-12) << "beta=" << b << " x=" << x << " v=" << v;
      }
  }
}

TEST(Divergence, ZeroAtEqualArgumentsAndNonnegative) {
  const torch::Tensor X = positive(5, 7, 1), V = positive(5, 7, 2);
  for (double b : {0.0, 0.5, 1.0, 2.0, 3.0}) {
    BetaDivergence d(b);
    EXPECT_NEAR(d.value(X, X).item<double>(), 0.0, 1e-12);
    EXPECT_GT(d.value(X, V).item<double>(), 0.0);
  }
}

TEST(Divergence, NamesAndExponent) {
  EXPECT_EQ(BetaDivergence::from_name("euclidean").beta(), 2.0);
  EXPECT_EQ(BetaDivergence::from_name("kl").beta(), 1.0);
  EXPECT_EQ(BetaDivergence::from_name("is").beta(), 0.0);
  EXPECT_EQ(BetaDivergence::from_name("0.5").beta(), 0.5);
  EXPECT_THROW(BetaDivergence::from_name("banana"), factorch::Error);
  EXPECT_DOUBLE_EQ(BetaDivergence(0.0).exponent(), 0.5);
  EXPECT_DOUBLE_EQ(BetaDivergence(0.5).exponent(), 1.0 / 1.5);
  EXPECT_DOUBLE_EQ(BetaDivergence(1.0).exponent(), 1.0);
  EXPECT_DOUBLE_EQ(BetaDivergence(1.5).exponent(), 1.0);
  EXPECT_DOUBLE_EQ(BetaDivergence(2.0).exponent(), 1.0);
  EXPECT_DOUBLE_EQ(BetaDivergence(3.0).exponent(), 0.5);
  EXPECT_DOUBLE_EQ(BetaDivergence(-1.0).exponent(), 1.0 / 3.0);
}

TEST(Divergence, AutogradMatchesFiniteDifferences) {
  const torch::Tensor X = positive(3, 4, 3);
  for (double b : {0.0, 0.5, 1.0, 1.5, 2.0, 3.0}) {
    BetaDivergence d(b, b == 0.0 ? 1e-3 : 0.0);
    torch::Tensor V = positive(3, 4, 4).requires_grad_(true);
    d.value(X, V).backward();
    const torch::Tensor grad = V.grad().clone();
    torch::NoGradGuard ng;
    const double h = 1e-6;
    for (int64_t i = 0; i < V.numel(); ++i) {
      torch::Tensor Vp = V.detach().clone(), Vm = V.detach().clone();
      Vp.view(-1)[i] += h;
      Vm.view(-1)[i] -= h;
      const double fd = (d.value(X, Vp).item<double>() - d.value(X, Vm).item<double>()) / (2 * h);
      EXPECT_NEAR(grad.view(-1)[i].item<double>(), fd, 1e-7 * std::max(1.0, std::abs(fd))) << "beta=" << b;
    }
  }
}

TEST(Divergence, MuPartsDifferenceIsGradient) {
  const torch::Tensor X = positive(4, 5, 5), M = positive(4, 5, 6);
  for (double b : {0.0, 0.5, 1.0, 1.5, 2.0, 3.0}) {
    for (bool masked : {false, true}) {
      BetaDivergence d(b, 1e-4);
      torch::Tensor V = positive(4, 5, 7).requires_grad_(true);
      d.value(X, V, masked ? M : torch::Tensor()).backward();
      auto [neg, pos] = d.mu_parts(X, V.detach(), masked ? M : torch::Tensor());
      EXPECT_TRUE(torch::allclose(pos - neg, V.grad(), 1e-10, 1e-12)) << "beta=" << b << " masked=" << masked;
      EXPECT_TRUE((neg >= 0).all().item<bool>());
      EXPECT_TRUE((pos >= 0).all().item<bool>());
    }
  }
}

TEST(Divergence, ZerosInDataFollowTheEpsPolicy) {
  torch::Tensor X = positive(3, 3, 8);
  X[1][1] = 0.0;
  // β > 0: zeros are fine (x log x → 0 for KL).
  EXPECT_NO_THROW(BetaDivergence(1.0).check_data(X, "x.npy"));
  EXPECT_TRUE(std::isfinite(BetaDivergence(1.0).value(X, positive(3, 3, 9)).item<double>()));
  // IS: a clear error naming the data, unless an eps floor is configured.
  try {
    BetaDivergence(0.0).check_data(X, "x.npy");
    FAIL() << "expected an error";
  } catch (const factorch::Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.npy"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("eps"), std::string::npos);
  }
  EXPECT_NO_THROW(BetaDivergence(0.0, 1e-9).check_data(X, "x.npy"));
  EXPECT_TRUE(std::isfinite(BetaDivergence(0.0, 1e-9).value(X, positive(3, 3, 9)).item<double>()));
}

TEST(Divergence, RejectsNegativeAndNonFiniteData) {
  torch::Tensor X = positive(2, 2, 10);
  X[0][0] = -1.0;
  EXPECT_THROW(BetaDivergence(1.0).check_data(X, "x"), factorch::Error);
  X[0][0] = std::nan("");
  EXPECT_THROW(BetaDivergence(2.0).check_data(X, "x"), factorch::Error);
  X[0][0] = INFINITY;
  EXPECT_THROW(BetaDivergence(2.0).check_data(X, "x"), factorch::Error);
}

// Where x = v = 0 (zeros that MU leaves in a model on silent frames) the derivative of
// d(x|v) in v is its limit, 1 − (x/v)·[x > 0] → 1 for KL and v^(β−1) → 0 for β = 1.5, not
// the 0/0 = NaN of x/v (lnmf under autograd stopped on NaN after one step because of it).
TEST(Divergence, GradientIsFiniteWhereDataAndModelAreZero) {
  const auto o = torch::kFloat64;
  const torch::Tensor X = torch::tensor({0.0, 0.0, 2.0}, o);
  for (const double beta : {1.0, 1.5}) {
    const torch::Tensor V = torch::tensor({0.0, 0.5, 1.0}, o).requires_grad_(true);
    const BetaDivergence div(beta);
    const torch::Tensor value = div.value(X, V);
    const torch::Tensor grad = torch::autograd::grad({value}, {V})[0];
    // The same value as without gradients.
    EXPECT_DOUBLE_EQ(value.item<double>(), div.value(X, V.detach()).item<double>()) << beta;
    // d/dv of (x^β + (β−1)v^β − βxv^(β−1))/(β(β−1)) = v^(β−1) − x·v^(β−2) (KL: 1 − x/v).
    const torch::Tensor expected = torch::tensor({beta == 1.0 ? 1.0 : 0.0, std::pow(0.5, beta - 1), 1.0 - 2.0}, o);
    EXPECT_TRUE(torch::allclose(grad, expected, 1e-12, 1e-12)) << "beta " << beta << ": " << grad;
  }
}
