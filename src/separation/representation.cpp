#include "factorch/separation/representation.h"

#include <torch/fft.h>

#include "factorch/error.h"
#include "factorch/signal/dct.h"
#include "factorch/signal/frames.h"
#include "factorch/signal/window.h"

namespace factorch::separation {

Representation::Representation(const RepresentationOptions& options) : options_(options) {
  const signal::StftOptions& s = options_.stft;
  if (options_.kind == TransformKind::Dct)
    require(s.frame_length() == s.n_fft, "the DCT needs win_length = n_fft (frames are not zero-padded)");
  require(options_.exponent > 0, "the representation's exponent must be > 0, not " + std::to_string(options_.exponent));
  M_ = options_.kind == TransformKind::Dct ? s.n_fft : s.frame_length();
  left_ = -signal::frame_offset(M_, s.hop, s.padding);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  window_ = signal::window_from_name(s.window, M_, s.tukey_alpha, f64);
  if (options_.kind == TransformKind::Dct) dct_ = signal::dct2_matrix(M_, f64);
}

torch::Tensor Representation::analyse(const torch::Tensor& x) const { return analyse(x, options_.stft.padding); }

torch::Tensor Representation::analyse_unpadded(const torch::Tensor& segment) const {
  return analyse(segment, signal::FramePadding::None);
}

torch::Tensor Representation::analyse(const torch::Tensor& x, signal::FramePadding padding) const {
  const signal::StftOptions& s = options_.stft;
  if (options_.kind == TransformKind::Dct) {
    const int64_t M = s.n_fft;
    const torch::Tensor w = signal::window_from_name(s.window, M, s.tukey_alpha, x.options());
    return torch::mm(signal::dct2_matrix(M, x.options()), signal::frame_signal(x, M, s.hop, w, padding));
  }
  signal::StftOptions o = s;
  o.padding = padding;
  return signal::stft(x, o);
}

torch::Tensor Representation::nonnegative(const torch::Tensor& coefficients) const {
  const bool dct = options_.kind == TransformKind::Dct;
  if (options_.exponent == 2) return dct ? coefficients.square() : signal::power(coefficients);
  const torch::Tensor m = dct ? coefficients.abs() : signal::magnitude(coefficients);
  return options_.exponent == 1 ? m : m.pow(options_.exponent);
}

torch::Tensor Representation::synthesise(const torch::Tensor& coefficients, int64_t length) const {
  const signal::StftOptions& s = options_.stft;
  if (options_.kind == TransformKind::Dct) {
    const int64_t M = s.n_fft;
    const torch::Tensor w = signal::window_from_name(s.window, M, s.tukey_alpha, coefficients.options());
    const torch::Tensor frames = torch::mm(signal::dct2_matrix(M, coefficients.options()).t(), coefficients);
    return signal::overlap_add(frames, s.hop, w, length);
  }
  return signal::istft(coefficients, s, length);
}

int64_t Representation::frame_count(int64_t samples) const {
  return signal::frame_count(samples, M_, hop(), options_.stft.padding);
}

torch::Tensor Representation::analyse_frames(const torch::Tensor& segment) const {
  const auto frames = segment.unfold(0, M_, hop()).t() * window_.unsqueeze(1);
  return options_.kind == TransformKind::Dct ? torch::mm(dct_, frames)
                                             : torch::fft::rfft(frames, options_.stft.n_fft, 0);
}

torch::Tensor Representation::frames_of(const torch::Tensor& coefficients) const {
  if (options_.kind == TransformKind::Dct) return torch::mm(dct_.t(), coefficients);
  return torch::fft::irfft(coefficients, options_.stft.n_fft, 0).slice(0, 0, M_);
}

}  // namespace factorch::separation
