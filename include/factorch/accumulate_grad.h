#pragma once
// θ.grad += g, as autograd accumulates (g becomes the gradient when there is none yet): the
// hand-written backward passes (networks, iN-NMF) hand their gradients to optimisers this way.
#include <torch/types.h>

namespace factorch {

inline void accumulate_grad(torch::Tensor& parameter, const torch::Tensor& g) {
  if (!parameter.requires_grad()) return;
  if (parameter.grad().defined()) parameter.mutable_grad().add_(g);
  else parameter.mutable_grad() = g;
}

}  // namespace factorch
