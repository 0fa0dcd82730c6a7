#include "factorch/train/restore.h"

#include <algorithm>

#include "factorch/error.h"
#include "factorch/shape_string.h"

namespace factorch {

torch::Tensor column_part(const FactorModelImpl& model, const std::string& name, const torch::Tensor& full,
                          const TrainingData& data) {
  if (!data.sharded() || full.dim() < 2 || full.size(-1) != data.shard->total) return full;
  const std::vector<std::string> per_column = model.per_column_tensors();
  if (std::find(per_column.begin(), per_column.end(), name) == per_column.end()) return full;
  return full.slice(-1, data.shard->begin, data.shard->end);
}

void restore_parameters(FactorModelImpl& model, const NamedTensors& saved, const std::string& origin,
                        const TrainingData& data) {
  torch::NoGradGuard no_grad;
  auto params = model.named_parameters(true);
  auto buffers = model.named_buffers(true);
  for (auto* dict : {&params, &buffers}) {
    for (auto& item : *dict) {
      const torch::Tensor* found = saved.find(item.key());
      require(found != nullptr, origin + ": has no parameter '" + item.key() + "' (different model options?)");
      const torch::Tensor src = column_part(model, item.key(), *found, data);
      require(src.sizes() == item.value().sizes(), origin + ": parameter " + item.key() + " is " + shape_string(*found) +
                                                       " but this config/data needs " + shape_string(item.value()));
      item.value().copy_(src.to(item.value().options()));
    }
  }
}

}  // namespace factorch
