#include "factorch/signal/spectral_kernel.h"

#include <torch/fft.h>

#include "factorch/error.h"
#include "factorch/signal/window.h"

namespace factorch::signal {

SpectralKernel::SpectralKernel(const std::string& window, int64_t n_fft, double sample_rate, int64_t oversampling)
    : n_fft_(n_fft), rate_(sample_rate) {
  require(n_fft >= 2, "SpectralKernel: n_fft must be >= 2, got " + std::to_string(n_fft));
  require(sample_rate > 0, "SpectralKernel: the sample rate must be > 0");
  require(oversampling >= 1, "SpectralKernel: oversampling must be >= 1");
  const torch::Tensor w = window_from_name(window, n_fft);
  const int64_t P = n_fft * oversampling;
  const torch::Tensor power = torch::fft::fft(w, P).abs().pow(2);
  table_ = (power / power.sum()).contiguous();
}

torch::Tensor SpectralKernel::at(const torch::Tensor& offsets) const {
  const int64_t P = table_.size(0);
  // Position in table steps, wrapped to [0, P); linear interpolation between neighbours.
  const torch::Tensor pos = torch::remainder(offsets.to(torch::kFloat64).cpu() * (P / rate_), static_cast<double>(P));
  const torch::Tensor lo = pos.floor();
  const torch::Tensor frac = pos - lo;
  const torch::Tensor i0 = lo.to(torch::kLong).remainder(P), i1 = (i0 + 1).remainder(P);
  const torch::Tensor a = table_.index_select(0, i0.flatten()).view(offsets.sizes());
  const torch::Tensor b = table_.index_select(0, i1.flatten()).view(offsets.sizes());
  return a + frac * (b - a);
}

torch::Tensor SpectralKernel::matrix(const torch::Tensor& frequencies, const torch::Tensor& nu) const {
  const torch::Tensor f = frequencies.to(torch::kFloat64).cpu().unsqueeze(1), v = nu.to(torch::kFloat64).cpu().unsqueeze(0);
  return at(f - v) + at(f + v);
}

}  // namespace factorch::signal
