#pragma once
// Fourier feature encoding (Tancik et al. 2020) of low-dimensional coordinates v (… × d):
//   γ(v) = [cos(2π v Bᵀ + φ), sin(2π v Bᵀ + φ)]   (… × 2m)
// B (m × d) is either Gaussian, B ~ N(0, σ²), with m = n_frequencies, or fixed octaves:
// for each input dimension j the rows 2^k·e_j, k = 0…n_frequencies−1 (m = n_frequencies·d),
// the encoding of the iN-NMF paper's code. φ (m) is zero, or U[0, 2π) with random_phase.
// B and φ are buffers (fixed, moved and saved with the module) unless `trainable`, in which
// case B is a parameter. Random draws use the global torch generator (seed it first).
#include <string>

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

namespace factorch::nn {

struct FourierFeaturesOptions {
  FourierFeaturesOptions(int64_t in_features, int64_t n_frequencies)
      : in_features_(in_features), n_frequencies_(n_frequencies) {}
  TORCH_ARG(int64_t, in_features);          ///< d, size of the last input dimension
  TORCH_ARG(int64_t, n_frequencies);        ///< per dimension (octave) or in total (gaussian)
  TORCH_ARG(std::string, kind) = "octave";  ///< "octave" (2^k) | "gaussian" (N(0, σ²))
  TORCH_ARG(double, sigma) = 1.0;           ///< standard deviation of the Gaussian B
  TORCH_ARG(bool, random_phase) = false;    ///< φ ~ U[0, 2π) instead of 0
  TORCH_ARG(bool, trainable) = false;       ///< B a parameter (learnt) instead of a buffer
};

class FourierFeaturesImpl : public torch::nn::Cloneable<FourierFeaturesImpl> {
 public:
  explicit FourierFeaturesImpl(const FourierFeaturesOptions& options);
  FourierFeaturesImpl(int64_t in_features, int64_t n_frequencies)
      : FourierFeaturesImpl(FourierFeaturesOptions(in_features, n_frequencies)) {}

  void reset() override;
  /// v (… × d) → (… × 2m): cosines first, then sines.
  torch::Tensor forward(const torch::Tensor& v);
  /// 2m.
  int64_t out_features() const { return 2 * B.size(0); }
  void pretty_print(std::ostream& stream) const override;

  FourierFeaturesOptions options;
  torch::Tensor B;      ///< m × d frequencies ("B")
  torch::Tensor phase;  ///< m phases ("phase", always a buffer)
};
TORCH_MODULE(FourierFeatures);

}  // namespace factorch::nn
