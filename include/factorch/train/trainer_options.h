#pragma once
// Options shared by every trainer (YAML section `trainer:`). Device, dtype and threads
// are applied by whoever moves model and data (see app/run_training); they live here so
// one struct describes a run.
#include <cstdint>
#include <string>

#include <torch/arg.h>

namespace factorch {

struct TrainerOptions {
  TORCH_ARG(std::string, kind) = "mu";         ///< "mu" | "autograd"
  TORCH_ARG(int64_t, max_iter) = 200;          ///< MU sweeps, or autograd epochs
  TORCH_ARG(double, tol) = 1e-6;               ///< stop when |ΔJ|/|J| < tol at an evaluation (0: never)
  TORCH_ARG(int64_t, eval_every) = 1;          ///< objective evaluated every k iterations
  TORCH_ARG(std::string, device) = "cpu";      ///< "cpu" | "cuda" | "cuda:N"
  TORCH_ARG(std::string, dtype) = "float64";   ///< "float32" | "float64"
  TORCH_ARG(int64_t, threads) = 1;             ///< CPU threads in total, BLAS pool included (threads.h; 0: defaults)
  TORCH_ARG(uint64_t, seed) = 0;               ///< mini-batch shuffling
  TORCH_ARG(int64_t, checkpoint_every) = 0;    ///< iterations between checkpoints (0: only at the end)
  TORCH_ARG(std::string, progress) = "auto";   ///< "auto" | "always" | "never"
  // autograd only
  TORCH_ARG(std::string, optimizer) = "adam";  ///< "adam" | "sgd" | "lbfgs" | "rprop"
  TORCH_ARG(double, lr) = 1e-2;
  TORCH_ARG(double, momentum) = 0.0;           ///< sgd
  TORCH_ARG(int64_t, batch_size) = 0;          ///< rows per mini-batch for sample data (0: full batch)
  TORCH_ARG(std::string, nonneg) = "project";  ///< "project" | "softplus" (how NMF factors stay ≥ 0)
};

}  // namespace factorch
