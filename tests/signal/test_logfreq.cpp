#include <gtest/gtest.h>

#include <cmath>

#include "factorch/error.h"
#include "factorch/signal/logfreq.h"

namespace fs = factorch::signal;

TEST(Cqt, GeometricBins) {
  fs::ConstantQOptions o;
  o.f_min = 100;
  o.f_max = 3200;
  o.bins_per_octave = 12;
  const auto f = fs::constant_q_frequencies(16000, o);
  ASSERT_EQ(f.size(0), 61);  // 5 octaves, both ends included
  EXPECT_NEAR(f[-1].item<double>(), 3200, 1e-9);
  const auto ratios = f.slice(0, 1) / f.slice(0, 0, -1);
  EXPECT_LT((ratios - std::pow(2.0, 1 / 12.0)).abs().max().item<double>(), 1e-12);
  o.f_max = 9000;
  EXPECT_THROW(fs::constant_q_frequencies(16000, o), factorch::Error);  // above Nyquist
}

TEST(Cqt, ToneAtBinCentre) {
  fs::ConstantQOptions o;
  o.f_min = 110;
  o.f_max = 4000;
  o.bins_per_octave = 24;
  o.hop = 128;
  const double rate = 16000;
  const auto freqs = fs::constant_q_frequencies(rate, o);
  const int64_t target = 40;
  const double f0 = freqs[target].item<double>();
  const auto t = torch::arange(16000, torch::kFloat64);
  const auto x = 0.8 * torch::cos((2 * M_PI * f0 / rate) * t + 1.0);
  const auto cq = fs::constant_q(x, rate, o);
  ASSERT_EQ(cq.coefficients.size(0), freqs.size(0));
  ASSERT_EQ(cq.coefficients.size(1), (16000 - 1) / 128 + 1);
  ASSERT_EQ(cq.times.size(0), cq.coefficients.size(1));
  const auto mag = cq.magnitude();
  const auto mid = mag.select(1, mag.size(1) / 2);
  EXPECT_EQ(mid.argmax().item<int64_t>(), target);
  EXPECT_NEAR(mid[target].item<double>(), 0.4, 1e-3);  // A/2 with window-sum normalisation
  // One octave away the response is small.
  EXPECT_LT(mid[target - 24].item<double>(), 0.01);
  EXPECT_NEAR(cq.times[1].item<double>(), 128 / rate, 1e-15);
}

TEST(Cqt, TimeFrequencySamples) {
  const auto values = torch::arange(6, torch::kFloat64).view({2, 3});
  const auto freqs = torch::tensor({100.0, 200.0}, torch::kFloat64);
  const auto times = torch::tensor({0.0, 0.5, 1.0}, torch::kFloat64);
  const auto s = fs::time_frequency_samples(values, freqs, times);
  ASSERT_EQ(s.sizes(), (torch::IntArrayRef{6, 3}));
  EXPECT_EQ(s[4][0].item<double>(), 0.5);
  EXPECT_EQ(s[4][1].item<double>(), 200.0);
  EXPECT_EQ(s[4][2].item<double>(), 4.0);
  EXPECT_THROW(fs::time_frequency_samples(values, times, freqs), factorch::Error);
}

TEST(Cqt, KernelLongerThanSignal) {
  fs::ConstantQOptions o;  // f_min 55 Hz: ~4.9k-sample kernel at 16 kHz
  EXPECT_THROW(fs::constant_q(torch::randn({1000}, torch::kFloat64), 16000, o), factorch::Error);
}
