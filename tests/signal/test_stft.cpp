#include <gtest/gtest.h>

#include <cmath>

#include "factorch/error.h"
#include "factorch/signal/stft.h"

namespace fs = factorch::signal;

namespace {

torch::Tensor sine(double f, double fs_hz, int64_t T, double amplitude = 1.0) {
  return amplitude * torch::sin((2 * M_PI * f / fs_hz) * torch::arange(T, torch::kFloat64) + 0.3);
}

}  // namespace

TEST(Stft, PureSinePeaksAtItsBin) {
  fs::StftOptions o;
  o.n_fft = 512;
  o.hop = 128;
  const double rate = 16000;
  for (const double f : {1000.0, 2500.0, 440.0}) {
    const auto X = fs::stft(sine(f, rate, 8000), o);
    ASSERT_EQ(X.size(0), 257);
    ASSERT_TRUE(X.is_complex());
    const auto profile = fs::power(X).slice(1, 4, -4).mean(1);  // interior frames
    const int64_t peak = profile.argmax().item<int64_t>();
    EXPECT_EQ(peak, std::lround(f * o.n_fft / rate)) << f;
    EXPECT_NEAR(fs::stft_frequencies(o.n_fft, rate)[peak].item<double>(), f, rate / o.n_fft / 2);
  }
  // Amplitude: a unit sine at bin 32 with a periodic Hann gives |X| = Σw/2 = n_fft/4.
  const auto X = fs::stft(sine(1000.0, rate, 8000), o);
  EXPECT_NEAR(fs::magnitude(X)[32][10].item<double>(), 512 / 4.0, 1e-9);
}

TEST(Stft, InverseRoundTrip) {
  torch::manual_seed(3);
  const auto x = torch::randn({10007}, torch::kFloat64);
  for (const auto& [window, n_fft, win, hop] : std::vector<std::tuple<std::string, int64_t, int64_t, int64_t>>{
           {"hann", 1024, 0, 256}, {"hann", 512, 0, 256}, {"sine", 400, 0, 200}, {"tukey", 512, 400, 100}}) {
    fs::StftOptions o;
    o.window = window;
    o.n_fft = n_fft;
    o.win_length = win;
    o.hop = hop;
    const auto y = fs::istft(fs::stft(x, o), o, x.size(0));
    EXPECT_LT((y - x).abs().max().item<double>(), 1e-10) << window << " " << n_fft;
  }
}

TEST(Stft, PowerAndMagnitudeAgree) {
  torch::manual_seed(4);
  const auto X = fs::stft(torch::randn({4096}, torch::kFloat64), {});
  EXPECT_LT((fs::power(X) - fs::magnitude(X).square()).abs().max().item<double>(), 1e-9);
}

TEST(Stft, Float32AndErrors) {
  const auto X = fs::stft(sine(1000, 16000, 4096).to(torch::kFloat32), {});
  EXPECT_EQ(X.scalar_type(), torch::kComplexFloat);
  fs::StftOptions o;
  EXPECT_THROW(fs::stft(torch::zeros({100}, torch::kFloat64), o), factorch::Error);  // window > signal
  EXPECT_THROW(fs::istft(torch::zeros({10, 4}, torch::kComplexDouble), o, 100), factorch::Error);
  o.win_length = 2048;
  EXPECT_THROW(fs::stft(torch::zeros({4096}, torch::kFloat64), o), factorch::Error);
}

