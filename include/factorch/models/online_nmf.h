#pragma once
// Mini-batch / online β-NMF for data that does not fit in memory (scikit-learn's
// MiniBatchNMF update; incremental IS-NMF of Lefèvre, Bach & Févotte 2011).
//
// V's columns come from a ColumnStream in batches X_b of at most batch_size columns. For
// each batch: H_b is fitted with W fixed (inner_iter MU steps of the shared core, warm
// started at WH_b ≈ mean(X_b)); then the MM statistics of W are accumulated with a forget
// factor ρ = forget^(C/N) (C: columns of the step, N: training columns):
//     A ← ρA + N_W ⊙ W^(1/γ),   B ← ρB + D_W,   W ← (A / B)^γ
// where (N_W, D_W) are the numerator/denominator of W's MU step summed over the batches of
// one step (ρ = 0 is the plain MU step). A step is batches_per_step consecutive training
// batches, all fitted with the same W; only one batch is ever in memory. One mu_step() = one
// pass (epoch).
//
// Held-back set: every holdout_every-th batch is held back (not trained on) until the
// held-back batches hold holdout_max_columns columns; after that every batch trains. loss()
// is D_β(X | W·H*) on those columns with H* fitted for W fixed — the same objective on
// unseen data, so the trainer's history shows generalisation. When data.X has no columns
// (the runs of the CLI), the held-back batches are read from the stream one at a time, so
// memory does not grow with the held-back set; a caller may instead pass the columns in
// data.X (the same value when they are the held-back set and init() got their mean).
//
// Data parallelism (data.shard set, R ranks, rank r): every rank walks the same sequence of
// batches but reads only its own — training batch t (counted among training batches) when
// t mod R = r, held-back batch j when j mod R = r — and skips the others unread. A step is
// then R·batches_per_step training batches; the step's (N_W, D_W) are summed over ranks, so
// every rank keeps the same A, B, W. An R-rank run is therefore the single-process run with
// batches_per_step multiplied by R (same W up to the order of the sums). The held-back
// objective of each rank is its batches' part, summed over ranks by the trainer.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
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
  /// Moves past the next ≤ max_columns columns; returns how many (0 at the end). Streams
  /// with random access (.npy, tensors) do not read them: a rank skips the others' batches.
  virtual int64_t skip(int64_t max_columns) {
    const torch::Tensor X = next(max_columns);
    return X.defined() ? X.size(1) : 0;
  }
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
  /// The held-back set stops growing once it holds this many columns (the last held-back
  /// batch may overshoot); later batches all train. 0: no cap.
  TORCH_ARG(int64_t, holdout_max_columns) = 0;
  TORCH_ARG(int64_t, batches_per_step) = 1;  ///< training batches per W update (per rank)
  TORCH_ARG(int64_t, train_columns) = 0; ///< N, for ρ (0: ρ = forget per step)
};

/// Which batches are held back: walks the batches in order (each call: the next batch's
/// role, then its size). Depends only on the sizes of earlier batches, so every rank of a
/// data-parallel run decides the same without reading the others' batches.
class BatchSchedule {
 public:
  BatchSchedule(int64_t holdout_every, int64_t holdout_max_columns)
      : every_(holdout_every), cap_(holdout_max_columns) {}
  /// Whether the next batch is held back (does not advance).
  bool next_is_held_back() const {
    return batch_ % every_ == every_ - 1 && (cap_ <= 0 || held_columns_ < cap_);
  }
  /// Records the next batch (its role as next_is_held_back() said, `columns` wide).
  void advance(int64_t columns);
  int64_t batches() const { return batch_; }
  int64_t held_batches() const { return held_; }
  int64_t held_columns() const { return held_columns_; }
  int64_t train_batches() const { return train_; }
  int64_t train_columns() const { return train_columns_; }

 private:
  int64_t every_, cap_;
  int64_t batch_ = 0, held_ = 0, held_columns_ = 0, train_ = 0, train_columns_ = 0;
};

/// One pass over a stream before training: the counts of the schedule, and the sum of the
/// held-back values this rank read (for the mean that scales the init and the warm starts).
/// Reads only rank `rank`'s batches (of `world_size`) and checks each against `divergence`'s
/// domain. Throws (naming the batch) on bad data, no held-back or no training batch.
struct StreamSummary {
  int64_t rows = 0, batches = 0, train_columns = 0, held_columns = 0;
  double held_sum = 0;  ///< over this rank's held-back batches
};
StreamSummary scan_stream(ColumnStream& stream, const OnlineNMFOptions& options, int rank = 0, int world_size = 1);

/// clone() (torch::nn::Cloneable) is a deep copy of the model: options, W, the statistics
/// A, B and the kept activations of every batch. The column stream is the data, not model
/// state: the clone reads the same one (every pass rewinds it), so a clone and its original
/// must not be trained at the same time.
class OnlineNMFImpl : public FactorModelImpl, public torch::nn::Cloneable<OnlineNMFImpl> {
 public:
  OnlineNMFImpl(const OnlineNMFOptions& options, std::shared_ptr<ColumnStream> stream);

  /// Creates W (ones) and zero statistics A, B; in a clone also copies the kept activations.
  void reset() override;

  /// W = |N(0,1)|·sqrt(scale/K) from `seed` (scale: mean of the held-back set; a streamed
  /// loss() also warm-starts its activations from it).
  void init(double scale, uint64_t seed);

  std::string type() const override { return "online_nmf"; }
  torch::Tensor reconstruct() override;  ///< W·H* of the last loss() evaluation
  torch::Tensor loss(const TrainingData& data) override;
  bool has_mu() const override { return true; }
  void mu_step(const TrainingData& data) override;
  void check_data(const TrainingData& data) const override;
  NamedTensors factors() override;
  FactorDescriptions describe_factors() override;
  void set_factor(const std::string& name, const torch::Tensor& value) override;
  void pretty_print(std::ostream& stream) const override;

  /// H fitted to X (F×B) with W fixed (inner_iter · `passes` MU steps), warm started at
  /// mean_f(W·H) = `level` (< 0: mean(X)).
  torch::Tensor fit_activations(const torch::Tensor& X, int64_t passes = 1, double level = -1) const;
  const torch::Tensor& W() const { return W_; }
  ColumnStream& stream() { return *stream_; }

  OnlineNMFOptions options;

 private:
  BetaDivergence divergence_;
  std::shared_ptr<ColumnStream> stream_;
  /// D_β of the held-back batches of this rank read from the stream (float64 scalar).
  torch::Tensor streamed_loss(const TrainingData& data);

  torch::Tensor W_, A_, B_, last_H_;
  double held_mean_ = -1;  // mean of the held-back set (init's scale)
  // Activations of each training batch, kept between passes (K × batch each: small next to
  // V) so every pass refines them instead of refitting from a flat start, which biases W.
  std::vector<torch::Tensor> batch_H_;
};
TORCH_MODULE(OnlineNMF);

/// The held-back columns of `stream` concatenated (F × N_h), in memory (tests, small data);
/// also counts the training columns. Throws if there is no held-back batch.
torch::Tensor held_back_columns(ColumnStream& stream, int64_t batch_size, int64_t holdout_every, int64_t* train_columns,
                                int64_t holdout_max_columns = 0);

}  // namespace factorch
