#pragma once
// The one multiplicative-update (MM) step shared by every model.
//
// Every model here is multilinear in each of its factors: V̂ = P·A·Q (+ R, a fixed part
// such as other sources' contributions). With N, D the negative/positive parts of ∂D/∂V̂
// (see BetaDivergence::mu_parts) the MM update of A is
//
//     A ← A ⊙ ( Pᵀ N Qᵀ / (Pᵀ D Qᵀ + l1 + 2·l2·A) )^γ(β)
//
// NMF: H-update P=W, Q=I; W-update P=I, Q=H. Layered NMF: P = W¹…W^(l−1), Q = W^(l+1)…H.
// Fast paths avoid data-sized temporaries where the algebra allows it:
//   β = 2 (no mask, no R): Gram form  PᵀXQᵀ / (PᵀP)A(QQᵀ)   (as scikit-learn)
//   β = 1 (no mask): the denominator Pᵀ1Qᵀ is an outer product of column/row sums.
//   β = 0: one reciprocal pass, no pow().
// Zeros in A stay zero (block structures survive). Undefined P or Q means identity.
#include <utility>

#include <torch/types.h>

#include "factorch/divergence.h"

namespace factorch {

/// Elementwise penalty on one factor: l1·ΣA + l2·ΣA² (A ≥ 0).
struct FactorPenalty {
  double l1 = 0.0;
  double l2 = 0.0;
  bool active() const { return l1 != 0.0 || l2 != 0.0; }
  torch::Tensor value(const torch::Tensor& A) const;
};

/// Operands of one multilinear update. Undefined tensors mean "identity" (P, Q) or "none".
struct MultilinearTerm {
  torch::Tensor P;     ///< left factor (F×R) or undefined
  torch::Tensor Q;     ///< right factor (C×N) or undefined
  torch::Tensor rest;  ///< fixed additive part of V̂ (F×N) or undefined
};

/// P·A·Q (+rest) with the cheaper multiplication order.
torch::Tensor multilinear_product(const torch::Tensor& A, const MultilinearTerm& term);

/// Numerator Pᵀ N Qᵀ and denominator Pᵀ D Qᵀ + penalty' of the update (before γ).
/// Exposed for tests: numerator − denominator = −∂(D + penalty)/∂A.
std::pair<torch::Tensor, torch::Tensor> multiplicative_parts(const torch::Tensor& A,
                                                             const MultilinearTerm& term,
                                                             const torch::Tensor& X,
                                                             const BetaDivergence& divergence,
                                                             const FactorPenalty& penalty = {},
                                                             const torch::Tensor& mask = {});

/// In-place MM update of A (see the header comment).
void multiplicative_update_(torch::Tensor& A, const MultilinearTerm& term, const torch::Tensor& X,
                            const BetaDivergence& divergence, const FactorPenalty& penalty = {},
                            const torch::Tensor& mask = {});

}  // namespace factorch
