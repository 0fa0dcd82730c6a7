#pragma once
// A model that can also give its gradients without autograd (a hand-written backward pass):
// the AutogradTrainer uses it wherever has_gradients(data) says it applies, else autograd
// on loss(). Autograd stays the reference the hand-written gradients are tested against.
#include <torch/types.h>

#include "factorch/models/factor_model.h"

namespace factorch {

class HandGradients {
 public:
  virtual ~HandGradients() = default;
  /// Whether gradients(data) covers this model, as configured, on `data`.
  virtual bool has_gradients(const TrainingData& data) = 0;
  /// Adds d loss(data)/dθ to θ.grad() for every parameter θ that requires grad, as
  /// loss(data).backward() does, without an autograd graph. Returns loss(data) (no graph)
  /// when `with_loss`, else an undefined tensor. Only where has_gradients(data).
  virtual torch::Tensor gradients(const TrainingData& data, bool with_loss) = 0;
  /// false: trainers use autograd even where has_gradients() holds (the reference path).
  bool use_hand_gradients = true;
};

}  // namespace factorch
