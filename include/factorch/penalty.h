#pragma once
// Penalties of regularised β-NMF beyond the elementwise L1/L2 of multiplicative.h, with the
// pieces their majorisation–minimisation (MM) updates need. The updates themselves still go
// through multiplicative_parts(): a penalty only adds to the denominator of the MM ratio
// and, for quadratic terms, changes the exponent.
//
// ARD (Tan & Févotte 2013): λ Σ_k log(‖w_k‖ + ‖h_k‖ + b), ‖x‖ = ‖x‖₁ (l1) or ½‖x‖₂² (l2).
//   The log is concave: its tangent at the current (W, H) majorises it by a per-component
//   weighted norm with weight ρ_k = λ / (‖w_k‖ + ‖h_k‖ + b). So the MM step of W (or H) is
//   the L1 (or L2) step with a per-column (per-row) weight ρ_k:
//     l1: A ← A ⊙ (N / (D + ρ))^γ(β)
//     l2: A ← A ⊙ (N / (D + ρ⊙A))^γ₂(β),  γ₂ = 1/(3−β) for β < 2, 1/(β−1) for β ≥ 2
//   (γ₂ ≠ γ(β) for β < 2 because the quadratic penalty must be majorised together with the
//   divergence's convex part — the same bound gives 1/(3−β) in the Tan & Févotte paper.)
//
// Temporal smoothness (smooth IS-NMF, Févotte 2011): λ Σ_k Σ_{n≥1} d_IS(h_{k,n} | h_{k,n−1}).
//   With IS data fit the MM criterion of h_{k,n} given its neighbours is
//     (p + λ/h_{n−1}) h + (q h̃² + λ h_{n+1}) / h  [− λ log h for the last frame]
//   with p, q the denominator/numerator of the IS MU step, minimised in closed form. Columns
//   are coupled only to their neighbours, so the even columns are updated together, then the
//   odd ones (red–black block-coordinate MM: monotone, vectorised). Pairs with a forced zero
//   (H mask) are left out of the penalty.
#include <string>

#include <torch/types.h>

#include "factorch/divergence.h"

namespace factorch {

struct ArdPenalty {
  std::string norm = "none";  ///< "none" | "l1" | "l2"
  double lambda = 0.0;        ///< λ ≥ 0
  double b = 1.0;             ///< b > 0 (the relevance floor)

  bool active() const { return norm != "none" && lambda > 0.0; }
  /// ‖w_k‖ + ‖h_k‖ for each component (K), differentiable. W: F×K, H: K×N.
  torch::Tensor norms(const torch::Tensor& W, const torch::Tensor& H) const;
  /// λ Σ_k log(‖w_k‖ + ‖h_k‖ + b), differentiable.
  torch::Tensor value(const torch::Tensor& W, const torch::Tensor& H) const;
  /// Tangent weights ρ_k = λ / (‖w_k‖ + ‖h_k‖ + b) (K), detached.
  torch::Tensor weights(const torch::Tensor& W, const torch::Tensor& H) const;
  /// Exponent of the MM step with this penalty for divergence β.
  double exponent(const BetaDivergence& divergence) const;
  /// Throws factorch::Error for an unknown norm, λ < 0 or b ≤ 0.
  void validate() const;
};

/// A ← A ⊙ (numer / denom)^gamma in place (denominator floored: 0/0 → 0). The same final
/// step as multiplicative_update_, for callers that add penalty terms to the parts.
void apply_mm_ratio_(torch::Tensor& A, torch::Tensor numer, torch::Tensor denom, double gamma);

/// λ Σ d_IS(h_{k,n} | h_{k,n−1}) over pairs of free entries (mask: K×N, 0 = forced zero, or
/// undefined), differentiable.
torch::Tensor smooth_is_value(const torch::Tensor& H, double lambda, const torch::Tensor& mask = {});

/// One red–black MM sweep of H for D_IS(V | WH) + smooth_is_value(H). `divergence` must be
/// IS (β = 0); its eps and the data mask are honoured; H_mask zeros stay zero. `linear`
/// (broadcast to K×N, e.g. K×1 ARD-L1 weights) adds a linear penalty Σ linear⊙H.
void smooth_is_update_h_(torch::Tensor& H, const torch::Tensor& W, const torch::Tensor& V,
                         const BetaDivergence& divergence, double lambda, const torch::Tensor& data_mask = {},
                         const torch::Tensor& H_mask = {}, const torch::Tensor& linear = {});

}  // namespace factorch
