#pragma once
// Mini-batch / online β-NMF for data that does not fit in memory (scikit-learn's
// MiniBatchNMF update; incremental IS-NMF of Lefèvre, Bach & Févotte 2011).
//
// V's columns come from a ColumnStream in batches X_b of at most batch_size columns. For
// each batch: H_b is fitted with W fixed (inner_iter MU steps of the shared core, warm
// started at WH_b ≈ mean(X_b)); then the MM statistics of W are accumulated with a forget
// factor ρ = forget^(B/N) (B: batch columns, N: training columns):
//     A ← ρA + N_W ⊙ W^(1/γ),   B ← ρB + D_W,   W ← (A / B)^γ
// where (N_W, D_W) are the numerator/denominator of W's MU step on the batch (ρ = 0 is the
// plain MU step). Only one batch is ever in memory. One mu_step() = one pass (epoch).
// Every holdout_every-th batch is held back (not trained on): TrainingData.X holds those
// columns and loss() is D_β(X | W·H*) with H* fitted to them for W fixed — the same
// objective on unseen data, so the trainer's history shows generalisation.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include "factorch/divergence.h"
#include "factorch/models/factor_model.h"

namespace factorch {

/// A source of V's columns, read lazily in order.
class ColumnStream {
 public:
  virtual ~ColumnStream() = default;
  virtual int64_t rows() const = 0;
  /// Restarts at the first column.
  virtual void rewind() = 0;
  /// The next ≤ max_columns columns (rows × B, float64 CPU), or an undefined tensor at the end.
  virtual torch::Tensor next(int64_t max_columns) = 0;
  /// Largest number of V's columns held in memory at once so far (for memory checks).
  int64_t peak_columns() const { return peak_; }

 protected:
  void note_columns(int64_t n) { peak_ = std::max(peak_, n); }

 private:
  int64_t peak_ = 0;
};

/// Columns of a .npy matrix (io::NpyColumnReader): only the requested block is read.
std::shared_ptr<ColumnStream> npy_column_stream(const std::string& path);
/// Columns of an in-memory matrix (tests, small data).
std::shared_ptr<ColumnStream> tensor_column_stream(const torch::Tensor& V);

struct OnlineNMFOptions {
  OnlineNMFOptions(int64_t n_features, int64_t rank) : n_features_(n_features), rank_(rank) {}
  TORCH_ARG(int64_t, n_features);        ///< F
  TORCH_ARG(int64_t, rank);              ///< K
  TORCH_ARG(double, beta) = 1.0;
  TORCH_ARG(double, eps) = 0.0;
  TORCH_ARG(int64_t, batch_size) = 256;  ///< columns per batch (> 0)
  /// Forget factor per pass over the data, in (0, 1]: the past statistics are scaled by
  /// forget^(B/N) per batch. Short memory by default: over repeated passes, averaging the
  /// statistics of stale dictionaries stalls the fit (after 60 passes on the tests' data:
  /// scikit-learn's 0.7 gives 32× the full-batch objective, 0.01 2.5×, 1e-4 0.975×).
  TORCH_ARG(double, forget) = 1e-4;
  TORCH_ARG(int64_t, inner_iter) = 20;   ///< MU steps of H_b per batch (> 0)
  TORCH_ARG(int64_t, holdout_every) = 10; ///< batch b is held back when b % holdout_every == holdout_every − 1 (≥ 2)
  TORCH_ARG(int64_t, train_columns) = 0; ///< N, for ρ (0: ρ = forget per batch)
};

class OnlineNMFImpl : public FactorModelImpl {
 public:
  OnlineNMFImpl(const OnlineNMFOptions& options, std::shared_ptr<ColumnStream> stream);

  /// W = |N(0,1)|·sqrt(scale/K) from `seed` (scale: mean of V, e.g. of the held-back set).
  void init(double scale, uint64_t seed);

  std::string type() const override { return "online_nmf"; }
  torch::Tensor reconstruct() override;  ///< W·H* of the last loss() evaluation
  torch::Tensor loss(const TrainingData& data) override;
  bool has_mu() const override { return true; }
  void mu_step(const TrainingData& data) override;
  void check_data(const TrainingData& data) const override;
  NamedTensors factors() override;
  void set_factor(const std::string& name, const torch::Tensor& value) override;
  void pretty_print(std::ostream& stream) const override;

  /// H fitted to X (F×B) with W fixed (inner_iter · `passes` MU steps).
  torch::Tensor fit_activations(const torch::Tensor& X, int64_t passes = 1) const;
  bool held_back(int64_t batch) const;
  const torch::Tensor& W() const { return W_; }
  ColumnStream& stream() { return *stream_; }

  OnlineNMFOptions options;

 private:
  BetaDivergence divergence_;
  std::shared_ptr<ColumnStream> stream_;
  torch::Tensor W_, A_, B_, last_H_;
  // Activations of each training batch, kept between passes (K × batch each: small next to
  // V) so every pass refines them instead of refitting from a flat start, which biases W.
  std::vector<torch::Tensor> batch_H_;
};
TORCH_MODULE(OnlineNMF);

/// The held-back columns of `stream` (batches with held_back(b)) concatenated (F × N_h);
/// also counts the training columns. Throws if there is no held-back batch.
torch::Tensor held_back_columns(ColumnStream& stream, int64_t batch_size, int64_t holdout_every, int64_t* train_columns);

}  // namespace factorch
