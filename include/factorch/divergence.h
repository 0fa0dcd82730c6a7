#pragma once
// β-divergence family d_β(x|v), summed over entries, optionally weighted by a mask M.
//
//   d_β(x|v) = (x^β + (β−1)v^β − βxv^(β−1)) / (β(β−1))   β ∉ {0, 1}
//   d_1(x|v) = x log(x/v) − x + v                          (generalised KL)
//   d_0(x|v) = x/v − log(x/v) − 1                          (Itakura–Saito)
//   d_2(x|v) = ½(x − v)²                                   (Euclidean)
//
// ε policy: with eps > 0 the divergence is taken between x+ε and v+ε (the TL-NMF papers
// add ε to both terms). With eps = 0, β ≤ 0 and a zero in x the divergence is undefined:
// check_data() reports it as an error asking for an explicit eps. Inside the MU parts v̂
// is floored at a tiny dtype-dependent value only to avoid 0·∞; it never changes a
// positive v̂ that a well-posed problem produces.
#include <cmath>
#include <string>
#include <utility>

#include <torch/types.h>

#include "factorch/tolerances.h"

namespace factorch {

/// Which member of the family a β is (within kParameterTolerance): the one test every
/// special case of the library uses.
namespace divergence {
inline bool is_beta(double beta, double value) { return std::abs(beta - value) < kParameterTolerance; }
inline bool is_kl(double beta) { return is_beta(beta, 1.0); }
inline bool is_is(double beta) { return is_beta(beta, 0.0); }
inline bool is_euclidean(double beta) { return is_beta(beta, 2.0); }
}  // namespace divergence

class BetaDivergence {
 public:
  explicit BetaDivergence(double beta = 1.0, double eps = 0.0);

  /// Parses "euclidean" | "kl" | "is" | a number ("0.5").
  static BetaDivergence from_name(const std::string& name, double eps = 0.0);

  double beta() const { return beta_; }
  double eps() const { return eps_; }
  bool is_kl() const { return divergence::is_kl(beta_); }
  bool is_is() const { return divergence::is_is(beta_); }
  bool is_euclidean() const { return divergence::is_euclidean(beta_); }
  std::string name() const;

  /// γ(β) of the majorisation–minimisation update: 1/(2−β) for β<1, 1 for 1≤β≤2, 1/(β−1) for β>2.
  double exponent() const;

  /// Σ M ⊙ d_β(X | V) as a 0-dim tensor, differentiable in V (and in X).
  torch::Tensor value(const torch::Tensor& X, const torch::Tensor& V,
                      const torch::Tensor& mask = {}) const;

  /// Elementwise d_β(X | V) (no reduction), differentiable.
  torch::Tensor elementwise(const torch::Tensor& X, const torch::Tensor& V) const;

  /// Negative and positive parts of ∂D/∂V: (M⊙(X+ε)⊙(V+ε)^(β−2), M⊙(V+ε)^(β−1)).
  std::pair<torch::Tensor, torch::Tensor> mu_parts(const torch::Tensor& X, const torch::Tensor& V,
                                                   const torch::Tensor& mask = {}) const;

  /// Throws factorch::Error (naming `what`) if X has NaN/Inf or negative entries, or zeros
  /// where this divergence is undefined (β ≤ 0 with eps = 0).
  void check_data(const torch::Tensor& X, const std::string& what) const;

  /// Smallest v̂ used inside MU parts for this dtype (keeps v̂^(β−2) finite).
  static double tiny(torch::ScalarType dtype);

 private:
  double beta_;
  double eps_;
};

}  // namespace factorch
