#pragma once
// Putting saved tensors back into a model: a checkpoint's raw parameters (exact resume,
// fine-tuning on another device or dtype) and a data-parallel rank's columns of a whole run's
// per-column tensors (any world size wrote them).
#include <string>

#include <torch/types.h>

#include "factorch/models/factor_model.h"
#include "factorch/named_tensors.h"

namespace factorch {

/// `full` (a whole run's tensor `name`, e.g. NMF's H) cut to the columns this rank holds when
/// `data` is a shard and the model keeps `name` per column (per_column_tensors); else `full`.
torch::Tensor column_part(const FactorModelImpl& model, const std::string& name, const torch::Tensor& full,
                          const TrainingData& data);

/// Copies saved raw parameters and buffers (io::Checkpoint::parameters) into the model, each
/// converted to the model's device and dtype; every parameter must be saved with this
/// model's shape (a shard takes its columns) → else factorch::Error naming `origin` (the file).
void restore_parameters(FactorModelImpl& model, const NamedTensors& saved, const std::string& origin,
                        const TrainingData& data = {});

}  // namespace factorch
