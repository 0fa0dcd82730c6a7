#include "factorch/models/factor_model.h"

#include <torch/utils.h>

#include "factorch/error.h"
#include "factorch/tolerances.h"

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

FactorDescriptions FactorModelImpl::describe_factors() {
  FactorDescriptions out;
  for (const auto& f : factors()) out.emplace_back(f.key(), FactorRole::Other, "");
  return out;
}

torch::Tensor FactorModelImpl::fit_activations(const torch::Tensor& W, const torch::Tensor& V, int64_t iterations,
                                               torch::Device device, torch::ScalarType dtype, const torch::Tensor& start) {
  require(W.dim() == 2 && V.dim() == 2 && W.size(0) == V.size(0), "fit_activations: W and V must share their rows");
  require(has_mu(), "fit_activations: model " + type() + " has no multiplicative updates");
  TrainingData data(V.to(torch::kCPU, torch::kFloat64));
  const torch::Tensor W64 = W.to(torch::kCPU, torch::kFloat64);
  const int64_t K = W64.size(1);
  const torch::Tensor level = data.X.mean(0) / (static_cast<double>(K) * W64.mean().item<double>());
  const torch::Tensor H0 = start.defined() ? start.to(torch::kCPU, torch::kFloat64)
                                            : level.clamp_min(kFactorFloor).unsqueeze(0).expand({K, V.size(1)}).contiguous();
  // The model's own names for its dictionary and activations (NMF's W and H).
  const FactorDescriptions described = describe_factors();
  const FactorDescription* dictionary = whole_factor(described, FactorRole::Dictionary);
  const FactorDescription* activations = whole_factor(described, FactorRole::Activations);
  require(dictionary && activations, "fit_activations: model " + type() + " describes no dictionary and activations");
  set_factor(dictionary->name, W64);
  set_factor(activations->name, H0);
  check_data(data);
  to(device, dtype);
  data = data.to(device, dtype);
  torch::NoGradGuard no_grad;
  for (int64_t it = 0; it < iterations; ++it) mu_step(data);
  return factors()[activations->name].to(torch::kCPU, torch::kFloat64);
}

}  // namespace factorch
