#include "train.h"

#include <chrono>

#include "factorch/error.h"
#include "factorch/train/callbacks.h"
#include "factorch/train/trainer.h"

namespace factorch::python {

namespace {

// Thrown out of the trainer (GIL released) when Python has a pending signal; the Python
// error (KeyboardInterrupt) stays set in this thread and is raised once the GIL is back.
struct Interrupted {};

// Takes the GIL only for the check, at each evaluation (not each iteration's arithmetic).
class SignalCallback : public Callback {
 public:
  void on_evaluation(const TrainState&, int64_t) override {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw Interrupted{};
  }
};

TrainerOptions trainer_options(py::kwargs kwargs, bool& progress) {
  TrainerOptions o;
  Kwargs k(std::move(kwargs), "fit");
  k.take<std::string>("kind", [&](std::string v) { o.kind(v); });
  k.take<int64_t>("max_iter", [&](int64_t v) { o.max_iter(v); });
  k.take<double>("tol", [&](double v) { o.tol(v); });
  k.take<int64_t>("eval_every", [&](int64_t v) { o.eval_every(v); });
  k.take<uint64_t>("seed", [&](uint64_t v) { o.seed(v); });
  k.take<std::string>("optimizer", [&](std::string v) { o.optimizer(v); });
  k.take<double>("lr", [&](double v) { o.lr(v); });
  k.take<double>("momentum", [&](double v) { o.momentum(v); });
  k.take<int64_t>("batch_size", [&](int64_t v) { o.batch_size(v); });
  k.take<bool>("progress", [&](bool v) { progress = v; });
  k.finish();
  require(o.kind() == "mu" || o.kind() == "autograd", "fit: kind must be 'mu' or 'autograd', got '" + o.kind() + "'");
  require(o.max_iter() >= 0, "fit: max_iter must be >= 0, got " + std::to_string(o.max_iter()));
  require(o.tol() >= 0.0, "fit: tol must be >= 0, got " + std::to_string(o.tol()));
  require(o.eval_every() >= 1, "fit: eval_every must be >= 1, got " + std::to_string(o.eval_every()));
  return o;
}

}  // namespace

py::dict fit_model(const std::shared_ptr<FactorModelImpl>& model, const torch::Tensor& X, const torch::Tensor& mask,
                   bool rows_are_samples, py::kwargs kwargs) {
  bool progress = false;
  const TrainerOptions options = trainer_options(std::move(kwargs), progress);
  std::unique_ptr<Trainer> trainer = make_trainer(options);
  trainer->add_callback(std::make_shared<SignalCallback>());
  if (progress) trainer->add_callback(std::make_shared<ProgressCallback>(false));
  TrainResult result;
  bool interrupted = false;
  {
    py::gil_scoped_release release;
    try {
      result = trainer->fit(model, TrainingData(X, mask, rows_are_samples));
    } catch (const Interrupted&) {
      interrupted = true;
    }
  }
  if (interrupted) throw py::error_already_set();
  py::list history;
  for (const TrainRecord& r : trainer->state().history)
    history.append(py::make_tuple(r.iteration, r.objective, r.rel_change, r.seconds));
  py::dict out;
  out["ok"] = result.ok;
  out["stop_reason"] = result.stop_reason;
  out["iterations"] = result.iterations;
  out["objective"] = result.objective;
  out["history"] = history;
  return out;
}

double time_trainer(const std::shared_ptr<FactorModelImpl>& model, const torch::Tensor& X, py::kwargs kwargs) {
  bool progress = false;
  const TrainerOptions options = trainer_options(std::move(kwargs), progress);
  py::gil_scoped_release release;
  const auto start = std::chrono::steady_clock::now();
  make_trainer(options)->fit(model, TrainingData(X));
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace factorch::python