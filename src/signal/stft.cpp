#include "factorch/signal/stft.h"

#include <torch/fft.h>

#include "factorch/error.h"
#include "factorch/signal/window.h"

namespace factorch::signal {

namespace {

void require_options(const StftOptions& o) {
  require(o.n_fft >= 1, "stft: n_fft must be positive (got " + std::to_string(o.n_fft) + ")");
  require(o.win_length >= 0 && o.win_length <= o.n_fft, "stft: win_length " + std::to_string(o.win_length) +
                                                             " must lie in [1, n_fft " + std::to_string(o.n_fft) + "]");
}

torch::Tensor real_dtype_window(const StftOptions& o, const torch::Tensor& like) {
  const auto dtype = like.is_complex() ? c10::toRealValueType(like.scalar_type()) : like.scalar_type();
  return window_from_name(o.window, o.frame_length(), o.tukey_alpha, like.options().dtype(dtype));
}

}  // namespace

torch::Tensor stft(const torch::Tensor& x, const StftOptions& options) {
  require_options(options);
  require(x.defined() && x.dim() == 1 && !x.is_complex(), "stft: expected a real 1-D signal");
  require(x.is_floating_point(), "stft: expected a floating-point signal");
  const auto window = real_dtype_window(options, x);
  const auto frames = frame_signal(x, options.frame_length(), options.hop, window, options.padding);
  return torch::fft::rfft(frames, options.n_fft, /*dim=*/0);
}

torch::Tensor istft(const torch::Tensor& spectrum, const StftOptions& options, int64_t length) {
  require_options(options);
  require(spectrum.defined() && spectrum.dim() == 2 && spectrum.size(0) == options.n_fft / 2 + 1,
          "istft: expected a (n_fft/2 + 1) × N spectrum with n_fft = " + std::to_string(options.n_fft));
  const auto frames = torch::fft::irfft(spectrum, options.n_fft, /*dim=*/0).slice(0, 0, options.frame_length());
  return overlap_add(frames, options.hop, real_dtype_window(options, frames), length, options.padding);
}

torch::Tensor magnitude(const torch::Tensor& spectrum) { return spectrum.abs(); }

torch::Tensor power(const torch::Tensor& spectrum) {
  if (!spectrum.is_complex()) return spectrum * spectrum;
  return torch::real(spectrum).square() + torch::imag(spectrum).square();
}

torch::Tensor stft_frequencies(int64_t n_fft, double sample_rate) {
  require(n_fft >= 1 && sample_rate > 0, "stft_frequencies: n_fft and sample rate must be positive");
  return torch::arange(n_fft / 2 + 1, torch::kFloat64) * (sample_rate / n_fft);
}

}  // namespace factorch::signal
