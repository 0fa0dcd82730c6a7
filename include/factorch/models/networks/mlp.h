#pragma once
// The implicit-function network of iN-NMF: coordinates → [Fourier features] → SIREN sine
// layers → linear read-out → softplus (nonnegative output).
//   paper's code: octave features 2^k, k = 0…9 with random phase (20 features), sine layers
//   of width 64, Linear(64 → 1), softplus.
// The read-out uses the SIREN hidden init, its bias starts at `output_bias` so that the
// softplus output starts near softplus(output_bias).
#include <string>

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "factorch/models/networks/fourier_features.h"
#include "factorch/models/networks/siren.h"

namespace factorch::nn {

struct ImplicitMLPOptions {
  ImplicitMLPOptions(int64_t in_features = 1, int64_t out_features = 1)
      : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  TORCH_ARG(int64_t, width) = 64;              ///< width of the sine layers
  TORCH_ARG(int64_t, depth) = 3;               ///< number of sine layers
  TORCH_ARG(double, omega_0) = 30.0;           ///< ω₀ of the sine layers
  TORCH_ARG(std::string, features) = "octave"; ///< "octave" | "gaussian" | "none" (raw coordinates)
  TORCH_ARG(int64_t, n_frequencies) = 10;      ///< Fourier frequencies (octave: per input dimension)
  TORCH_ARG(double, sigma) = 10.0;             ///< σ of Gaussian features
  TORCH_ARG(bool, random_phase) = true;
  TORCH_ARG(bool, trainable_features) = false;
  TORCH_ARG(bool, softplus) = true;            ///< nonnegative output (false: linear output)
  TORCH_ARG(double, output_bias) = 0.0;        ///< initial read-out bias
};

class ImplicitMLPImpl : public torch::nn::Cloneable<ImplicitMLPImpl> {
 public:
  explicit ImplicitMLPImpl(const ImplicitMLPOptions& options = {});

  void reset() override;
  /// v (… × in_features) → (… × out_features), ≥ 0 with softplus.
  torch::Tensor forward(const torch::Tensor& v);
  void pretty_print(std::ostream& stream) const override;

  ImplicitMLPOptions options;
  FourierFeatures features{nullptr};  ///< "features" (absent with features: none)
  Siren siren{nullptr};               ///< "siren"
  torch::nn::Linear output{nullptr};  ///< "output"
};
TORCH_MODULE(ImplicitMLP);

/// Throws factorch::Error naming the bad option (used by config builders and the module).
void validate(const ImplicitMLPOptions& options);

}  // namespace factorch::nn
