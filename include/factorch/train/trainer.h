#pragma once
// The training loop shared by the MU and autograd trainers:
//   repeat: step() → every eval_every iterations evaluate the objective → callbacks
//   stop on max_iter, on relative objective change < tol, or on a non-finite objective
//   (NaN guard: the last finite parameters are restored and the run reports failure).
#include <memory>
#include <string>
#include <vector>

#include "factorch/train/callbacks.h"
#include "factorch/train/trainer_options.h"
#include "factorch/models/factor_model.h"

namespace factorch {

struct TrainResult {
  bool ok = true;              ///< false when the NaN guard stopped training
  std::string stop_reason;     ///< "max_iter", "tol", "nan: ..." 
  int64_t iterations = 0;
  double objective = 0.0;
};

class Trainer {
 public:
  explicit Trainer(TrainerOptions options) : options_(std::move(options)) {}
  virtual ~Trainer() = default;

  void add_callback(std::shared_ptr<Callback> callback) { callbacks_.push_back(std::move(callback)); }

  /// Trains from state() (fresh or restored by set_state) up to options.max_iter().
  TrainResult fit(const std::shared_ptr<FactorModelImpl>& model, const TrainingData& data);

  const TrainState& state() const { return state_; }
  /// Restores a checkpointed state (iteration count, history, optimizer state).
  virtual void set_state(const TrainState& state) { state_ = state; }
  const TrainerOptions& options() const { return options_; }
  /// Serialised optimizer state for checkpoints ("" if none).
  virtual std::string optimizer_state() const { return {}; }

 protected:
  /// Called once before the first step of fit().
  virtual void prepare(const std::shared_ptr<FactorModelImpl>& /*model*/, const TrainingData& /*data*/) {}
  /// One iteration (an MU sweep, or an autograd epoch).
  virtual void step(const std::shared_ptr<FactorModelImpl>& model, const TrainingData& data) = 0;
  /// After a non-finite objective: the optimizer's moments have seen the bad step and are not
  /// restored with the parameters, so they are dropped (a resume starts the optimizer afresh).
  virtual void discard_optimizer_state() {}
  TrainerOptions options_;
  TrainState state_;
  std::vector<std::shared_ptr<Callback>> callbacks_;
};

/// Block majorisation–minimisation: step() = model->mu_step(data).
class MultiplicativeTrainer : public Trainer {
 public:
  using Trainer::Trainer;

 protected:
  void prepare(const std::shared_ptr<FactorModelImpl>& model, const TrainingData& data) override;
  void step(const std::shared_ptr<FactorModelImpl>& model, const TrainingData& data) override;
};

/// Any torch::optim optimiser (adam, sgd, lbfgs) or Rprop on model->loss(); full batch, or
/// shuffled mini-batches of rows when data.rows_are_samples; model->project() after every step.
class AutogradTrainer : public Trainer {
 public:
  explicit AutogradTrainer(TrainerOptions options);
  ~AutogradTrainer() override;

 protected:
  void prepare(const std::shared_ptr<FactorModelImpl>& model, const TrainingData& data) override;
  void step(const std::shared_ptr<FactorModelImpl>& model, const TrainingData& data) override;
  void discard_optimizer_state() override;

 public:
  std::string optimizer_state() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// MultiplicativeTrainer or AutogradTrainer according to options.kind().
std::unique_ptr<Trainer> make_trainer(const TrainerOptions& options);

}  // namespace factorch
