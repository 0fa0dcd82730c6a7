#include "factorch/orthogonal.h"

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

SkewExponential::SkewExponential(const torch::Tensor& E) {
  require(E.dim() == 2 && E.size(0) == E.size(1), "exponential: expected a square direction");
  auto [lambda, V] = torch::linalg_eigh(torch::mm(E.t(), E));
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

RetractionPath::RetractionPath(const torch::Tensor& E, Retraction kind, bool eigen) : E_(E), kind_(kind) {
  require(E.dim() == 2 && E.size(0) == E.size(1), "retraction: expected a square direction");
  if (kind == Retraction::Exponential && eigen) exp_.emplace(E);
}

torch::Tensor RetractionPath::operator()(double step) const {
  return exp_ ? (*exp_)(step) : retraction_matrix(E_, step, kind_);
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
