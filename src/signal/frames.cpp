#include "factorch/signal/frames.h"

#include <torch/nn/functional/fold.h>

#include "factorch/error.h"

namespace factorch::signal {

namespace {

void require_geometry(int64_t M, int64_t hop) {
  require(M >= 1, "frame length must be positive (got " + std::to_string(M) + ")");
  require(hop >= 1 && hop <= M,
          "hop must lie in [1, frame length " + std::to_string(M) + "] (got " + std::to_string(hop) + ")");
}

void require_window(const torch::Tensor& window, int64_t M) {
  require(window.defined() && window.dim() == 1 && window.size(0) == M,
          "window must be a 1-D tensor of the frame length " + std::to_string(M));
}

// Overlap-adds the columns of an M × N matrix at stride `hop` into a signal of
// (N − 1)·hop + M samples; col2im (fold) does it in one vectorised pass.
torch::Tensor fold_columns(const torch::Tensor& columns, int64_t hop) {
  namespace F = torch::nn::functional;
  const int64_t M = columns.size(0), N = columns.size(1);
  const int64_t total = (N - 1) * hop + M;
  return F::fold(columns.unsqueeze(0), F::FoldFuncOptions({1, total}, {1, M}).stride({1, hop})).reshape({total});
}

}  // namespace

int64_t frame_offset(int64_t M, int64_t hop, FramePadding padding) {
  require_geometry(M, hop);
  return padding == FramePadding::Zero ? -(M - hop) : 0;
}

int64_t frame_count(int64_t T, int64_t M, int64_t hop, FramePadding padding) {
  require_geometry(M, hop);
  require(M <= T, "window length " + std::to_string(M) + " exceeds the signal length " + std::to_string(T));
  // Zero padding: every frame start s_n = n·hop − (M − hop) up to the last one ≤ T − 1.
  if (padding == FramePadding::Zero) return (T - 1 + M - hop) / hop + 1;
  return (T - M) / hop + 1;
}

torch::Tensor frame_signal(const torch::Tensor& x, int64_t M, int64_t hop, const torch::Tensor& window,
                           FramePadding padding) {
  require(x.defined() && x.dim() == 1, "frame_signal: expected a 1-D signal");
  const int64_t T = x.size(0);
  const int64_t N = frame_count(T, M, hop, padding);
  require_window(window, M);
  const int64_t left = -frame_offset(M, hop, padding);
  const int64_t needed = (N - 1) * hop + M;  // padded length covered by the frames
  auto padded = x;
  if (left > 0 || needed > T + left) {
    padded = torch::zeros({std::max(needed, T + left)}, x.options());
    padded.slice(0, left, left + T).copy_(x);
  }
  // unfold gives an N × M strided view; the window product materialises M × N.
  return padded.slice(0, 0, needed).unfold(0, M, hop).t() * window.to(x.options()).unsqueeze(1);
}

torch::Tensor overlap_add(const torch::Tensor& frames, int64_t hop, const torch::Tensor& window, int64_t length,
                          FramePadding padding) {
  require(frames.defined() && frames.dim() == 2, "overlap_add: expected an M × N frame matrix");
  const int64_t M = frames.size(0), N = frames.size(1);
  require(N >= 1, "overlap_add: no frames");
  require_window(window, M);
  require(length >= 1, "overlap_add: length must be positive");
  const int64_t left = -frame_offset(M, hop, padding);
  const auto w = window.to(frames.options()).unsqueeze(1);
  const auto numerator = fold_columns(frames * w, hop);
  const auto denominator = fold_columns((w * w).expand({M, N}).contiguous(), hop);
  // Where no frame sees a sample (Σw² ≈ 0, e.g. zero-valued window ends at hop = M) it
  // cannot be recovered: output 0 there rather than dividing by ~0.
  const double tiny = 1e-10 * (w * w).max().item<double>();
  const auto safe = torch::where(denominator > tiny, denominator, torch::ones_like(denominator));
  auto y = torch::where(denominator > tiny, numerator / safe, torch::zeros_like(numerator));
  const int64_t available = y.size(0) - left;
  if (available >= length) return y.slice(0, left, left + length);
  auto out = torch::zeros({length}, y.options());
  if (available > 0) out.slice(0, 0, available).copy_(y.slice(0, left));
  return out;
}

torch::Tensor frame_times(int64_t N, int64_t M, int64_t hop, double sample_rate, FramePadding padding) {
  require(sample_rate > 0, "frame_times: sample rate must be positive");
  const double first_centre = frame_offset(M, hop, padding) + 0.5 * (M - 1);
  return (first_centre + hop * torch::arange(N, torch::kFloat64)) / sample_rate;
}

}  // namespace factorch::signal
