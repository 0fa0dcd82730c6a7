#pragma once
// Checkpoints: one .pt file (a pickled dict that Python's torch.load also reads) with
//   format, factorch_version, model_type, config (resolved YAML text),
//   parameters (raw module parameters and buffers, for exact resume),
//   factors (user-facing tensors, for init_from/export),
//   iteration, seconds, history (n×4 float64: iter, objective, rel_change, seconds),
//   optimizer (uint8 bytes of a torch::serialize archive; empty for MU),
//   descriptions (optional: factor name → {role, meaning, plot, grid, axis, layer}, the
//   model's describe_factors(); checkpoints written before it have none).
#include <string>

#include <c10/util/Exception.h>  // before torch/ordered_dict.h, which uses TORCH_CHECK without it (1.13)
#include <torch/types.h>  // before named_tensors.h: torch/ordered_dict.h needs TORCH_CHECK

#include "factorch/models/factor_description.h"
#include "factorch/named_tensors.h"
#include "factorch/train/callbacks.h"

namespace factorch::io {

struct Checkpoint {
  std::string model_type;
  std::string config_yaml;
  NamedTensors parameters;
  NamedTensors factors;
  FactorDescriptions descriptions;  ///< empty in checkpoints written before they were stored
  TrainState train_state;
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
/// Throws factorch::Error naming the file if it is missing or not a factorch checkpoint.
Checkpoint load_checkpoint(const std::string& path);

}  // namespace factorch::io
