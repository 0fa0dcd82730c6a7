#include "factorch/signal/window.h"

#include <cmath>

#include "factorch/error.h"

namespace factorch::signal {

namespace {

void require_length(int64_t M) {
  require(M >= 1, "window length must be positive (got " + std::to_string(M) + ")");
}

torch::Tensor sample_index(int64_t M) { return torch::arange(M, torch::kFloat64); }

}  // namespace

torch::Tensor hann_window(int64_t M, const torch::TensorOptions& options) {
  require_length(M);
  const auto m = sample_index(M);
  return (0.5 - 0.5 * torch::cos((2.0 * M_PI / M) * m)).to(options);
}

torch::Tensor sine_bell_window(int64_t M, const torch::TensorOptions& options) {
  require_length(M);
  return torch::sin((M_PI / M) * (sample_index(M) + 0.5)).to(options);
}

torch::Tensor tukey_window(int64_t M, double alpha, const torch::TensorOptions& options) {
  require_length(M);
  require(alpha >= 0.0 && alpha <= 1.0, "tukey window: alpha must lie in [0, 1] (got " + std::to_string(alpha) + ")");
  if (M == 1 || alpha == 0.0) return torch::ones({M}, options);
  const auto n = sample_index(M);
  if (alpha == 1.0) return (0.5 - 0.5 * torch::cos((2.0 * M_PI / (M - 1)) * n)).to(options);
  // Same piecewise definition and breakpoints as scipy.signal.windows.tukey(M, alpha, sym=True).
  const auto width = static_cast<int64_t>(std::floor(alpha * (M - 1) / 2.0));
  auto w = torch::ones({M}, torch::kFloat64);
  const auto rise = n.slice(0, 0, width + 1);
  w.slice(0, 0, width + 1).copy_(0.5 * (1.0 + torch::cos(M_PI * (-1.0 + 2.0 * rise / alpha / (M - 1)))));
  const auto fall = n.slice(0, M - width - 1, M);
  w.slice(0, M - width - 1, M)
      .copy_(0.5 * (1.0 + torch::cos(M_PI * (-2.0 / alpha + 1.0 + 2.0 * fall / alpha / (M - 1)))));
  return w.to(options);
}

torch::Tensor rectangular_window(int64_t M, const torch::TensorOptions& options) {
  require_length(M);
  return torch::ones({M}, options);
}

torch::Tensor window_from_name(const std::string& name, int64_t M, double alpha, const torch::TensorOptions& options) {
  if (name == "hann") return hann_window(M, options);
  if (name == "sine" || name == "sine_bell" || name == "sinebell") return sine_bell_window(M, options);
  if (name == "tukey") return tukey_window(M, alpha, options);
  if (name == "rectangular" || name == "rect" || name == "boxcar") return rectangular_window(M, options);
  throw Error("unknown window '" + name + "' (expected hann, sine_bell, tukey or rectangular)");
}

}  // namespace factorch::signal
