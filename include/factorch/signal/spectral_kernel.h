#pragma once
// The spectral kernel of an analysis window: the expected periodogram of a stationary
// signal with power spectral density S(ν) is, at DFT frequency f,
//   E|X(f)|² = ∫ S(ν) (|Ŵ(f − ν)|² + |Ŵ(f + ν)|²) dν        (ν ≥ 0, real signal)
// with Ŵ the DTFT of the window. A peak of S narrower than a bin is seen with the width of
// the window in use, so one density describes the spectra at every DFT size: iN-NMF learns
// D_k(ν) and samples its templates through the kernel of each resolution.
// |Ŵ|² is tabulated by a zero-padded FFT (`oversampling` points per bin of the window's own
// DFT size) and read by linear interpolation; it is normalised to sum to 1 over one period
// of the table's grid, so a flat density gives about the same value at every size.
#include <string>

#include <torch/types.h>

namespace factorch::signal {

class SpectralKernel {
 public:
  /// `window` as window_from_name, of n_fft samples, at `sample_rate` Hz.
  SpectralKernel(const std::string& window, int64_t n_fft, double sample_rate, int64_t oversampling = 32);

  /// K (F × G), float64: K[k][g] = |Ŵ(f_k − ν_g)|² + |Ŵ(f_k + ν_g)|² (normalised table).
  torch::Tensor matrix(const torch::Tensor& frequencies, const torch::Tensor& nu) const;
  /// |Ŵ(δ)|² at offsets δ (Hz, any shape), periodic in the sample rate.
  torch::Tensor at(const torch::Tensor& offsets) const;

  int64_t n_fft() const { return n_fft_; }
  double sample_rate() const { return rate_; }

 private:
  torch::Tensor table_;  // P values of |Ŵ(j·fs/P)|², j = 0…P−1 (float64)
  int64_t n_fft_;
  double rate_;
};

}  // namespace factorch::signal
