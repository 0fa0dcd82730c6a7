#include "factorch/orthogonal.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "factorch/error.h"

namespace factorch::orthogonal {

Retraction retraction_from_name(const std::string& name) {
  if (name == "projected" || name == "polar") return Retraction::Projected;
  if (name == "cayley") return Retraction::Cayley;
  if (name == "qn" || name == "expm" || name == "exponential") return Retraction::Exponential;
  throw Error("unknown orthogonal update '" + name + "' (projected, cayley, qn)");
}

std::string retraction_name(Retraction r) {
  switch (r) {
    case Retraction::Projected: return "projected";
    case Retraction::Cayley: return "cayley";
    case Retraction::Exponential: return "qn";
  }
  return "?";
}

torch::Tensor skew(const torch::Tensor& A) { return 0.5 * (A - A.t()); }

torch::Tensor polar(const torch::Tensor& A) {
  require(A.dim() == 2 && A.size(0) == A.size(1), "polar: expected a square matrix");
  auto [U, S, Vh] = torch::linalg_svd(A, /*full_matrices=*/false);
  return torch::mm(U, Vh);
}

torch::Tensor retraction_matrix(const torch::Tensor& E, double step, Retraction kind) {
  require(E.dim() == 2 && E.size(0) == E.size(1), "retraction: expected a square direction");
  const torch::Tensor I = torch::eye(E.size(0), E.options());
  switch (kind) {
    case Retraction::Projected: return polar(I + step * E);
    case Retraction::Cayley: {
      const torch::Tensor half = (0.5 * step) * E;
      return torch::linalg_solve(I - half, I + half);
    }
    case Retraction::Exponential: return torch::matrix_exp(step * E);
  }
  throw Error("retraction: unknown kind");
}

namespace {
// Bader, Blanes & Casas, "Computing the matrix exponential with an optimized Taylor polynomial
// approximation" (Mathematics 2019), degree 18: row i gives B_i = Σ_j b[i][j]·A^(0,1,2,3,6)[j];
// A⁹ = B₁B₅ + B₄, T₁₈(A) = B₂ + (B₃ + A⁹)A⁹. The same table as torch::matrix_exp.
constexpr double kTaylor18[5][5] = {
    {0., -1.00365581030144618291e-01, -8.02924648241156932449e-03, -8.92138498045729985177e-04, 0.},
    {0., 3.97849749499645077844e-01, 1.36783778460411720168e+00, 4.98289622525382669416e-01,
     -6.37898194594723280150e-04},
    {-1.09676396052962061844e+01, 1.68015813878906206114e+00, 5.71779846478865511061e-02,
     -6.98210122488052056106e-03, 3.34975017086070470649e-05},
    {-9.04316832390810593223e-02, -6.76404519071381882256e-02, 6.75961301770459654925e-02,
     2.95552570429315521194e-02, -1.39180257516060693404e-05},
    {0., 0., -9.23364619367118555360e-02, -1.69364939002081722752e-02, -1.40086798182036094347e-05}};
constexpr double kTheta18 = 1.090863719290036;  // ‖A‖ up to which T₁₈ is exact in double precision
// Degree 12 of the same paper (torch::matrix_exp's table): B_i = Σ_j b[i][j]·A^(0,1,2,3)[j];
// A⁶ = B₃², T₁₂(A) = B₀ + (B₁ + B₂ + A⁶)(B₂ + A⁶). Exact in double precision for ‖A‖ ≤ θ₁₂.
constexpr double kTaylor12[4][4] = {
    {9.0198e-16, 0.46932117595418237389, -0.20099424927047284052, -0.04623946134063071740},
    {5.31597895759871264183, 1.19926790417132231573, 0.01179296240992997031, 0.01108844528519167989},
    {0.18188869982170434744, 0.05502798439925399070, 0.09351590770535414968, 0.00610700528898058230},
    {-2.0861320e-13, -0.13181061013830184015, -0.02027855540589259079, -0.00675951846863086359}};
constexpr double kTheta12 = 0.2996158913811580;

double norm1(const torch::Tensor& A) { return A.abs().sum(0).max().item<double>(); }

// C = A·B into `out` (M×M) when C is known to be symmetric (sign 1) or skew (sign −1), as the
// powers of a skew matrix are: the top rows and the bottom-right block are products, the
// bottom-left block is the transpose of the top-right one (¾ of the product's work).
void structured_mm_out(torch::Tensor& out, const torch::Tensor& A, const torch::Tensor& B, double sign) {
  const int64_t M = A.size(0), h = M / 2;
  torch::Tensor top = out.narrow(0, 0, h), corner = out.narrow(0, h, M - h).narrow(1, h, M - h);
  torch::mm_out(top, A.narrow(0, 0, h), B);
  torch::mm_out(corner, A.narrow(0, h, M - h), B.narrow(1, h, M - h));
  torch::Tensor lower = out.narrow(0, h, M - h).narrow(1, 0, h);
  lower.copy_(out.narrow(0, 0, h).narrow(1, h, M - h).t());
  if (sign != 1.0) lower.mul_(sign);
}
}  // namespace

SkewExponential::SkewExponential(const torch::Tensor& E) {
  require(E.dim() == 2 && E.size(0) == E.size(1), "exponential: expected a square direction");
  torch::Tensor EtE = torch::empty_like(E);
  structured_mm_out(EtE, E.t(), E, 1.0);
  auto [lambda, V] = torch::linalg_eigh(EtE);
  mu_ = lambda.clamp_min(0.0).sqrt();  // EᵀE is positive semidefinite: negative λ are rounding
  V_ = V;
  EV_ = torch::mm(E, V);
}

torch::Tensor SkewExponential::operator()(double t) const {
  const torch::Tensor tmu = t * mu_;
  // sin(tμ)/μ = t·sinc(tμ/π) (torch::sinc is the normalised one, exact at 0).
  const torch::Tensor left = V_ * torch::cos(tmu) + EV_ * (t * torch::sinc(tmu / M_PI));
  return torch::mm(left, V_.t());
}

SkewTaylorExponential::SkewTaylorExponential(const torch::Tensor& E) {
  require(E.dim() == 2 && E.size(0) == E.size(1), "exponential: expected a square direction");
  const int64_t M = M_ = E.size(0);
  powers_ = torch::empty({4, M, M}, E.options());
  torch::Tensor E1 = powers_[0], E2 = powers_[1], E3 = powers_[2];
  E1.copy_(E);
  structured_mm_out(E2, E, E, 1.0);
  structured_mm_out(E3, E2, E, -1.0);
  // ‖E‖₂² = ‖E²‖₂ ≤ ‖E²‖₁ and ‖E‖₂³ = ‖E³‖₂ ≤ ‖E³‖₁ (E², E³ are normal: ‖·‖₂ ≤ ‖·‖₁ = ‖·‖∞).
  norm_bound_ = std::min(std::sqrt(norm1(E2)), std::cbrt(norm1(E3)));
  powers_ = powers_.view({4, M * M});
}

void SkewTaylorExponential::compute_sixth_power() const {
  if (have_sixth_) return;
  const int64_t M = M_;
  torch::Tensor E3 = powers_[2].view({M, M}), E6 = powers_[3].view({M, M});
  structured_mm_out(E6, E3, E3, 1.0);
  norm_bound_ = std::min(norm_bound_, std::pow(norm1(E6), 1.0 / 6.0));
  have_sixth_ = true;
}

torch::Tensor SkewTaylorExponential::operator()(double t) const {
  for (const auto& [step, Q] : kept_)
    if (step == t) return Q;
  const int64_t M = M_;
  kept_.clear();
  if (std::abs(t) * norm_bound_ <= kTheta12) {
    // T₁₂: B = C·[E; E²; E³] (+ b_i0 on the diagonals), B₂ ← B₂ + B₃², Q = B₀ + (B₁ + B₂)·B₂.
    const double scale[3] = {t, t * t, t * t * t};
    torch::Tensor C = torch::empty({4, 3}, torch::kFloat64), b0 = torch::empty({4, 1}, torch::kFloat64);
    for (int i = 0; i < 4; ++i) {
      b0[i][0] = kTaylor12[i][0];
      for (int j = 0; j < 3; ++j) C[i][j] = kTaylor12[i][j + 1] * scale[j];
    }
    const torch::Tensor B = torch::mm(C.to(powers_.options()), powers_.narrow(0, 0, 3)).view({4, M, M});
    B.diagonal(0, 1, 2).add_(b0.to(powers_.options()));
    torch::Tensor B2 = B[2];
    B2.addmm_(B[3], B[3]);
    torch::Tensor Q = torch::addmm(B[0], B[1].add_(B2), B2);
    kept_.emplace_back(t, Q);
    return Q;
  }
  compute_sixth_power();
  double tau = t;
  int squarings = 0;
  while (std::abs(tau) * norm_bound_ > kTheta18) {  // halving is exact: the kept steps are t/2^k
    tau *= 0.5;
    ++squarings;
  }
  // B (5×M·M) = C·[E; E²; E³; E⁶] with C_ij = b_i,j+1·τ^(1,2,3,6)_j, then b_i0 on the diagonals.
  const double scale[4] = {tau, tau * tau, tau * tau * tau, std::pow(tau, 6)};
  torch::Tensor C = torch::empty({5, 4}, torch::kFloat64), b0 = torch::empty({5, 1}, torch::kFloat64);
  for (int i = 0; i < 5; ++i) {
    b0[i][0] = kTaylor18[i][0];
    for (int j = 0; j < 4; ++j) C[i][j] = kTaylor18[i][j + 1] * scale[j];
  }
  const torch::Tensor B = torch::mm(C.to(powers_.options()), powers_).view({5, M, M});
  B.diagonal(0, 1, 2).add_(b0.to(powers_.options()));
  const torch::Tensor A9 = torch::addmm(B[3], B[0], B[4]);
  torch::Tensor Q = torch::addmm(B[1], B[2].add_(A9), A9);
  kept_.emplace_back(tau, Q);
  for (int k = 0; k < squarings; ++k) {
    tau *= 2.0;
    Q = torch::mm(Q, Q);
    kept_.emplace_back(tau, Q);
  }
  return Q;
}

ExpMethod exp_method_from_name(const std::string& name) {
  if (name == "matrix_exp") return ExpMethod::MatrixExp;
  if (name == "eigh") return ExpMethod::Eigh;
  if (name == "taylor") return ExpMethod::Taylor;
  throw Error("unknown exponential '" + name + "' (taylor, eigh, matrix_exp)");
}

RetractionPath::RetractionPath(const torch::Tensor& E, Retraction kind, bool eigen)
    : RetractionPath(E, kind, eigen ? ExpMethod::Eigh : ExpMethod::MatrixExp) {}

RetractionPath::RetractionPath(const torch::Tensor& E, Retraction kind, ExpMethod method) : E_(E), kind_(kind) {
  require(E.dim() == 2 && E.size(0) == E.size(1), "retraction: expected a square direction");
  if (kind != Retraction::Exponential) return;
  if (method == ExpMethod::Eigh) exp_.emplace(E);
  if (method == ExpMethod::Taylor) taylor_.emplace(E);
}

torch::Tensor RetractionPath::operator()(double step) const {
  if (exp_) return (*exp_)(step);
  if (taylor_) return (*taylor_)(step);
  return retraction_matrix(E_, step, kind_);
}

double orthogonality_error(const torch::Tensor& Phi) {
  const torch::Tensor I = torch::eye(Phi.size(0), Phi.options());
  return (torch::mm(Phi, Phi.t()) - I).norm().item<double>();
}

void require_orthogonal(const torch::Tensor& Phi, double tol, const std::string& what) {
  require(Phi.dim() == 2 && Phi.size(0) == Phi.size(1),
          what + " must be a square matrix, got " + std::to_string(Phi.dim()) + " dimensions" +
              (Phi.dim() == 2 ? " (" + std::to_string(Phi.size(0)) + "x" + std::to_string(Phi.size(1)) + ")" : ""));
  require(Phi.isfinite().all().item<bool>(), what + " has non-finite entries");
  const double err = orthogonality_error(Phi.to(torch::kFloat64));
  if (!(err <= tol)) {
    std::ostringstream s;
    s << what << " is not orthogonal (||Phi Phi^T - I||_F = " << err << " > " << tol << ")";
    throw Error(s.str());
  }
}

torch::Tensor random_orthogonal(int64_t M, uint64_t seed, const torch::TensorOptions& options) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const torch::Tensor A = at::randn({M, M}, gen, torch::TensorOptions().dtype(torch::kFloat64));
  auto [Q, R] = torch::linalg_qr(A);
  // Haar measure: fix the sign ambiguity of QR so that diag(R) > 0.
  torch::Tensor d = torch::sign(torch::diagonal(R));
  d = torch::where(d == 0, torch::ones_like(d), d);
  return (Q * d.unsqueeze(0)).to(options);
}

torch::Tensor precondition(const torch::Tensor& G, const torch::Tensor& H, double floor) {
  return -G / H.clamp_min(floor);
}

ArmijoResult armijo_backtracking(double f0, double slope, const std::function<double(double)>& value,
                                 const ArmijoOptions& o) {
  require(o.initial_step > 0 && o.shrink > 0 && o.shrink < 1 && o.c1 > 0 && o.c1 < 1 && o.max_tries >= 1,
          "Armijo: need initial_step > 0, 0 < shrink < 1, 0 < c1 < 1, max_tries >= 1");
  ArmijoResult r;
  r.f0 = f0;
  r.value = f0;
  r.slope = slope;
  if (!(slope < 0) || !std::isfinite(f0)) return r;  // not a descent direction (e.g. at a stationary point)
  double mu = o.initial_step;
  for (int t = 0; t < o.max_tries; ++t, mu *= o.shrink) {
    ++r.tries;
    const double f = value(mu);
    if (std::isfinite(f) && f <= f0 + o.c1 * mu * slope) {
      r.accepted = true;
      r.step = mu;
      r.value = f;
      return r;
    }
  }
  return r;
}

}  // namespace factorch::orthogonal
