#pragma once
// SIREN (Sitzmann et al. 2020): a stack of sine layers x ← sin(ω₀(Wx + b)).
// Initialisation (what makes deep sine networks trainable), with n the layer's fan-in:
//   first layer (is_first):  W ~ U(−1/n, 1/n)
//   later layers:            W ~ U(−√(6/n)/ω₀, √(6/n)/ω₀)
// Biases keep torch::nn::Linear's default U(−1/√n, 1/√n), as the reference implementation.
// ω₀ = 30 by default; inputs are expected in about [−1, 1] (coordinates or Fourier features).
#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace factorch::nn {

struct SirenOptions {
  SirenOptions(int64_t in_features, int64_t width) : in_features_(in_features), width_(width) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, width);              ///< output size of every sine layer
  TORCH_ARG(int64_t, layers) = 3;         ///< number of sine layers (≥ 1)
  TORCH_ARG(double, omega_0) = 30.0;      ///< ω₀
  TORCH_ARG(bool, first_is_input) = true; ///< first layer gets the U(−1/n, 1/n) input-layer init
};

class SirenImpl : public torch::nn::Cloneable<SirenImpl> {
 public:
  explicit SirenImpl(const SirenOptions& options);
  SirenImpl(int64_t in_features, int64_t width) : SirenImpl(SirenOptions(in_features, width)) {}

  void reset() override;
  /// x (… × in_features) → (… × width).
  torch::Tensor forward(torch::Tensor x);
  /// Bound a of the weight init U(−a, a) of layer i (1/n for the first, √(6/n)/ω₀ after).
  double init_bound(int64_t i) const;
  void pretty_print(std::ostream& stream) const override;

  SirenOptions options;
  torch::nn::ModuleList layers;  ///< torch::nn::Linear, "layers.i.weight" / "layers.i.bias"
};
TORCH_MODULE(Siren);

/// Initialises `linear`'s weight with the SIREN hidden-layer rule for ω₀ (used for the
/// linear read-out after a Siren stack too).
void siren_hidden_init_(torch::nn::Linear& linear, double omega_0);

}  // namespace factorch::nn
