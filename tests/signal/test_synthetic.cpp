#include <gtest/gtest.h>

#include <cmath>

#include "factorch/error.h"
#include "factorch/signal/synthetic.h"

namespace fs = factorch::signal;

TEST(Synth, PaperToyDefaults) {
  const auto toy = fs::harmonic_mixture();
  ASSERT_EQ(toy.sources.sizes(), (torch::IntArrayRef{2, 15000}));
  ASSERT_EQ(toy.mixture.size(0), 15000);
  EXPECT_EQ(toy.sample_rate, 5000.0);
  EXPECT_LT((toy.sources.sum(0) - toy.mixture).abs().max().item<double>(), 1e-15);
  // Envelopes: source 1 on in [0, 5000) ∪ [10000, 15000), source 2 on in [5000, 15000).
  EXPECT_EQ(toy.sources[0].slice(0, 5000, 10000).abs().max().item<double>(), 0.0);
  EXPECT_EQ(toy.sources[1].slice(0, 0, 5000).abs().max().item<double>(), 0.0);
  EXPECT_GT(toy.sources[0].slice(0, 0, 5000).abs().max().item<double>(), 0.5);
  EXPECT_GT(toy.sources[0].slice(0, 10000).abs().max().item<double>(), 0.5);
  EXPECT_GT(toy.sources[1].slice(0, 5000).abs().max().item<double>(), 0.5);
  // Closed form Σ_r 0.5^r cos(r(2π f t/fs + θ)) while on.
  const double freqs[2] = {440.0, 466.16};
  for (int k = 0; k < 2; ++k) {
    ASSERT_GE(toy.phases[k], 0.0);
    ASSERT_LT(toy.phases[k], 2 * M_PI);
    for (const int64_t t : {10000, 12345, 14999}) {
      const double phi = 2 * M_PI * freqs[k] * t / 5000.0 + toy.phases[k];
      EXPECT_NEAR(toy.sources[k][t].item<double>(), 0.5 * std::cos(phi) + 0.25 * std::cos(2 * phi), 1e-10);
    }
  }
}

TEST(Synth, ParametersHonoured) {
  fs::HarmonicMixtureOptions o;
  o.frequencies = {200.0, 300.0, 450.0};
  o.sample_rate = 4000;
  o.length = 2000;
  o.harmonics = 3;
  o.decay = 0.8;
  o.seed = 42;
  o.envelopes = {fs::Envelope{{{0, 1000}}, 100}, fs::Envelope{}, fs::Envelope{{{500, 2000}}, 0}};
  const auto a = fs::harmonic_mixture(o);
  const auto b = fs::harmonic_mixture(o);
  ASSERT_EQ(a.sources.size(0), 3);
  EXPECT_TRUE(torch::equal(a.mixture, b.mixture));  // same seed, same signal
  o.seed = 43;
  EXPECT_NE(fs::harmonic_mixture(o).phases[0], a.phases[0]);
  // Source 2 (always on), 3 harmonics with decay 0.8.
  const int64_t t = 777;
  const double phi = 2 * M_PI * 300.0 * t / 4000 + a.phases[1];
  EXPECT_NEAR(a.sources[1][t].item<double>(),
              0.8 * std::cos(phi) + 0.64 * std::cos(2 * phi) + 0.512 * std::cos(3 * phi), 1e-10);
  EXPECT_EQ(a.sources[2].slice(0, 0, 500).abs().max().item<double>(), 0.0);
  // Fade: raised-cosine ramp inside [0, 1000).
  const auto g = fs::envelope_signal(o.envelopes[0], 2000);
  EXPECT_NEAR(g[0].item<double>(), 0.5 - 0.5 * std::cos(M_PI * 0.5 / 100), 1e-15);
  EXPECT_EQ(g[500].item<double>(), 1.0);
  EXPECT_NEAR(g[999].item<double>(), g[0].item<double>(), 1e-15);
  EXPECT_EQ(g[1000].item<double>(), 0.0);
}

TEST(Synth, SlowlyVaryingPaperEnvelopes) {
  // SineRoot: g(start + n) = sin(π(n + ½)/L)^½ over each active interval of L samples.
  const fs::Envelope e{{{100, 1100}, {1500, 1600}}, 0, fs::EnvelopeShape::SineRoot};
  const auto g = fs::envelope_signal(e, 2000);
  EXPECT_NEAR(g[100].item<double>(), std::sqrt(std::sin(M_PI * 0.5 / 1000)), 1e-15);
  EXPECT_NEAR(g[100 + 250].item<double>(), std::sqrt(std::sin(M_PI * 250.5 / 1000)), 1e-15);
  EXPECT_NEAR(g[1549].item<double>(), std::sqrt(std::sin(M_PI * 49.5 / 100)), 1e-15);
  EXPECT_EQ(g.slice(0, 0, 100).abs().max().item<double>(), 0.0);
  EXPECT_EQ(g.slice(0, 1100, 1500).abs().max().item<double>(), 0.0);
  // Slowly varying at the toy's sizes (an interval of 5000 samples, frames of 200): across any
  // frame in the middle half of the interval g changes by < 0.06 (0.048 at the quarter points),
  // and no two neighbouring samples differ by more than g's first value (0.018; the abrupt
  // layout jumps from 0 to 1).
  const auto toy = fs::envelope_signal(fs::Envelope{{{0, 5000}}, 0, fs::EnvelopeShape::SineRoot}, 5000);
  const auto mid = toy.slice(0, 1250, 3750);
  EXPECT_LT((mid.slice(0, 200) - mid.slice(0, 0, -200)).abs().max().item<double>(), 0.06);
  EXPECT_LE((toy.slice(0, 1) - toy.slice(0, 0, -1)).abs().max().item<double>(), toy[0].item<double>());
  // The mixture option applies the shape to the paper's layout.
  fs::HarmonicMixtureOptions o;
  o.envelope_shape = fs::EnvelopeShape::SineRoot;
  const auto smooth = fs::harmonic_mixture(o), abrupt = fs::harmonic_mixture();
  const double g0 = std::sqrt(std::sin(M_PI * 2500.5 / 5000));  // mid first interval: 1 up to rounding
  EXPECT_NEAR(smooth.sources[0][2500].item<double>(), g0 * abrupt.sources[0][2500].item<double>(), 1e-15);
  const double g1 = std::sqrt(std::sin(M_PI * 0.5 / 10000));     // note 2's first sample
  EXPECT_NEAR(smooth.sources[1][5000].item<double>(), g1 * abrupt.sources[1][5000].item<double>(), 1e-15);
  EXPECT_EQ(smooth.sources[0].slice(0, 5000, 10000).abs().max().item<double>(), 0.0);
}

TEST(Synth, HarmonicSource) {
  const auto s = fs::harmonic_source(250.0, 8000.0, 4000, 2, 0.5, {}, 7);
  const auto s2 = fs::harmonic_source(250.0, 8000.0, 4000, 2, 0.5, {}, 7);
  EXPECT_TRUE(torch::equal(s, s2));
  // Period 32 samples at 250 Hz / 8 kHz.
  EXPECT_LT((s.slice(0, 32) - s.slice(0, 0, -32)).abs().max().item<double>(), 1e-12);
  EXPECT_EQ(fs::harmonic_source(250.0, 8000.0, 100, 2, 0.5, {}, 7, torch::kFloat32).scalar_type(), torch::kFloat32);
}

TEST(Synth, BadParameters) {
  EXPECT_THROW(fs::harmonic_source(2000.0, 5000.0, 100, 2), factorch::Error);  // 2nd harmonic aliases
  EXPECT_THROW(fs::harmonic_source(-1.0, 5000.0, 100, 2), factorch::Error);
  EXPECT_THROW(fs::harmonic_source(100.0, 5000.0, 100, 0), factorch::Error);
  fs::HarmonicMixtureOptions o;
  o.envelopes = {fs::Envelope{}};  // 1 envelope for 2 sources
  EXPECT_THROW(fs::harmonic_mixture(o), factorch::Error);
  EXPECT_THROW(fs::envelope_signal(fs::Envelope{{{10, 5}}, 0}, 100), factorch::Error);
  EXPECT_THROW(fs::envelope_signal(fs::Envelope{{{0, 101}}, 0}, 100), factorch::Error);
}
