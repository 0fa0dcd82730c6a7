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
#include <string>

#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include "factorch/divergence.h"
#include "factorch/multiplicative.h"
#include "models/factor_model.h"

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
  TORCH_ARG(std::string, normalise) = "none";  ///< "l1" | "l2" | "none": W column normalisation after MU sweeps
  TORCH_ARG(bool, fixed_w) = false;          ///< keep W (e.g. a given dictionary): fit H only
  TORCH_ARG(bool, fixed_h) = false;
  TORCH_ARG(bool, softplus) = false;         ///< raw parametrisation for autograd
  TORCH_ARG(double, floor) = 1e-12;          ///< lower bound kept by project()
};

class NMFImpl : public FactorModelImpl {
 public:
  explicit NMFImpl(const NMFOptions& options);
  NMFImpl(int64_t n_features, int64_t n_samples, int64_t rank)
      : NMFImpl(NMFOptions(n_features, n_samples, rank)) {}

  /// Creates W and H (ones·small constant); call init() with data for a real start.
  void reset();
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
  void set_factor(const std::string& name, const torch::Tensor& value) override;
  void pretty_print(std::ostream& stream) const override;

  /// Nonnegative factors (softplus of the raw parameters when options.softplus()).
  torch::Tensor W() const;
  torch::Tensor H() const;

  const BetaDivergence& divergence() const { return divergence_; }
  NMFOptions options;

 private:
  torch::Tensor to_raw(const torch::Tensor& value) const;
  BetaDivergence divergence_;
  torch::Tensor W_, H_;  // parameters "W", "H" (raw values when softplus)
};
TORCH_MODULE(NMF);

}  // namespace factorch
