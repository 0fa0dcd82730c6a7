#pragma once
// Analysis/synthesis windows of length M. Computed in float64 and cast to `options`, so a
// float32 window is the rounded float64 one.
#include <torch/types.h>

#include <string>

namespace factorch::signal {

/// Periodic Hann, 0.5 − 0.5·cos(2πm/M): the STFT convention (COLA at hop M/2, M/4).
torch::Tensor hann_window(int64_t M, const torch::TensorOptions& options = torch::kFloat64);

/// Sine bell sin(π(m + ½)/M): its square sums to 1 at hop M/2 (MDCT/TL-NMF window).
torch::Tensor sine_bell_window(int64_t M, const torch::TensorOptions& options = torch::kFloat64);

/// Symmetric Tukey window with cosine fraction alpha ∈ [0, 1], as scipy.signal.windows.tukey
/// (alpha = 0: rectangular, alpha = 1: symmetric Hann).
torch::Tensor tukey_window(int64_t M, double alpha, const torch::TensorOptions& options = torch::kFloat64);

torch::Tensor rectangular_window(int64_t M, const torch::TensorOptions& options = torch::kFloat64);

/// "hann" | "sine" (alias "sine_bell", "sinebell") | "tukey" | "rectangular" (alias "rect",
/// "boxcar"); `alpha` is used by tukey only. Unknown name → factorch::Error.
torch::Tensor window_from_name(const std::string& name, int64_t M, double alpha = 0.5,
                               const torch::TensorOptions& options = torch::kFloat64);

}  // namespace factorch::signal
