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
