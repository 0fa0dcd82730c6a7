#include <gtest/gtest.h>

#include "factorch/error.h"
#include "factorch/eval/bss.h"
#include "factorch/signal/dct.h"
#include "factorch/signal/frames.h"
#include "factorch/signal/stft.h"
#include "factorch/signal/synthetic.h"
#include "factorch/signal/wiener.h"
#include "factorch/signal/window.h"

namespace fs = factorch::signal;

TEST(Wiener, MasksSumToOne) {
  torch::manual_seed(5);
  const auto p1 = torch::rand({33, 20}, torch::kFloat64);
  auto p2 = torch::rand({33, 20}, torch::kFloat64);
  p2[0].zero_();
  const auto p3 = torch::zeros({33, 20}, torch::kFloat64);  // a silent source
  const auto masks = fs::wiener_masks({p1, p2, p3});
  ASSERT_EQ(masks.size(), 3u);
  EXPECT_LT(((masks[0] + masks[1] + masks[2]) - 1).abs().max().item<double>(), 1e-15);
  for (const auto& m : masks) EXPECT_TRUE(((m >= 0) & (m <= 1)).all().item<bool>());
  EXPECT_NEAR(masks[0][5][5].item<double>(), (p1[5][5] / (p1[5][5] + p2[5][5])).item<double>(), 1e-10);
  // Silent everywhere: equal shares even with eps = 0.
  const auto z = fs::wiener_masks({p3, p3}, 0.0);
  EXPECT_TRUE(torch::allclose(z[0], torch::full_like(p3, 0.5)));
}

TEST(Wiener, PartsAddUpForComplexAndReal) {
  torch::manual_seed(6);
  const auto x = torch::randn({4000}, torch::kFloat64);
  const auto X = fs::stft(x, {});
  const auto masks = fs::wiener_masks({torch::rand(X.sizes(), torch::kFloat64), torch::rand(X.sizes(), torch::kFloat64)});
  const auto parts = fs::apply_masks(X, masks);
  EXPECT_TRUE(parts[0].is_complex());
  EXPECT_LT((parts[0] + parts[1] - X).abs().max().item<double>(), 1e-12);
  const auto C = fs::dct2_matrix(64).matmul(fs::frame_signal(x, 64, 32, fs::sine_bell_window(64)));
  const auto real_parts = fs::apply_masks(C, fs::wiener_masks({C.square(), torch::ones_like(C)}));
  EXPECT_FALSE(real_parts[0].is_complex());
  EXPECT_LT((real_parts[0] + real_parts[1] - C).abs().max().item<double>(), 1e-12);
}

TEST(Wiener, BadInput) {
  const auto p = torch::ones({4, 5}, torch::kFloat64);
  EXPECT_THROW(fs::wiener_masks({}), factorch::Error);
  EXPECT_THROW(fs::wiener_masks({p, -p}), factorch::Error);
  EXPECT_THROW(fs::wiener_masks({p, torch::ones({3, 5}, torch::kFloat64)}), factorch::Error);
  EXPECT_THROW(fs::apply_masks(torch::ones({4, 6}, torch::kFloat64), {p}), factorch::Error);
}

TEST(Wiener, OracleSeparationOfTwoHarmonicSources) {
  // Oracle (true-source) power masks on the STFT of a two-note mixture: the pipeline
  // stft → mask → istft → BSS eval must give clearly positive SDR on both sources.
  fs::HarmonicMixtureOptions o;
  o.frequencies = {220.0, 330.0};
  o.sample_rate = 8000;
  o.length = 16000;
  o.harmonics = 4;
  o.seed = 3;
  const auto mix = fs::harmonic_mixture(o);
  fs::StftOptions so;
  so.n_fft = 512;
  so.hop = 128;
  const auto X = fs::stft(mix.mixture, so);
  const auto masks = fs::wiener_masks({fs::power(fs::stft(mix.sources[0], so)), fs::power(fs::stft(mix.sources[1], so))});
  const auto parts = fs::apply_masks(X, masks);
  const auto estimates = torch::stack({fs::istft(parts[0], so, o.length), fs::istft(parts[1], so, o.length)});
  EXPECT_LT((estimates.sum(0) - mix.mixture).abs().max().item<double>(), 1e-10);
  const auto r = factorch::eval::bss_eval_sources(mix.sources, estimates);
  EXPECT_EQ(r.permutation, (std::vector<int64_t>{0, 1}));
  EXPECT_GT(r.sdr.min().item<double>(), 15.0) << r.sdr;
}

TEST(Wiener, InstantaneousImagesClosedFormAndSumToTheMixture) {
  // Two sources of constant power 2 and 1 and mixing powers Q = [[0.8, 0.2], [0.3, 0.7]]:
  // source 1 holds 0.8·2 / (0.8·2 + 0.2·1) = 8/9 of channel 0 and 0.3·2 / (0.3·2 + 0.7·1) =
  // 6/13 of channel 1, source 2 the rest.
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  torch::manual_seed(7);
  const auto X = torch::complex(torch::randn({2, 5, 4}, f64), torch::randn({2, 5, 4}, f64));
  const std::vector<torch::Tensor> S{torch::full({5, 4}, 2.0, f64), torch::full({5, 4}, 1.0, f64)};
  const auto Q = torch::tensor({0.8, 0.2, 0.3, 0.7}, f64).reshape({2, 2});
  const auto images = fs::instantaneous_images(X, S, Q);
  ASSERT_EQ(images.size(), 2u);
  ASSERT_EQ(images[0].sizes(), X.sizes());
  EXPECT_LT((images[0][0] - X[0] * (8.0 / 9)).abs().max().item<double>(), 1e-15);
  EXPECT_LT((images[0][1] - X[1] * (6.0 / 13)).abs().max().item<double>(), 1e-15);
  EXPECT_LT((images[1][0] - X[0] * (1.0 / 9)).abs().max().item<double>(), 1e-15);
  EXPECT_LT((images[1][1] - X[1] * (7.0 / 13)).abs().max().item<double>(), 1e-15);
  // Any powers: the images of every channel add up to the mixture's coefficients.
  const std::vector<torch::Tensor> R{torch::rand({5, 4}, f64), torch::rand({5, 4}, f64), torch::rand({5, 4}, f64)};
  const auto three = fs::instantaneous_images(X, R, torch::rand({2, 3}, f64) + 0.1);
  EXPECT_LT((three[0] + three[1] + three[2] - X).abs().max().item<double>(), 1e-14);
  // Shapes that do not agree.
  EXPECT_THROW(fs::instantaneous_images(X, S, torch::ones({3, 2}, f64)), factorch::Error);
  EXPECT_THROW(fs::instantaneous_images(X, {S[0], torch::ones({4, 4}, f64)}, Q), factorch::Error);
  EXPECT_THROW(fs::instantaneous_images(X[0], S, Q), factorch::Error);
  EXPECT_THROW(fs::instantaneous_images(X, {}, Q), factorch::Error);
}
