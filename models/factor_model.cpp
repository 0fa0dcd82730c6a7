#include "factorch/models/factor_model.h"

#include "factorch/error.h"

namespace factorch {

TrainingData TrainingData::to(torch::Device device, torch::ScalarType dtype) const {
  TrainingData out = *this;
  if (X.defined()) out.X = X.to(device, dtype);
  if (mask.defined()) out.mask = mask.to(device, dtype);
  return out;
}

TrainingData TrainingData::rows(const torch::Tensor& index) const {
  TrainingData out = *this;
  out.X = X.index_select(0, index);
  if (mask.defined()) out.mask = mask.index_select(0, index);
  return out;
}

void FactorModelImpl::mu_step(const TrainingData&) {
  throw Error("model '" + type() + "' has no multiplicative-update form; train it with an autograd optimiser");
}

}  // namespace factorch
