#pragma once
// The interface every factorisation model implements, so that trainers, checkpoints and
// exports work for all of them. A model is a torch::nn::Module whose parameters are its
// factors (or the networks that produce them).
#include <string>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "factorch/named_tensors.h"

namespace factorch {

/// What a model is fitted to. The layout of X is the model's business: V (F×N) for NMF,
/// a frame matrix for TL-NMF, (t, f, value) rows for implicit NMF.
struct TrainingData {
  torch::Tensor X;
  torch::Tensor mask;              ///< optional elementwise weights (missing data = 0)
  bool rows_are_samples = false;   ///< rows of X are independent samples: mini-batches may subsample them

  TrainingData to(torch::Device device, torch::ScalarType dtype) const;
  /// The rows `index` of X (and of mask), for mini-batches.
  TrainingData rows(const torch::Tensor& index) const;
};

class FactorModelImpl : public torch::nn::Module {
 public:
  /// Registry name of the model ("nmf", "tlnmf", ...).
  virtual std::string type() const = 0;

  /// The model's approximation of the data (V̂ for matrix models).
  virtual torch::Tensor reconstruct() = 0;

  /// Differentiable objective on `data` (divergence + penalties).
  virtual torch::Tensor loss(const TrainingData& data) = 0;

  /// Whether mu_step() exists for this model.
  virtual bool has_mu() const { return false; }

  /// One block majorisation–minimisation sweep over all free factors. The default throws.
  virtual void mu_step(const TrainingData& data);

  /// Removes scale ambiguities without changing reconstruct() (e.g. ‖w_k‖₁ = 1).
  virtual void normalise() {}

  /// Restores constraints after an autograd optimiser step (nonnegativity, orthogonality).
  virtual void project() {}

  /// Checks that `data` fits this model (shapes, domain); throws factorch::Error.
  virtual void check_data(const TrainingData& data) const {}

  /// Learnt quantities by name, as users see them (nonnegative W, not a raw parametrisation).
  virtual NamedTensors factors() = 0;

  /// Sets one factor from user values (inverse of factors()); throws on unknown name or shape.
  virtual void set_factor(const std::string& name, const torch::Tensor& value) = 0;
};

}  // namespace factorch
