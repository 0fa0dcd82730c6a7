#pragma once
#include <string>

#include <torch/ordered_dict.h>
#include <torch/types.h>

namespace factorch {
/// Factors and parameters by name, in a stable order (W before H, W1 before W2, ...).
using NamedTensors = torch::OrderedDict<std::string, torch::Tensor>;
}  // namespace factorch
