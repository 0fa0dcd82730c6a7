#pragma once
// model.fit(): the C++ trainer on a bound model, with the GIL released while it runs.
#include <memory>

#include "bindings.h"
#include "factorch/models/factor_model.h"

namespace factorch::python {

/// Trains `model` on X (optional mask) with TrainerOptions from keyword arguments (kind,
/// max_iter, tol, eval_every, seed, optimizer, lr, momentum, batch_size, progress).
/// Returns {ok, stop_reason, iterations, objective, history: [(iter, objective, rel, s)]}.
/// Ctrl-C is seen at the next objective evaluation: training stops there (parameters keep
/// that iterate) and KeyboardInterrupt is raised.
py::dict fit_model(const std::shared_ptr<FactorModelImpl>& model, const torch::Tensor& X, const torch::Tensor& mask,
                   bool rows_are_samples, py::kwargs kwargs);

/// Seconds of the bare C++ trainer (no callbacks, no result conversion) on `model`: the
/// reference that tools/bench/bench_python_sklearn.py measures model.fit's overhead against.
double time_trainer(const std::shared_ptr<FactorModelImpl>& model, const torch::Tensor& X, py::kwargs kwargs);

}  // namespace factorch::python
