#pragma once
// What a trainer reports, and the callbacks shared by every trainer: progress line,
// history.csv, periodic checkpoints.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace factorch {

/// One objective evaluation.
struct TrainRecord {
  int64_t iteration = 0;
  double objective = 0.0;
  double rel_change = 0.0;  ///< |J_prev − J| / |J_prev| (NaN at the first evaluation)
  double seconds = 0.0;     ///< training time since the start of the (possibly resumed) run
};

/// Everything that a resumed run needs besides the model parameters.
struct TrainState {
  int64_t iteration = 0;              ///< iterations completed
  std::vector<TrainRecord> history;
  double seconds = 0.0;
  std::string optimizer_state;        ///< serialised torch::optim state (autograd), may be empty
};

class Callback {
 public:
  virtual ~Callback() = default;
  /// Once, before the first step, when the initial objective is known to be finite (a run
  /// that cannot start throws before this, so nothing written here is left behind).
  virtual void on_begin(const TrainState& /*state*/) {}
  /// After each objective evaluation; history.back() is the new record.
  virtual void on_evaluation(const TrainState& /*state*/, int64_t /*max_iter*/) {}
  /// Once, when training stops (any reason).
  virtual void on_end(const TrainState& /*state*/, const std::string& /*stop_reason*/) {}
};

/// "iter 120/200  objective 1.2345e+03  rel 3.2e-05  450.1 it/s" on stderr: rewritten with
/// '\r' on a terminal, one line per `period` seconds otherwise.
class ProgressCallback : public Callback {
 public:
  explicit ProgressCallback(bool tty, double period_seconds = 2.0);
  void on_evaluation(const TrainState& state, int64_t max_iter) override;
  void on_end(const TrainState& state, const std::string& stop_reason) override;

 private:
  void print(const TrainState& state, int64_t max_iter, bool final);
  bool tty_;
  double period_;
  double last_print_ = -1e300;
  int64_t last_iter_ = 0;
  double last_seconds_ = 0.0;
};

/// Writes history.csv (iter,objective,rel_change,seconds) atomically every `period`
/// evaluations and at the end.
class HistoryCallback : public Callback {
 public:
  explicit HistoryCallback(std::string path, int64_t every = 50) : path_(std::move(path)), every_(every) {}
  void on_evaluation(const TrainState& state, int64_t max_iter) override;
  void on_end(const TrainState& state, const std::string& stop_reason) override;
  static std::string to_csv(const std::vector<TrainRecord>& history);

 private:
  std::string path_;
  int64_t every_;
  int64_t count_ = 0;
};

/// Calls `save(state)` every `every` iterations (at evaluations) and at the end (after a NaN
/// stop that is the last finite state, restored by the trainer).
class CheckpointCallback : public Callback {
 public:
  CheckpointCallback(int64_t every, std::function<void(const TrainState&)> save)
      : every_(every), save_(std::move(save)) {}
  void on_evaluation(const TrainState& state, int64_t max_iter) override;
  void on_end(const TrainState& state, const std::string& stop_reason) override;

 private:
  int64_t every_;
  int64_t last_saved_ = -1;
  std::function<void(const TrainState&)> save_;
};

/// Autograd runs: warns once on stderr when the objective has stopped moving — every
/// relative change below `threshold` over at least `patience` evaluations spanning at least
/// `min_iterations` iterations — while training goes on (tol 0 or below the threshold), which
/// a plain progress line does not show. Such a stall far above the optimum usually means a
/// dead parametrisation (softplus outputs at exactly 0 have zero gradient) or optimiser steps
/// below the parameters' floating-point precision.
class StallCallback : public Callback {
 public:
  explicit StallCallback(int64_t patience = 3, int64_t min_iterations = 20, double threshold = 1e-9)
      : patience_(patience), min_iterations_(min_iterations), threshold_(threshold) {}
  void on_evaluation(const TrainState& state, int64_t max_iter) override;
  bool warned() const { return warned_; }

 private:
  int64_t patience_, min_iterations_;
  double threshold_;
  bool warned_ = false;
};

}  // namespace factorch
