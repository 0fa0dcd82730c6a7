// Orthogonal-group building blocks: retractions stay on O(M) and are first-order, the
// exponential matches closed forms (rotations) and Cayley to third order, polar is the nearest
// orthogonal matrix, the preconditioned step solves a hand-computed problem, Armijo accepts only
// sufficient decrease.
#include <gtest/gtest.h>

#include <cmath>

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
    for (int s = 0; s < 100; ++s) Phi = torch::mm(RetractionPath(random_skew(40, 100 + s, 0.7), kind)(1.0), Phi);
    EXPECT_LT(orthogonality_error(Phi), 1e-10) << retraction_name(kind);
  }
}

TEST(Orthogonal, RetractionsAreFirstOrder) {
  // ‖Q(μE) − I − μE‖ = O(μ²): halving μ divides the residual by ≈ 4.
  const torch::Tensor E = random_skew(12, 5, 1.0);
  const torch::Tensor I = torch::eye(12, torch::kFloat64);
  for (Retraction kind : {Retraction::Projected, Retraction::Cayley, Retraction::Exponential}) {
    for (const ExpMethod method : {ExpMethod::MatrixExp, ExpMethod::Eigh, ExpMethod::Taylor}) {
      const RetractionPath Q(E, kind, method);
      const double r1 = (Q(1e-2) - I - 1e-2 * E).norm().item<double>();
      const double r2 = (Q(5e-3) - I - 5e-3 * E).norm().item<double>();
      EXPECT_LT(r1, 1e-3) << retraction_name(kind);
      EXPECT_NEAR(r1 / r2, 4.0, 0.2) << retraction_name(kind);
    }
  }
}

TEST(Orthogonal, ExponentialMatchesClosedForms) {
  // 2×2: exp(t·θJ) with J = [[0, −1], [1, 0]] is the rotation by tθ.
  const double theta = 0.7;
  const torch::Tensor J = torch::tensor({0.0, -1.0, 1.0, 0.0}, torch::kFloat64).view({2, 2});
  for (const ExpMethod method : {ExpMethod::MatrixExp, ExpMethod::Eigh, ExpMethod::Taylor}) {
    const RetractionPath Q(theta * J, Retraction::Exponential, method);
    for (const double t : {0.0, 0.3, 1.0, 5.0, -2.0}) {
      const double c = std::cos(t * theta), s = std::sin(t * theta);
      const torch::Tensor R = torch::tensor({c, -s, s, c}, torch::kFloat64).view({2, 2});
      EXPECT_LT((Q(t) - R).abs().max().item<double>(), 1e-14) << "method " << static_cast<int>(method) << " t " << t;
    }
  }
  // 7×7 = P·B·Pᵀ with B = diag(a·J, a·J, b·J, 0): a repeated pair of angles and a zero
  // eigenvalue, the cases an eigenbasis leaves ambiguous. exp(tE) = P·exp(tB)·Pᵀ, blockwise rotations.
  const double a = 1.3, b = 0.4, t = 0.9;
  torch::Tensor B = torch::zeros({7, 7}, torch::kFloat64), expB = torch::eye(7, torch::kFloat64);
  const double angles[3] = {a, a, b};
  for (int k = 0; k < 3; ++k) {
    B.slice(0, 2 * k, 2 * k + 2).slice(1, 2 * k, 2 * k + 2).copy_(angles[k] * J);
    const double c = std::cos(t * angles[k]), s = std::sin(t * angles[k]);
    expB.slice(0, 2 * k, 2 * k + 2).slice(1, 2 * k, 2 * k + 2).copy_(torch::tensor({c, -s, s, c}, torch::kFloat64).view({2, 2}));
  }
  const torch::Tensor P = random_orthogonal(7, 21);
  const torch::Tensor E = torch::mm(torch::mm(P, B), P.t());
  const torch::Tensor expected = torch::mm(torch::mm(P, expB), P.t());
  for (const ExpMethod method : {ExpMethod::MatrixExp, ExpMethod::Eigh, ExpMethod::Taylor})
    EXPECT_LT((RetractionPath(E, Retraction::Exponential, method)(t) - expected).abs().max().item<double>(), 1e-13)
        << "method " << static_cast<int>(method);
  // The two implementations (Padé/Taylor matrix_exp, eigendecomposition) agree on a generic
  // 40×40 direction, and the eigen one has the group property exp(sE)·exp(tE) = exp((s+t)E).
  const torch::Tensor G = random_skew(40, 8, 6.0);
  const SkewExponential X(G);
  for (const double u : {0.05, 1.0, 3.0})
    EXPECT_LT((X(u) - torch::matrix_exp(u * G)).abs().max().item<double>(), 1e-12) << "t " << u;
  EXPECT_LT((torch::mm(X(0.4), X(1.1)) - X(1.5)).abs().max().item<double>(), 1e-13);
  EXPECT_LT(orthogonality_error(X(2.0)), 1e-13);
}

TEST(Orthogonal, TaylorExponentialScalesAndKeepsTheHalvedSteps) {
  // A 60×60 direction with ‖E‖₂ = 1 (scaled by its largest eigenvalue pair, a closed form:
  // E = P·blockdiag(θ_k J)·Pᵀ, exp(tE) blockwise rotations). Steps up to t = 40 need up to six
  // squarings (τ·ν ≤ 1.09); every one matches the closed form to 1e-13 (measured ≤ 2e-14; with
  // too few squarings, θ₁₈ = 10, the error at t = 40 is 1.8e-4), and the steps t/2, t/4, …
  // come back as the very matrices the squaring chain made (shrink ½ costs no product).
  const int64_t M = 60;
  const torch::Tensor J = torch::tensor({0.0, -1.0, 1.0, 0.0}, torch::kFloat64).view({2, 2});
  const torch::Tensor P = random_orthogonal(M, 31);
  auto closed = [&](double t) {
    torch::Tensor B = torch::zeros({M, M}, torch::kFloat64), expB = torch::zeros({M, M}, torch::kFloat64);
    for (int64_t k = 0; k < M / 2; ++k) {
      const double theta = 1.0 - 0.03 * static_cast<double>(k);  // 1 … 0.13
      B.slice(0, 2 * k, 2 * k + 2).slice(1, 2 * k, 2 * k + 2).copy_(theta * J);
      const double c = std::cos(t * theta), s = std::sin(t * theta);
      expB.slice(0, 2 * k, 2 * k + 2).slice(1, 2 * k, 2 * k + 2).copy_(torch::tensor({c, -s, s, c}, torch::kFloat64).view({2, 2}));
    }
    return std::make_pair(torch::mm(torch::mm(P, B), P.t()), torch::mm(torch::mm(P, expB), P.t()));
  };
  const torch::Tensor E = closed(0.0).first;
  for (const double t : {0.5, 1.0, 3.0, 40.0, -7.0}) {
    const SkewTaylorExponential X(E);
    const torch::Tensor Q = X(t);
    EXPECT_LT((Q - closed(t).second).abs().max().item<double>(), 1e-13) << "t " << t;
    EXPECT_LT(orthogonality_error(Q), 3e-13) << "t " << t;  // Frobenius, 60×60: measured 1.1e-13 at t = 40
  }
  const SkewTaylorExponential X(E);
  const torch::Tensor Q40 = X(40.0);  // ν ≥ ‖E‖₂ = 1, 40 > 1.09·2^5: at least six squarings from τ ≤ 40/64
  torch::Tensor next = Q40;
  for (const double t : {20.0, 10.0, 5.0, 2.5, 1.25, 0.625}) {
    const torch::Tensor Q = X(t);
    EXPECT_TRUE(torch::equal(torch::mm(Q, Q), next)) << "t " << t;  // the chain's matrices
    EXPECT_LT((Q - closed(t).second).abs().max().item<double>(), 1e-13) << "t " << t;
    next = Q;
  }
  // Looked up, not recomputed: the chain is still the one X(40) made.
  EXPECT_EQ(X(40.0).data_ptr(), Q40.data_ptr());
  // A step off the chain starts a new one (and is exact too).
  EXPECT_LT((X(0.3) - closed(0.3).second).abs().max().item<double>(), 1e-14);
  // Small steps (‖tE‖₂ ≤ ν·t ≤ θ₁₂ = 0.2996) take the degree-12 polynomial from E, E², E³: as
  // exact, whether E⁶ was already made by a larger step or not (mutation tried: B₃'s last
  // coefficient off by 1 % fails here).
  for (const double t : {0.25, 0.1, 0.01, -0.2}) {
    EXPECT_LT((X(t) - closed(t).second).abs().max().item<double>(), 1e-14) << "t " << t;
    EXPECT_LT((SkewTaylorExponential(E)(t) - closed(t).second).abs().max().item<double>(), 1e-14) << "fresh, t " << t;
  }
}

TEST(Orthogonal, CayleyAgreesWithExponentialToThirdOrder) {
  // (I − tE/2)⁻¹(I + tE/2) = I + tE + t²E²/2 + t³E³/4 + …, exp(tE) = … + t³E³/6 + …: they differ
  // by t³E³/12 + O(t⁴). Halving t divides the gap by ≈ 8, and its leading term is t³E³/12.
  const torch::Tensor E = random_skew(10, 9, 1.0);
  const RetractionPath cayley(E, Retraction::Cayley), expo(E, Retraction::Exponential);
  const torch::Tensor E3 = torch::mm(E, torch::mm(E, E));
  auto gap = [&](double t) { return cayley(t) - expo(t); };
  const double g1 = gap(0.02).norm().item<double>(), g2 = gap(0.01).norm().item<double>();
  EXPECT_NEAR(g1 / g2, 8.0, 0.1);
  const double t = 0.01;
  const torch::Tensor lead = (t * t * t / 12.0) * E3;
  EXPECT_LT((gap(t) - lead).norm().item<double>(), 0.05 * lead.norm().item<double>());
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

TEST(Orthogonal, PreconditionedStepOnAHandComputedProblem) {
  // J(Φ) = ½‖Φ − R(α)‖²_F on O(2), at Φ = I. Relative gradient Γ = (Φ − R(α))Φᵀ = I − R(α),
  // so G = skew(Γ) = [[0, sin α], [−sin α, 0]]. With Hessian entries h (off-diagonal) and the
  // diagonal anything: E = −G/max(h, floor) = (sin α / h')·[[0, −1], [1, 0]], and exp(μE) is the
  // rotation by μ·sin α/h'. J(R(β)) = 2 − 2cos(β − α); the exact curvature h = sin α/α lands on
  // the minimiser R(α) in one step (μ = 1).
  const double alpha = 0.5, s = std::sin(alpha);
  auto rotation = [](double b) {
    return torch::tensor({std::cos(b), -std::sin(b), std::sin(b), std::cos(b)}, torch::kFloat64).view({2, 2});
  };
  auto J = [&](const torch::Tensor& Phi) { return 0.5 * (Phi - rotation(alpha)).pow(2).sum().item<double>(); };
  const torch::Tensor I = torch::eye(2, torch::kFloat64);
  const torch::Tensor G = skew(I - rotation(alpha));
  EXPECT_NEAR(G[0][1].item<double>(), s, 1e-15);
  const double h = s / alpha;
  const torch::Tensor H = torch::tensor({9.0, h, h, 9.0}, torch::kFloat64).view({2, 2});
  const torch::Tensor E = precondition(G, H, 0.1);
  EXPECT_NEAR(E[0][1].item<double>(), -alpha, 1e-15);
  EXPECT_NEAR(E[1][0].item<double>(), alpha, 1e-15);
  EXPECT_EQ(E[0][0].item<double>(), 0.0);
  const double slope = (G * E).sum().item<double>();  // −2 sin α · α
  EXPECT_NEAR(slope, -2.0 * s * alpha, 1e-15);
  // The slope is J's derivative along μ ↦ exp(μE) (central difference), and μ = 1 reaches 0.
  const RetractionPath Q(E, Retraction::Exponential);
  const double d = 1e-5;
  EXPECT_NEAR((J(Q(d)) - J(Q(-d))) / (2 * d), slope, 1e-9);
  EXPECT_LT(J(Q(1.0)), 1e-28);
  EXPECT_GT(J(I), 0.2);
  // A curvature below the floor is clipped to it: a shorter step (rotation by μ·sin α/0.8), still descent,
  // accepted by Armijo at μ = 1.
  const torch::Tensor Ec = precondition(G, H * 0.1, 0.8);
  EXPECT_NEAR(Ec[1][0].item<double>(), s / 0.8, 1e-15);
  const RetractionPath Qc(Ec, Retraction::Exponential);
  const ArmijoResult r = armijo_backtracking(J(I), (G * Ec).sum().item<double>(), [&](double mu) { return J(Qc(mu)); });
  EXPECT_TRUE(r.accepted);
  EXPECT_EQ(r.step, 1.0);
  EXPECT_NEAR(r.value, 2.0 - 2.0 * std::cos(s / 0.8 - alpha), 1e-14);
  // Random symmetric Hessian: the direction stays skew and is a descent direction.
  const torch::Tensor G6 = random_skew(6, 2, 1.0);
  torch::Tensor H6 = torch::rand({6, 6}, torch::kFloat64);
  H6 = H6 + H6.t();
  const torch::Tensor E6 = precondition(G6, H6, 0.5);
  EXPECT_LT((E6 + E6.t()).abs().max().item<double>(), 1e-15);
  EXPECT_LT((G6 * E6).sum().item<double>(), 0.0);
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
