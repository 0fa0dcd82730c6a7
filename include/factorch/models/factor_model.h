#pragma once
// The interface every factorisation model implements, so that trainers, checkpoints and
// exports work for all of them. A model is a torch::nn::Module whose parameters are its
// factors (or the networks that produce them).
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "factorch/models/factor_description.h"
#include "factorch/named_tensors.h"

namespace factorch {

/// Data parallelism: this process holds samples [begin, end) of `total` (columns of V for
/// matrix models) and the other ranks hold the rest. A model's objective is a sum over
/// samples, so sums over samples (objective, the numerator and denominator of a shared
/// factor's MU update, gradients of shared parameters) are summed over ranks by `sum`.
/// Terms that do not depend on the samples (a penalty on W) are counted by rank 0 only.
/// Built by distributed::attach_shard (factorch/distributed/column_shard.h); a run without it
/// is a single process.
struct DataShard {
  int64_t begin = 0, end = 0, total = 0;
  int rank = 0, world_size = 1;
  std::function<void(torch::Tensor&)> sum;  ///< in-place all-reduce (sum) over ranks
};

/// What a model is fitted to. The layout of X is the model's business: V (F×N) for NMF,
/// a frame matrix for TL-NMF, (t, f, value) rows for implicit NMF.
struct TrainingData {
  TrainingData() = default;
  // Not an aggregate: `TrainingData{X}` or `{X, mask, true}` name what they set and leave the
  // rest at its default without -Wmissing-field-initializers.
  TrainingData(torch::Tensor X_, torch::Tensor mask_ = {}, bool rows_are_samples_ = false)  // NOLINT: implicit on purpose
      : X(std::move(X_)), mask(std::move(mask_)), rows_are_samples(rows_are_samples_) {}

  torch::Tensor X;
  torch::Tensor mask;              ///< optional elementwise weights (missing data = 0)
  bool rows_are_samples = false;   ///< rows of X are independent samples: mini-batches may subsample them
  std::shared_ptr<const DataShard> shard;  ///< set when X is one rank's share (see DataShard)

  bool sharded() const { return shard != nullptr; }
  /// Sums `t` over ranks in place (nothing to do in a single process).
  void sum_over_shards(torch::Tensor& t) const {
    if (shard && shard->sum) shard->sum(t);
  }
  /// Whether this process adds the terms that do not depend on the samples (rank 0).
  bool counts_shared_terms() const { return !shard || shard->rank == 0; }

  TrainingData to(torch::Device device, torch::ScalarType dtype) const;
  /// The rows `index` of X (and of mask), for mini-batches.
  TrainingData rows(const torch::Tensor& index) const;
};

// Virtual base: a model can also derive from torch::nn::Cloneable<Impl> (which derives
// virtually from Module) and get clone() with one Module inside.
class FactorModelImpl : public virtual torch::nn::Module {
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
  virtual void check_data(const TrainingData& /*data*/) const {}

  /// Learnt quantities by name, as users see them (nonnegative W, not a raw parametrisation).
  virtual NamedTensors factors() = 0;

  /// What each factor of factors() is (role, meaning, how to draw it), in the same order:
  /// reports, `factorch info` and the shared separation path ask this, never the type or a
  /// factor's name. The default describes every factor as Other with no meaning.
  virtual FactorDescriptions describe_factors();

  /// Sets one factor from user values (inverse of factors()); throws on unknown name or shape.
  virtual void set_factor(const std::string& name, const torch::Tensor& value) = 0;

  /// Names of the parameters, buffers and factors that hold one column per data column
  /// (NMF's H): a data-parallel run keeps them local to each rank, slices them from a
  /// checkpoint and gathers them for outputs. Models without any cannot be sharded.
  virtual std::vector<std::string> per_column_tensors() const { return {}; }

  /// Activations of V (F × N) on the fixed dictionary W (F × K), the separation of a mixture
  /// with learnt dictionaries: the default sets W and a per-column start
  /// h_n = mean_f(v_n) / (K·mean(W)) (the level that makes WH match v_n's mean; per column so
  /// that any split of the columns — blocks of a long recording — gives the same H), then runs
  /// `iterations` MU sweeps (the model must be built with W fixed) on `device` / `dtype`.
  /// `start` (K × N), when defined, replaces that start (a baseline's seeded random H: under IS or a penalty the
  /// problem need not be convex, so a protocol may fix its start).
  /// Returns H (K × N, float64 CPU). Models without a W/H pair or without MU override it or throw.
  virtual torch::Tensor fit_activations(const torch::Tensor& W, const torch::Tensor& V, int64_t iterations,
                                        torch::Device device = torch::kCPU, torch::ScalarType dtype = torch::kFloat64,
                                        const torch::Tensor& start = {});
};

}  // namespace factorch
