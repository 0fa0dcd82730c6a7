#include "factorch/penalty.h"

#include <cmath>

#include "factorch/error.h"
#include "factorch/tolerances.h"
#include "factorch/multiplicative.h"

namespace factorch {

void ArdPenalty::validate() const {
  require(norm == "none" || norm == "l1" || norm == "l2", "ard must be none, l1 or l2, got '" + norm + "'");
  require(lambda >= 0.0 && std::isfinite(lambda), "ard_lambda must be >= 0, got " + std::to_string(lambda));
  require(b > 0.0 && std::isfinite(b), "ard_b must be > 0, got " + std::to_string(b));
}

torch::Tensor ArdPenalty::norms(const torch::Tensor& W, const torch::Tensor& H) const {
  if (norm == "l2") return 0.5 * (W.square().sum(0) + H.square().sum(1));
  return W.sum(0) + H.sum(1);  // factors are nonnegative: ‖·‖₁ is the sum
}

torch::Tensor ArdPenalty::value(const torch::Tensor& W, const torch::Tensor& H) const {
  if (!active()) return torch::zeros({}, W.options());
  return lambda * torch::log(norms(W, H) + b).sum();
}

torch::Tensor ArdPenalty::weights(const torch::Tensor& W, const torch::Tensor& H) const {
  torch::NoGradGuard no_grad;
  return lambda / (norms(W, H) + b);
}

double ArdPenalty::exponent(const BetaDivergence& divergence) const {
  if (norm != "l2") return divergence.exponent();
  const double beta = divergence.beta();
  return beta < 2.0 ? 1.0 / (3.0 - beta) : 1.0 / (beta - 1.0);
}

void apply_mm_ratio_(torch::Tensor& A, torch::Tensor numer, torch::Tensor denom, double gamma) {
  // A zero denominator only happens next to a zero numerator (e.g. an all-zero row):
  // the floor turns 0/0 into 0 instead of NaN.
  numer.div_(denom.clamp_min_(BetaDivergence::tiny(A.scalar_type())));
  if (std::abs(gamma - 0.5) < kParameterTolerance) {
    numer.sqrt_();
  } else if (std::abs(gamma - 1.0) >= kParameterTolerance) {
    numer.pow_(gamma);
  }
  A.mul_(numer);
}

namespace {
// pair_free[k, n] = 1 when d_IS(h_{k,n+1} | h_{k,n}) is part of the penalty (K × N−1).
torch::Tensor free_pairs(const torch::Tensor& H, const torch::Tensor& mask) {
  const int64_t N = H.size(1);
  if (!mask.defined()) return torch::ones({H.size(0), N - 1}, H.options());
  const torch::Tensor free = (mask > 0).to(H.scalar_type());
  return free.slice(1, 0, N - 1) * free.slice(1, 1, N);
}
}  // namespace

torch::Tensor smooth_is_value(const torch::Tensor& H, double lambda, const torch::Tensor& mask) {
  const int64_t N = H.size(1);
  if (lambda == 0.0 || N < 2) return torch::zeros({}, H.options());
  const double tiny = BetaDivergence::tiny(H.scalar_type());
  const torch::Tensor pf = free_pairs(H, mask);
  // Forced zeros are replaced by 1 before the ratio so that no 0/0 enters the graph.
  const torch::Tensor prev = torch::where(pf > 0, H.slice(1, 0, N - 1).clamp_min(tiny), torch::ones_like(pf));
  const torch::Tensor next = torch::where(pf > 0, H.slice(1, 1, N).clamp_min(tiny), torch::ones_like(pf));
  const torch::Tensor r = next / prev;
  return lambda * ((r - torch::log(r) - 1.0) * pf).sum();
}

void smooth_is_update_h_(torch::Tensor& H, const torch::Tensor& W, const torch::Tensor& V,
                         const BetaDivergence& divergence, double lambda, const torch::Tensor& data_mask,
                         const torch::Tensor& H_mask, const torch::Tensor& linear) {
  require(divergence.is_is(), "temporal smoothness (smooth IS-NMF) needs the IS divergence (beta 0)");
  torch::NoGradGuard no_grad;
  const int64_t K = H.size(0), N = H.size(1);
  const double tiny = BetaDivergence::tiny(H.scalar_type());
  const torch::Tensor pf = N > 1 ? free_pairs(H, H_mask) : torch::zeros({K, 0}, H.options());
  const torch::Tensor zero = torch::zeros({K, 1}, H.options());
  const torch::Tensor left_active = torch::cat({zero, pf}, 1);   // pair (n−1, n) in the penalty
  const torch::Tensor right_active = torch::cat({pf, zero}, 1);  // pair (n, n+1) in the penalty
  for (int64_t start = 0; start < std::min<int64_t>(2, N); ++start) {
    const torch::Tensor idx = torch::arange(start, N, 2, torch::TensorOptions().dtype(torch::kLong).device(H.device()));
    const torch::Tensor Hs = H.index_select(1, idx);
    const torch::Tensor Vs = V.index_select(1, idx);
    const torch::Tensor Ms = data_mask.defined() ? data_mask.index_select(1, idx) : torch::Tensor();
    auto [q, p] = multiplicative_parts(Hs, MultilinearTerm{W, {}, {}}, Vs, divergence, {}, Ms);
    if (linear.defined()) p.add_(linear);
    const torch::Tensor Hp = torch::cat({zero, H, zero}, 1);  // Hp[:, n] = h_{n−1}, Hp[:, n+2] = h_{n+1}
    const torch::Tensor left = Hp.index_select(1, idx).clamp_min_(tiny);
    const torch::Tensor right = Hp.index_select(1, idx + 2);
    const torch::Tensor la = left_active.index_select(1, idx), ra = right_active.index_select(1, idx);
    // a·h + c/h − L·log h, minimised at h = t + sqrt(t² + c/a), t = L/(2a).
    torch::Tensor a = p + lambda * la / left + lambda * (1.0 - la) * ra / Hs.clamp_min(tiny);
    a.clamp_min_(tiny);
    const torch::Tensor c = q * Hs.square() + lambda * ra * right;
    const torch::Tensor t = lambda * la * (1.0 - ra) / (2.0 * a);
    torch::Tensor h = t + torch::sqrt(t.square() + c / a);
    if (H_mask.defined()) h.mul_(H_mask.index_select(1, idx));
    H.index_copy_(1, idx, h);
  }
}

}  // namespace factorch
