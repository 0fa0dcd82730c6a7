#include "factorch/signal/logfreq.h"

#include <cmath>

#include "factorch/error.h"
#include "factorch/signal/window.h"

namespace factorch::signal {

namespace {

double quality_factor(const ConstantQOptions& o) { return o.q_scale / (std::pow(2.0, 1.0 / o.bins_per_octave) - 1.0); }

int64_t kernel_length(double f, double sample_rate, double Q) {
  return std::max<int64_t>(1, std::llround(Q * sample_rate / f));
}

}  // namespace

torch::Tensor constant_q_frequencies(double sample_rate, const ConstantQOptions& o) {
  require(sample_rate > 0, "constant_q: sample rate must be positive");
  require(o.bins_per_octave >= 1, "constant_q: bins_per_octave must be positive");
  require(o.q_scale > 0, "constant_q: q_scale must be positive");
  const double nyquist = sample_rate / 2.0;
  const double f_max = o.f_max > 0 ? o.f_max : nyquist;
  require(o.f_min > 0 && o.f_min <= f_max, "constant_q: need 0 < f_min <= f_max (got f_min = " +
                                               std::to_string(o.f_min) + " Hz, f_max = " + std::to_string(f_max) + " Hz)");
  require(f_max <= nyquist, "constant_q: f_max " + std::to_string(f_max) + " Hz exceeds the Nyquist frequency " +
                                std::to_string(nyquist) + " Hz");
  // The 1e-9 slack keeps a bin that lands exactly on f_max despite rounding in log2.
  const auto bins = static_cast<int64_t>(std::floor(o.bins_per_octave * std::log2(f_max / o.f_min) + 1e-9)) + 1;
  return o.f_min * torch::pow(2.0, torch::arange(bins, torch::kFloat64) / o.bins_per_octave);
}

ConstantQ constant_q(const torch::Tensor& x, double sample_rate, const ConstantQOptions& o) {
  require(x.defined() && x.dim() == 1 && x.is_floating_point(), "constant_q: expected a real 1-D signal");
  require(o.hop >= 1, "constant_q: hop must be positive");
  const auto frequencies = constant_q_frequencies(sample_rate, o);
  const double Q = quality_factor(o);
  const int64_t T = x.size(0);
  const int64_t longest = kernel_length(o.f_min, sample_rate, Q);
  require(longest <= T, "constant_q: the " + std::to_string(o.f_min) + " Hz kernel spans " + std::to_string(longest) +
                            " samples, more than the signal's " + std::to_string(T) + " (raise f_min)");

  const int64_t N = (T - 1) / o.hop + 1;  // frame centres 0, hop, …, ≤ T − 1
  const int64_t pad = longest / 2 + 1;
  auto padded = torch::zeros({T + 2 * pad}, x.options());
  padded.slice(0, pad, pad + T).copy_(x);
  const auto input = padded.view({1, 1, -1});

  const int64_t B = frequencies.size(0);
  auto coefficients = torch::empty({B, N}, x.options().dtype(c10::toComplexType(x.scalar_type())));
  const auto f = frequencies.accessor<double, 1>();
  // One strided correlation per bin (B ≈ 100 calls): each bin has its own kernel length,
  // and a common zero-padded length would cost up to bins_per_octave× more arithmetic.
  for (int64_t b = 0; b < B; ++b) {
    const int64_t L = kernel_length(f[b], sample_rate, Q);
    const auto w = window_from_name(o.window, L, 0.5, torch::kFloat64);
    const auto phase = (-2.0 * M_PI * f[b] / sample_rate) * (torch::arange(L, torch::kFloat64) - 0.5 * (L - 1));
    const auto scale = w / w.sum();
    const auto kernel = torch::stack({scale * torch::cos(phase), scale * torch::sin(phase)}).unsqueeze(1).to(x.options());
    const auto segment = input.slice(2, pad - L / 2, pad - L / 2 + (N - 1) * o.hop + L);
    const auto out = torch::conv1d(segment, kernel, {}, o.hop).squeeze(0);  // 2 × N: real, imag
    coefficients[b].copy_(torch::complex(out[0].slice(0, 0, N), out[1].slice(0, 0, N)));
  }
  const auto times = torch::arange(N, torch::kFloat64) * (static_cast<double>(o.hop) / sample_rate);
  return ConstantQ{coefficients, frequencies, times};
}

torch::Tensor time_frequency_samples(const torch::Tensor& values, const torch::Tensor& frequencies,
                                     const torch::Tensor& times) {
  require(values.defined() && values.dim() == 2 && frequencies.dim() == 1 && times.dim() == 1 &&
              values.size(0) == frequencies.size(0) && values.size(1) == times.size(0),
          "time_frequency_samples: values must be B × N with B frequencies and N times");
  const auto opts = values.options();
  const int64_t B = values.size(0), N = values.size(1);
  const auto t = times.to(opts).unsqueeze(0).expand({B, N});
  const auto f = frequencies.to(opts).unsqueeze(1).expand({B, N});
  return torch::stack({t, f, values}, /*dim=*/2).reshape({B * N, 3});
}

}  // namespace factorch::signal

