#include "factorch/multiplicative.h"

#include <cmath>

#include <ATen/ATen.h>

#include "factorch/penalty.h"

namespace factorch {

namespace {

// Pᵀ·M·Qᵀ, choosing the cheaper association; undefined P/Q are identities.
torch::Tensor sandwich(const torch::Tensor& P, const torch::Tensor& M, const torch::Tensor& Q) {
  if (!P.defined() && !Q.defined()) return M;
  if (!P.defined()) return at::mm(M, Q.t());
  if (!Q.defined()) return at::mm(P.t(), M);
  const double rows = static_cast<double>(M.size(0)), cols = static_cast<double>(M.size(1));
  const double left_first = P.size(1) * rows * cols + P.size(1) * cols * Q.size(0);
  const double right_first = rows * cols * Q.size(0) + P.size(1) * rows * Q.size(0);
  return left_first <= right_first ? at::mm(at::mm(P.t(), M), Q.t()) : at::mm(P.t(), at::mm(M, Q.t()));
}

}  // namespace

torch::Tensor FactorPenalty::value(const torch::Tensor& A) const {
  torch::Tensor v = torch::zeros({}, A.options());
  if (l1 != 0.0) v = v + l1 * A.sum();
  if (l2 != 0.0) v = v + l2 * A.square().sum();
  return v;
}

torch::Tensor multilinear_product(const torch::Tensor& A, const MultilinearTerm& t) {
  torch::Tensor out;
  if (!t.P.defined() && !t.Q.defined()) {
    out = A.clone();
  } else if (!t.P.defined()) {
    out = at::mm(A, t.Q);
  } else if (!t.Q.defined()) {
    out = at::mm(t.P, A);
  } else {
    const double left_first = t.P.size(0) * A.size(0) * A.size(1) + t.P.size(0) * A.size(1) * t.Q.size(1);
    const double right_first = A.size(0) * A.size(1) * t.Q.size(1) + t.P.size(0) * A.size(0) * t.Q.size(1);
    out = left_first <= right_first ? at::mm(at::mm(t.P, A), t.Q) : at::mm(t.P, at::mm(A, t.Q));
  }
  if (t.rest.defined()) out.add_(t.rest);
  return out;
}

std::pair<torch::Tensor, torch::Tensor> multiplicative_parts(const torch::Tensor& A,
                                                             const MultilinearTerm& t,
                                                             const torch::Tensor& X,
                                                             const BetaDivergence& div,
                                                             const FactorPenalty& penalty,
                                                             const torch::Tensor& mask) {
  const double beta = div.beta(), eps = div.eps();
  const double tiny = BetaDivergence::tiny(A.scalar_type());
  torch::Tensor numer, denom;

  if (div.is_euclidean() && !mask.defined() && !t.rest.defined() && eps == 0.0) {
    // Gram form: never builds V̂. Pᵀ(PAQ)Qᵀ = (PᵀP) A (QQᵀ).
    numer = sandwich(t.P, X, t.Q);
    denom = A;
    if (t.P.defined()) denom = at::mm(at::mm(t.P.t(), t.P), denom);
    if (t.Q.defined()) denom = at::mm(denom, at::mm(t.Q, t.Q.t()));
    if (!t.P.defined() && !t.Q.defined()) denom = denom.clone();
  } else {
    torch::Tensor V = multilinear_product(A, t);  // owned buffer, reused in place below
    if (eps > 0) V.add_(eps);
    V.clamp_min_(tiny);
    const torch::Tensor Xe = eps > 0 ? X + eps : X;
    if (div.is_kl() && !mask.defined()) {
      V.reciprocal_().mul_(Xe);  // V now holds X/V̂
      numer = sandwich(t.P, V, t.Q);
      // Pᵀ 1 Qᵀ = (column sums of P) ⊗ (row sums of Q): no ones-matrix.
      const torch::Tensor row = t.P.defined() ? t.P.sum(0) : torch::ones({A.size(0)}, A.options());
      const torch::Tensor col = t.Q.defined() ? t.Q.sum(1) : torch::ones({A.size(1)}, A.options());
      denom = at::outer(row, col);
    } else {
      torch::Tensor negative, positive;
      if (div.is_is()) {
        positive = V.reciprocal_();            // V̂^-1
        negative = positive.square().mul_(Xe);  // X·V̂^-2
      } else if (div.is_euclidean()) {
        negative = Xe.clone();
        positive = V;
      } else if (div.is_kl()) {
        positive = torch::ones_like(V);
        negative = V.reciprocal_().mul_(Xe);
      } else {
        positive = V.pow(beta - 1.0);
        negative = V.reciprocal_().mul_(positive).mul_(Xe);  // X·V̂^(β−2)
      }
      if (mask.defined()) {
        negative.mul_(mask);
        positive = positive * mask;
      }
      numer = sandwich(t.P, negative, t.Q);
      denom = sandwich(t.P, positive, t.Q);
    }
  }
  if (penalty.l1 != 0.0) denom.add_(penalty.l1);
  if (penalty.l2 != 0.0) denom.add_(A, 2.0 * penalty.l2);
  return {numer, denom};
}

void multiplicative_update_(torch::Tensor& A, const MultilinearTerm& t, const torch::Tensor& X,
                            const BetaDivergence& div, const FactorPenalty& penalty,
                            const torch::Tensor& mask) {
  auto [numer, denom] = multiplicative_parts(A, t, X, div, penalty, mask);
  apply_mm_ratio_(A, numer, denom, div.exponent());
}

}  // namespace factorch
