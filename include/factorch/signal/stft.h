#pragma once
// STFT on the same frames as frame_signal() (so DCT and STFT representations of one signal
// share their time grid): X = rfft(frame_signal(x)) along the frame axis, (n_fft/2 + 1) × N
// complex. istft() is irfft → overlap_add(), perfect reconstruction wherever Σw² > 0.
#include <torch/types.h>

#include <string>

#include "factorch/signal/frames.h"

namespace factorch::signal {

struct StftOptions {
  int64_t n_fft = 1024;
  int64_t win_length = 0;  // 0: n_fft; otherwise ≤ n_fft (frames zero-padded to n_fft)
  int64_t hop = 256;
  std::string window = "hann";
  double tukey_alpha = 0.5;
  FramePadding padding = FramePadding::Zero;

  int64_t frame_length() const { return win_length > 0 ? win_length : n_fft; }
};

/// x (T), real, any dtype/device → complex (n_fft/2 + 1) × N.
torch::Tensor stft(const torch::Tensor& x, const StftOptions& options = {});

/// Inverse of stft(): complex (n_fft/2 + 1) × N → real signal of `length` samples.
torch::Tensor istft(const torch::Tensor& spectrum, const StftOptions& options, int64_t length);

torch::Tensor magnitude(const torch::Tensor& spectrum);  // |X|
torch::Tensor power(const torch::Tensor& spectrum);      // |X|² (computed as re² + im², no sqrt)

/// Frequency in Hz of each of the n_fft/2 + 1 bins (float64, CPU).
torch::Tensor stft_frequencies(int64_t n_fft, double sample_rate);

}  // namespace factorch::signal
