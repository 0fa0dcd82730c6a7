// SpectralKernel: the Dirichlet kernel of the rectangular window in closed form, and the
// periodogram of a stationary sinusoid between two bins seen through the sine window.
#include <gtest/gtest.h>

#include <cmath>

#include "factorch/signal/spectral_kernel.h"
#include "factorch/signal/stft.h"

using namespace factorch;

TEST(SpectralKernel, RectangularWindowIsTheDirichletKernel) {
  const int64_t N = 16;
  const double fs = 1000.0;
  const signal::SpectralKernel k("rectangular", N, fs, 32);
  // |Ŵ(δ)|² = (sin(πδN/fs) / sin(πδ/fs))², normalised over one period (Σ over P = 32N points
  // of |Ŵ|² = P·Σw² = P·N by Parseval).
  auto dirichlet = [&](double d) {
    const double a = M_PI * d / fs;
    const double v = std::abs(std::sin(a)) < 1e-15 ? double(N) : std::sin(N * a) / std::sin(a);
    return v * v / (32.0 * N * N);
  };
  for (const double d : {0.0, 1000.0 / 512 * 7, 62.5, -250.0, 1000.0 - 62.5}) {
    EXPECT_NEAR(k.at(torch::tensor({d}, torch::kFloat64)).item<double>(), dirichlet(d), 1e-12) << d;  // on the table grid
  }
  // Between table points: linear interpolation, within 0.5 % of the peak (measured 0.05 %).
  for (const double d : {1.0, 10.3, 31.7, 77.7}) {
    EXPECT_NEAR(k.at(torch::tensor({d}, torch::kFloat64)).item<double>(), dirichlet(d), 5e-3 * dirichlet(0)) << d;
  }
  // Periodic in fs, even in δ.
  EXPECT_NEAR(k.at(torch::tensor({13.0 + fs}, torch::kFloat64)).item<double>(),
              k.at(torch::tensor({-13.0}, torch::kFloat64)).item<double>(), 1e-12);
}

TEST(SpectralKernel, PredictsThePeriodogramOfASinusoid) {
  // A cosine at ν0 between bins: its STFT power in every frame is A²/4·|Ŵ(f − ν0)|² + the
  // mirror term (and a small cross term), so each column of |X|² is proportional to
  // K(f, ν0) — at every DFT size, which is what lets one density describe all resolutions.
  const double fs = 8000.0, nu0 = 1234.5;
  const torch::Tensor x = torch::cos(2 * M_PI * nu0 / fs * torch::arange(16000, torch::kFloat64));
  for (const int64_t n : {256, 1024}) {
    signal::StftOptions o;
    o.n_fft = n;
    o.hop = n / 2;
    o.window = "sine";
    const torch::Tensor P = signal::power(signal::stft(x, o)).slice(1, 2, -2).mean(1);  // frames away from the edges
    const torch::Tensor f = signal::stft_frequencies(n, fs);
    const torch::Tensor K = signal::SpectralKernel("sine", n, fs).matrix(f, torch::tensor({nu0}, torch::kFloat64)).squeeze(1);
    const torch::Tensor a = P / P.max(), b = K / K.max();
    // Linear interpolation of the table (32 points per bin) is within 8e-4 of the peak.
    EXPECT_LT((a - b).abs().max().item<double>(), 3e-3) << n;
    // Peak width follows the window: the bins above half maximum span ~the main lobe.
    EXPECT_EQ((a > 0.5).sum().item<int64_t>(), (b > 0.5).sum().item<int64_t>()) << n;
  }
}
