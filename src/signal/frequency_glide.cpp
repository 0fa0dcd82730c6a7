#include "factorch/signal/frequency_glide.h"

#include <torch/nn/functional.h>

#include <cmath>

#include "factorch/error.h"
#include "factorch/signal/window.h"

namespace factorch::signal {

double glide_rate(const torch::Tensor& magnitude, const torch::Tensor& frequencies, double hop_seconds,
                  const GlideEstimateOptions& o) {
  require(magnitude.dim() == 2, "glide_rate: the magnitude spectrogram must be F × N");
  require(frequencies.dim() == 1 && frequencies.size(0) == magnitude.size(0),
          "glide_rate: one frequency per row of the spectrogram");
  require(hop_seconds > 0, "glide_rate: the hop must be > 0 s");
  const int64_t F = magnitude.size(0), N = magnitude.size(1);
  if (N < 2 || F < 3) return 0.0;
  const torch::Tensor X = magnitude.to(torch::kFloat64).cpu();
  const torch::Tensor f = frequencies.to(torch::kFloat64).cpu();
  const double f0 = f[0].item<double>(), df = (f[F - 1].item<double>() - f0) / static_cast<double>(F - 1);
  const double hi = std::min(o.f_hi, 0.9 * f[F - 1].item<double>()), lo = std::max(o.f_lo, f0 + df);
  if (!(hi > lo * (1 + 10 * o.log_step)) || !(df > 0)) return 0.0;

  // Magnitude on a log-frequency grid (linear interpolation between bins): L × N.
  const torch::Tensor g = torch::arange(std::log(lo), std::log(hi), o.log_step, torch::kFloat64).exp();
  const torch::Tensor pos = (g - f0) / df;
  const torch::Tensor i0 = pos.floor().to(torch::kLong).clamp(0, F - 2);
  const torch::Tensor frac = (pos - i0.to(torch::kFloat64)).unsqueeze(1);
  const torch::Tensor a0 = X.index_select(0, i0), a1 = X.index_select(0, i0 + 1);
  const torch::Tensor L = a0 + frac * (a1 - a0);

  // Lines: the magnitude above its local mean over ±5 % of frequency.
  const int64_t w = std::max<int64_t>(1, static_cast<int64_t>(0.05 / o.log_step));
  namespace Fn = torch::nn::functional;
  const torch::Tensor box = torch::full({1, 1, 2 * w + 1}, 1.0 / static_cast<double>(2 * w + 1), torch::kFloat64);
  const torch::Tensor mean = Fn::conv1d(L.t().unsqueeze(1), box, Fn::Conv1dFuncOptions().padding(w)).squeeze(1).t();
  const torch::Tensor S = (L - mean).clamp_min(0.0);  // L × N
  const int64_t n_g = S.size(0);

  // Cross-correlation of each frame with the next at lags −m…m of the log grid.
  const int64_t m = std::min<int64_t>(static_cast<int64_t>(o.max_relative / o.log_step), n_g / 4);
  if (m < 1) return 0.0;
  const torch::Tensor A = S.slice(1, 0, N - 1), B = S.slice(1, 1, N);
  const torch::Tensor norm_a = A.norm(2, 0), norm_b = B.norm(2, 0);
  std::vector<torch::Tensor> lags;
  for (int64_t k = -m; k <= m; ++k) {
    const int64_t a_lo = std::max<int64_t>(0, -k), b_lo = std::max<int64_t>(0, k), len = n_g - std::abs(k);
    lags.push_back((A.narrow(0, a_lo, len) * B.narrow(0, b_lo, len)).sum(0));
  }
  const torch::Tensor C = torch::stack(lags) / (norm_a * norm_b).clamp_min(1e-300);  // (2m+1) × (N−1)
  const torch::Tensor best = std::get<1>(C.max(0));
  double num = 0, den = 0;
  const auto c = C.accessor<double, 2>();
  const auto kb = best.accessor<int64_t, 1>();
  const auto na = norm_a.accessor<double, 1>(), nb = norm_b.accessor<double, 1>();
  for (int64_t t = 0; t + 1 < N; ++t) {
    const int64_t k = kb[t];
    const double peak = c[k][t];
    if (!(na[t] > 0 && nb[t] > 0) || !(peak >= o.min_correlation)) continue;
    double shift = static_cast<double>(k - m);
    if (k > 0 && k < 2 * m) {  // parabolic refinement between lags
      const double y0 = c[k - 1][t], y2 = c[k + 1][t], curv = y0 - 2 * peak + y2;
      if (curv < 0) shift += 0.5 * (y0 - y2) / curv;
    }
    const double rate = shift * o.log_step / hop_seconds;
    const double weight = std::min(na[t], nb[t]) * peak;
    num += weight * rate * rate;
    den += weight;
  }
  return den > 0 ? std::sqrt(num / den) : 0.0;
}

double window_rms_duration(const std::string& window, int64_t n, double sample_rate) {
  require(n >= 1 && sample_rate > 0, "window_rms_duration: n >= 1 and a positive sample rate");
  const torch::Tensor e = window_from_name(window, n).to(torch::kFloat64).pow(2);
  const torch::Tensor t = torch::arange(n, torch::kFloat64) / sample_rate;
  const torch::Tensor p = e / e.sum();
  const torch::Tensor mean = (p * t).sum();
  return std::sqrt((p * (t - mean).pow(2)).sum().item<double>());
}

torch::Tensor glide_spread(const torch::Tensor& nu, double relative_std) {
  require(nu.dim() == 1 && nu.size(0) >= 2, "glide_spread: a grid of at least 2 frequencies");
  require(relative_std >= 0, "glide_spread: the relative std must be >= 0");
  const torch::Tensor v = nu.to(torch::kFloat64).cpu();
  const int64_t G = v.size(0);
  const double step = (v[G - 1].item<double>() - v[0].item<double>()) / static_cast<double>(G - 1);
  const torch::Tensor sigma = relative_std * v;  // per column
  const torch::Tensor sharp = sigma < 0.1 * step;
  const torch::Tensor z = (v.unsqueeze(1) - v.unsqueeze(0)) / sigma.clamp_min(0.1 * step).unsqueeze(0);
  torch::Tensor S = (-0.5 * z * z).exp();
  S = torch::where(sharp.unsqueeze(0), torch::eye(G, torch::kFloat64), S);
  return S / S.sum(0, /*keepdim=*/true);
}

}  // namespace factorch::signal
