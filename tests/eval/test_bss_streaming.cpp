#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "factorch/error.h"
#include "factorch/eval/bss.h"
#include "factorch/eval/bss_streaming.h"
#include "../test_support.h"

namespace ev = factorch::eval;

namespace {

// Estimates of uneven quality: mixed, filtered (one-tap echo) and noisy, in shuffled order,
// so that SDR, SIR and SAR all lie in an ordinary range (−10 … 30 dB).
std::pair<torch::Tensor, torch::Tensor> test_signals(int64_t S, int64_t T, uint64_t seed) {
  torch::manual_seed(seed);
  const auto refs = torch::randn({S, T}, torch::kFloat64);
  auto mixing = 0.2 * torch::rand({S, S}, torch::kFloat64);
  for (int64_t j = 0; j < S; ++j) mixing[(j + 1) % S][j] = 1.0;
  auto ests = mixing.matmul(refs) + 0.1 * torch::randn({S, T}, torch::kFloat64);
  ests.slice(1, 1) += 0.5 * ests.slice(1, 0, T - 1).clone();
  return {refs, ests};
}

double relative(double a, double b) { return std::abs(a - b) / std::max(1.0, std::abs(b)); }

}  // namespace

// The correlations accumulated over blocks — some shorter than the filter, one of one
// sample — give the whole-signal scores. Measured deviation ~1e-13 relative; bound 1e-9.
TEST(BssStreaming, BlocksEqualWholeSignal) {
  const int64_t S = 3, T = 6000, L = 64;
  const auto [refs, ests] = test_signals(S, T, 3);
  ev::BssEvalOptions o;
  o.filter_length = L;
  const ev::BssEvalResult whole = ev::bss_eval_sources(refs, ests, o);
  for (const std::vector<int64_t>& cuts : {std::vector<int64_t>{T}, {1000, 1030, 1031, 4000, T}, {17, 2500, T}}) {
    ev::BssEvalAccumulator acc(S, o);
    int64_t start = 0;
    for (const int64_t end : cuts) {
      acc.add(refs.slice(1, start, end), ests.slice(1, start, end));
      start = end;
    }
    EXPECT_EQ(acc.samples(), T);
    const ev::BssEvalResult blocks = acc.result();
    double worst = 0;
    for (int64_t j = 0; j < S; ++j) {
      for (const auto& [a, b] : {std::pair{blocks.sdr, whole.sdr}, {blocks.sir, whole.sir}, {blocks.sar, whole.sar}})
        worst = std::max(worst, relative(a[j].item<double>(), b[j].item<double>()));
      EXPECT_EQ(blocks.permutation[j], whole.permutation[j]);
    }
    std::printf("%zu blocks: largest relative deviation from the whole signal %.2e\n", cuts.size(), worst);
    EXPECT_LT(worst, 1e-9);
  }
}

TEST(BssStreaming, DefaultFilterLengthAndErrors) {
  const int64_t S = 2, T = 4000;
  const auto [refs, ests] = test_signals(S, T, 5);
  const ev::BssEvalResult whole = ev::bss_eval_sources(refs, ests);  // L = 512
  ev::BssEvalAccumulator acc(S);
  for (int64_t start = 0; start < T; start += 700) acc.add(refs.slice(1, start, start + 700), ests.slice(1, start, start + 700));
  const ev::BssEvalResult blocks = acc.result();
  for (int64_t j = 0; j < S; ++j) EXPECT_LT(relative(blocks.sdr[j].item<double>(), whole.sdr[j].item<double>()), 1e-9);

  ev::BssEvalAccumulator silent(S);
  auto quiet = ests.clone();
  quiet[1].zero_();
  silent.add(refs, quiet);
  EXPECT_NE(factorch::testkit::error_of([&] { silent.result(); }).find("estimate 1 is silent"), std::string::npos);
  ev::BssEvalAccumulator empty(S);
  EXPECT_THROW(empty.result(), factorch::Error);
  auto bad = ests.clone();
  bad[0][7] = NAN;
  EXPECT_THROW(acc.add(refs, bad), factorch::Error);
  EXPECT_THROW(acc.add(refs.slice(0, 0, 1), ests), factorch::Error);
}

// Framewise by blocks = framewise in one piece; a silent window scores NaN and is left out
// of the median; fewer than 2 windows: the whole signal as one frame.
TEST(BssStreaming, FramewiseBlocksAndSilentWindows) {
  const int64_t S = 2, T = 5000, W = 1000, H = 800;
  auto [refs, ests] = test_signals(S, T, 7);
  refs[0].slice(0, 1500, 2700).zero_();  // window 2 (1600 … 2600) holds only silence for source 0
  ev::BssEvalOptions o;
  o.filter_length = 32;
  o.compute_permutation = false;
  const ev::FramewiseBssEvalResult one = ev::bss_eval_sources_framewise(refs, ests, W, H, o);
  ASSERT_EQ(one.frames(), (T - W + H) / H);
  EXPECT_TRUE(std::isnan(one.sdr[0][2].item<double>()));
  EXPECT_TRUE(std::isnan(one.sdr[1][2].item<double>()));
  const auto w0 = ev::bss_eval_sources(refs.slice(1, 0, W), ests.slice(1, 0, W), o);
  EXPECT_DOUBLE_EQ(one.sdr[1][0].item<double>(), w0.sdr[1].item<double>());

  ev::FramewiseBssEval streamed(S, W, H, o);
  for (const auto& [a, b] : {std::pair<int64_t, int64_t>{0, 333}, {333, 2950}, {2950, T}})
    streamed.add(refs.slice(1, a, b), ests.slice(1, a, b));
  const ev::FramewiseBssEvalResult blocks = streamed.finish();
  ASSERT_EQ(blocks.frames(), one.frames());
  EXPECT_TRUE(torch::allclose(blocks.sdr, one.sdr, 1e-12, 1e-12, /*equal_nan=*/true));
  EXPECT_TRUE(torch::allclose(blocks.sar, one.sar, 1e-12, 1e-12, /*equal_nan=*/true));

  const auto med = one.median(one.sdr);
  auto kept = one.sdr[0].masked_select(~torch::isnan(one.sdr[0]));
  EXPECT_EQ(kept.numel(), one.frames() - 1);
  auto sorted = std::get<0>(kept.sort());  // 5 frames left: the middle one
  EXPECT_DOUBLE_EQ(med[0].item<double>(), sorted[2].item<double>());
  const auto even = ev::FramewiseBssEvalResult{torch::tensor({{1.0, std::nan(""), 4.0, 2.0, 9.0}}, torch::kFloat64), {}, {}, {}};
  EXPECT_DOUBLE_EQ(even.median(even.sdr)[0].item<double>(), 3.0);  // np.nanmedian: mean of the middle two

  const auto whole = ev::bss_eval_sources(refs.slice(1, 0, 1500), ests.slice(1, 0, 1500), o);
  const auto short_one = ev::bss_eval_sources_framewise(refs.slice(1, 0, 1500), ests.slice(1, 0, 1500), W, H, o);
  ASSERT_EQ(short_one.frames(), 1);
  EXPECT_DOUBLE_EQ(short_one.sdr[0][0].item<double>(), whole.sdr[0].item<double>());
}

TEST(BssStreaming, FramewiseMatchesMirEval) {
  const std::string python = factorch::testkit::kPython;
  if (python.empty() || !factorch::testkit::python_has("mir_eval"))
    GTEST_SKIP() << "python3 with mir_eval not available (" << python << "): install python3-mir-eval";
  const int64_t S = 2, T = 4200, W = 1000, H = 700;
  auto [refs, ests] = test_signals(S, T, 11);
  ests[1].slice(0, 1500, 2600).zero_();  // a silent estimate window → NaN in both
  const auto dir = std::filesystem::temp_directory_path() / ("factorch_bssfw_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto dump = [&](const torch::Tensor& t, const std::string& name) {
    std::ofstream out(dir / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(t.contiguous().data_ptr<double>()), t.numel() * sizeof(double));
  };
  dump(refs, "refs.f64");
  dump(ests, "ests.f64");
  std::ostringstream script;
  script << "import numpy as np, mir_eval\n"
         << "r = np.fromfile('" << (dir / "refs.f64").string() << "').reshape(" << S << ", " << T << ")\n"
         << "e = np.fromfile('" << (dir / "ests.f64").string() << "').reshape(" << S << ", " << T << ")\n"
         << "sdr, sir, sar, perm = mir_eval.separation.bss_eval_sources_framewise(r, e, " << W << ", " << H << ")\n"
         << "print(sdr.shape[1], ' '.join('%.12f' % v for v in np.concatenate([sdr.ravel(), sir.ravel(), sar.ravel()])))\n";
  std::ofstream(dir / "check.py") << script.str();
  FILE* pipe = popen((python + " " + (dir / "check.py").string() + " 2>/dev/null").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  while (fgets(buf, sizeof buf, pipe)) output += buf;
  const int status = pclose(pipe);
  std::filesystem::remove_all(dir);
  ASSERT_EQ(status, 0) << output;
  std::istringstream in(output);
  int64_t frames = 0;
  ASSERT_TRUE(in >> frames) << output;
  ev::BssEvalOptions o;
  o.compute_permutation = false;  // mir_eval's framewise default
  const ev::FramewiseBssEvalResult mine = ev::bss_eval_sources_framewise(refs, ests, W, H, o);
  ASSERT_EQ(mine.frames(), frames);
  double worst = 0;
  for (const auto& m : {mine.sdr, mine.sir, mine.sar})
    for (int64_t j = 0; j < S; ++j)
      for (int64_t f = 0; f < frames; ++f) {
        std::string word;
        ASSERT_TRUE(in >> word) << output;
        const double expected = word == "nan" ? NAN : std::stod(word);
        const double v = m[j][f].item<double>();
        ASSERT_EQ(std::isnan(v), std::isnan(expected)) << "source " << j << " frame " << f;
        if (!std::isnan(v)) worst = std::max(worst, std::abs(v - expected));
      }
  std::printf("framewise: largest deviation from mir_eval %.2e dB\n", worst);
  EXPECT_LT(worst, 0.01);  // the whole-signal test's bound (mir_eval solves in float64 by LU too)
}
