#pragma once
// Constant-Q transform with geometrically spaced bins f_b = f_min·2^(b/B_oct): each bin has
// its own windowed complex-exponential kernel of N_b = round(Q·fs/f_b) samples (Q constant),
// evaluated at frame centres t_n = n·hop. Bins are not uniformly spaced in Hz, which is
// what implicit neural NMF needs: it consumes (time, frequency-in-Hz, value) samples.
#include <torch/types.h>

#include <string>

namespace factorch::signal {

struct ConstantQOptions {
  double f_min = 55.0;        // Hz, centre of bin 0
  double f_max = 0.0;         // Hz, highest centre allowed; 0: Nyquist
  int bins_per_octave = 12;
  int64_t hop = 256;          // samples between frame centres
  double q_scale = 1.0;       // Q = q_scale / (2^(1/bins_per_octave) − 1); < 1 widens the bins
  std::string window = "hann";
};

struct ConstantQ {
  torch::Tensor coefficients;  // complex B × N (dtype/device of the signal)
  torch::Tensor frequencies;   // B centre frequencies in Hz (float64, CPU)
  torch::Tensor times;         // N frame centres in seconds (float64, CPU)

  torch::Tensor magnitude() const { return coefficients.abs(); }
};

/// Centre frequencies in Hz of the bins for this sample rate (float64, CPU).
torch::Tensor constant_q_frequencies(double sample_rate, const ConstantQOptions& options = {});

/// x (T), real. Kernels are normalised by their window sum, so a cosine of amplitude A at a
/// bin's centre frequency has magnitude ≈ A/2 in that bin. A kernel longer than the signal
/// (f_min too low for T) → factorch::Error.
ConstantQ constant_q(const torch::Tensor& x, double sample_rate, const ConstantQOptions& options = {});

/// values (B × N) on a (frequencies B, times N) grid → (B·N) × 3 rows (time s, frequency Hz,
/// value), bin-major, in the dtype/device of `values`.
torch::Tensor time_frequency_samples(const torch::Tensor& values, const torch::Tensor& frequencies,
                                     const torch::Tensor& times);

}  // namespace factorch::signal
