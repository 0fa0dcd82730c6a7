#pragma once
// β-NMF: V ≈ WH with W (F×K) ≥ 0, H (K×N) ≥ 0.
//
// Objective: D_β(V | WH) (optionally mask-weighted) + l1_w‖W‖₁ + l1_h‖H‖₁ (+ l2 terms).
// MU sweep order: W then H (as scikit-learn, so iterates can be compared), each by the
// shared MM step (multiplicative.h); then, if `normalise` is l1/l2 and both factors are
// free, columns of W are scaled to unit norm and the scale moved into H (WH unchanged).
// Without penalties the objective never increases (MM property).
// Sparsity needs a scale anchor: l1_h with normalise: none lets W grow while H shrinks, and
// with β = 1 and normalise: l1 (Σ_f W = 1 so Σ WH = Σ H) it only rescales H. Use l2.
// Nonnegativity under autograd: `softplus: true` stores raw parameters and W = softplus(raw);
// otherwise project() clamps W, H to [floor, ∞) after each optimiser step.
//
// Extensions from the β-NMF lecture (penalties and constraints on the same MM core, see
// penalty.h): ARD (`ard: l1|l2`, λ Σ_k log(‖w_k‖+‖h_k‖+b)) with pruning of components whose
// norm collapses (zeroed, so MU keeps them at zero; listed by pruned()); temporal smoothness
// of H (`smooth_h`: λ Σ d_IS(h_{k,n}|h_{k,n−1}), IS only); forced zeros on H (set_h_mask():
// 0 = the component is silent there; the mask is a buffer "H_mask", so checkpoints keep it).
// Data parallelism (TrainingData::shard: this rank holds columns of V and H): the W update
// sums its numerator and denominator over ranks (one all-reduce of 2·F·K numbers) before
// the ratio is taken; H stays local. ARD and smooth_h couple columns across ranks and are
// not available there.
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "factorch/divergence.h"
#include "factorch/tolerances.h"
#include "factorch/multiplicative.h"
#include "factorch/normalisation.h"
#include "factorch/penalty.h"
#include "factorch/models/factor_model.h"

namespace factorch {

struct NMFOptions {
  NMFOptions(int64_t n_features, int64_t n_samples, int64_t rank)
      : n_features_(n_features), n_samples_(n_samples), rank_(rank) {}
  TORCH_ARG(int64_t, n_features);            ///< F (rows of V)
  TORCH_ARG(int64_t, n_samples);             ///< N (columns of V)
  TORCH_ARG(int64_t, rank);                  ///< K
  TORCH_ARG(double, beta) = 1.0;             ///< β of the divergence (2 Euclidean, 1 KL, 0 IS)
  TORCH_ARG(double, eps) = 0.0;              ///< ε added to data and model (see divergence.h)
  TORCH_ARG(double, l1_w) = 0.0;
  TORCH_ARG(double, l1_h) = 0.0;
  TORCH_ARG(double, l2_w) = 0.0;
  TORCH_ARG(double, l2_h) = 0.0;
  TORCH_ARG(Normalisation, normalise) = Normalisation::None;  ///< W column normalisation after MU sweeps
  TORCH_ARG(bool, fixed_w) = false;          ///< keep W (e.g. a given dictionary): fit H only
  TORCH_ARG(bool, fixed_h) = false;
  TORCH_ARG(bool, softplus) = false;         ///< raw parametrisation for autograd
  TORCH_ARG(double, floor) = kFactorFloor;          ///< lower bound kept by project()
  TORCH_ARG(std::string, ard) = "none";      ///< "none" | "l1" | "l2": automatic relevance determination
  TORCH_ARG(double, ard_lambda) = 0.0;       ///< λ ≥ 0 of the ARD penalty
  TORCH_ARG(double, ard_b) = 1.0;            ///< b > 0 of the ARD penalty
  TORCH_ARG(double, ard_prune) = 1e-6;       ///< prune k when ‖w_k‖+‖h_k‖ < ard_prune·max_j(‖w_j‖+‖h_j‖) (0: never)
  TORCH_ARG(double, smooth_h) = 0.0;         ///< λ ≥ 0 of the smooth IS-NMF penalty on rows of H (β = 0 only)
};

/// clone() (torch::nn::Cloneable) is a deep copy: options, W, H and the forced-zero mask.
class NMFImpl : public FactorModelImpl, public torch::nn::Cloneable<NMFImpl> {
 public:
  explicit NMFImpl(const NMFOptions& options);
  NMFImpl(int64_t n_features, int64_t n_samples, int64_t rank)
      : NMFImpl(NMFOptions(n_features, n_samples, rank)) {}

  /// Creates W and H (ones), and the forced-zero mask when one is set (clone()); call
  /// init() with data for a real start.
  void reset() override;
  /// Initialises from data: "random", "nndsvd", "nndsvda" (see nmf_init.h).
  void init(const torch::Tensor& V, const std::string& method, uint64_t seed);

  std::string type() const override { return "nmf"; }
  torch::Tensor reconstruct() override;
  torch::Tensor loss(const TrainingData& data) override;
  bool has_mu() const override { return true; }
  void mu_step(const TrainingData& data) override;
  void normalise() override;
  void project() override;
  void check_data(const TrainingData& data) const override;
  NamedTensors factors() override;
  FactorDescriptions describe_factors() override;
  void set_factor(const std::string& name, const torch::Tensor& value) override;
  void pretty_print(std::ostream& stream) const override;
  /// H (and its forced-zero mask) are per column: local to each rank of a data-parallel run.
  std::vector<std::string> per_column_tensors() const override { return {"H", "H_mask"}; }

  /// Nonnegative factors (softplus of the raw parameters when options.softplus()).
  torch::Tensor W() const;
  torch::Tensor H() const;

  const BetaDivergence& divergence() const { return divergence_; }
  const ArdPenalty& ard() const { return ard_; }

  /// Forced zeros: mask K×N with 1 = free, 0 = h_{k,n} stays zero. Applied to H at once.
  void set_h_mask(const torch::Tensor& mask);
  const torch::Tensor& h_mask() const { return H_mask_; }

  /// ARD: ‖w_k‖ + ‖h_k‖ of each component (K); components pruned so far.
  torch::Tensor relevance() const;
  std::vector<int64_t> pruned() const;

  NMFOptions options;

 private:
  torch::Tensor to_raw(const torch::Tensor& value) const;
  void update_penalised_(torch::Tensor& A, const MultilinearTerm& term, const TrainingData& data,
                         const FactorPenalty& elementwise, const torch::Tensor& ard_weight);
  void prune_();
  BetaDivergence divergence_;
  ArdPenalty ard_;
  torch::Tensor W_, H_;  // parameters "W", "H" (raw values when softplus)
  torch::Tensor H_mask_;  // buffer "H_mask" when forced zeros are set
};
TORCH_MODULE(NMF);

}  // namespace factorch
