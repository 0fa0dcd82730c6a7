#include <gtest/gtest.h>

#include "factorch/error.h"
#include "factorch/signal/frames.h"
#include "factorch/signal/window.h"

namespace fs = factorch::signal;

namespace {

double reconstruction_error(const torch::Tensor& x, const torch::Tensor& w, int64_t hop,
                            fs::FramePadding padding = fs::FramePadding::Zero) {
  const auto Y = fs::frame_signal(x, w.size(0), hop, w, padding);
  const auto y = fs::overlap_add(Y, hop, w, x.size(0), padding);
  return (y - x).abs().max().item<double>();
}

}  // namespace

TEST(Frames, MatchesTlnmfDefinition) {
  // y_n(m) = x(m + n·hop − (M − hop))·w(m), zero outside the signal; at hop = M/2 this is
  // y(m + nM/2 − M)a(m) with 1-based n of the TL-NMF papers.
  torch::manual_seed(0);
  const int64_t T = 1003, M = 64, hop = 16;
  const auto x = torch::randn({T}, torch::kFloat64);
  const auto w = fs::tukey_window(M, 0.3);
  const auto Y = fs::frame_signal(x, M, hop, w);
  const int64_t N = fs::frame_count(T, M, hop);
  ASSERT_EQ(Y.sizes(), (torch::IntArrayRef{M, N}));
  const auto xa = x.accessor<double, 1>();
  const auto wa = w.accessor<double, 1>();
  const auto Ya = Y.accessor<double, 2>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      const int64_t t = m + n * hop - (M - hop);
      const double expected = (t >= 0 && t < T) ? xa[t] * wa[m] : 0.0;
      ASSERT_EQ(Ya[m][n], expected) << m << "," << n;
    }
  // The last frame starts at or before the last sample, the next one would not.
  EXPECT_LE((N - 1) * hop - (M - hop), T - 1);
  EXPECT_GT(N * hop - (M - hop), T - 1);
}

TEST(Frames, PaperGeometry) {
  // T = 15000, M = 200, hop 100: 151 frames (2·ceil(T/M) + 1 in the TL-NMF code).
  EXPECT_EQ(fs::frame_count(15000, 200, 100), 151);
  EXPECT_EQ(fs::frame_count(1000, 100, 50, fs::FramePadding::None), 19);
}

TEST(Frames, PerfectReconstruction) {
  torch::manual_seed(1);
  const auto x = torch::randn({4099}, torch::kFloat64);
  EXPECT_LT(reconstruction_error(x, fs::sine_bell_window(256), 128), 1e-10);
  EXPECT_LT(reconstruction_error(x, fs::hann_window(256), 128), 1e-10);
  EXPECT_LT(reconstruction_error(x, fs::hann_window(256), 64), 1e-10);
  EXPECT_LT(reconstruction_error(x, fs::rectangular_window(256), 256), 1e-10);
  EXPECT_LT(reconstruction_error(x, fs::tukey_window(200, 0.1), 100), 1e-10);
  EXPECT_LT(reconstruction_error(x, fs::tukey_window(200, 0.5), 50), 1e-10);
  EXPECT_LT(reconstruction_error(x, fs::sine_bell_window(100), 37), 1e-10);  // any hop with Σw² > 0
}

TEST(Frames, NoPaddingKeepsCoveredPart) {
  torch::manual_seed(2);
  const int64_t T = 1000, M = 128, hop = 64;
  const auto x = torch::randn({T}, torch::kFloat64);
  const auto w = fs::sine_bell_window(M);
  const auto Y = fs::frame_signal(x, M, hop, w, fs::FramePadding::None);
  const auto y = fs::overlap_add(Y, hop, w, T, fs::FramePadding::None);
  const int64_t covered = (Y.size(1) - 1) * hop + M;
  EXPECT_LT((y - x).slice(0, 0, covered).abs().max().item<double>(), 1e-10);
  EXPECT_EQ(y.slice(0, covered).abs().max().item<double>(), 0.0);  // never seen by a frame
}

TEST(Frames, UncoveredSamplesAreZeroNotNan) {
  // Hann at hop M leaves the samples under w = 0 unseen: the guard outputs 0 there.
  const auto x = torch::ones({512}, torch::kFloat64);
  const auto w = fs::hann_window(64);
  const auto y = fs::overlap_add(fs::frame_signal(x, 64, 64, w), 64, w, 512);
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  EXPECT_EQ(y[0].item<double>(), 0.0);
  EXPECT_NEAR(y[1].item<double>(), 1.0, 1e-12);
}

TEST(Frames, KeepsDtypeAndRejectsBadInput) {
  const auto x = torch::randn({300}, torch::kFloat32);
  const auto w = fs::sine_bell_window(64, torch::kFloat32);
  const auto Y = fs::frame_signal(x, 64, 32, w);
  EXPECT_EQ(Y.scalar_type(), torch::kFloat32);
  EXPECT_LT((fs::overlap_add(Y, 32, w, 300) - x).abs().max().item<float>(), 1e-5);
  EXPECT_THROW(fs::frame_signal(torch::zeros({50}, torch::kFloat64), 64, 32, fs::hann_window(64)), factorch::Error);
  EXPECT_THROW(fs::frame_signal(x, 64, 0, w), factorch::Error);
  EXPECT_THROW(fs::frame_signal(x, 64, 32, fs::hann_window(32)), factorch::Error);
  EXPECT_THROW(fs::frame_signal(torch::zeros({2, 300}), 64, 32, w), factorch::Error);
}

TEST(Frames, Times) {
  const auto t = fs::frame_times(3, 200, 100, 5000.0);
  EXPECT_NEAR(t[0].item<double>(), (-100 + 99.5) / 5000.0, 1e-15);
  EXPECT_NEAR(t[2].item<double>() - t[1].item<double>(), 100 / 5000.0, 1e-15);
}
