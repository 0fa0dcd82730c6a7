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
#include "../test_support.h"

namespace ev = factorch::eval;

namespace {

// Random references whose last `quiet` samples are zero, so short FIR-filtered versions
// still fit in T samples.
torch::Tensor random_references(int64_t S, int64_t T, int64_t quiet = 0) {
  auto s = torch::randn({S, T}, torch::kFloat64);
  if (quiet > 0) s.slice(1, T - quiet).zero_();
  return s;
}

// Removes from `noise` (T) its projection on every reference delayed by 0..L-1 samples
// (restricted to the T samples), leaving noise orthogonal to all distortion subspaces.
torch::Tensor orthogonal_noise(const torch::Tensor& refs, const torch::Tensor& noise, int64_t L) {
  const int64_t S = refs.size(0), T = refs.size(1);
  const auto padded = torch::constant_pad_nd(refs, {L - 1, 0});
  // Column (i, a) = s_i(t − a): windows of the left-padded signal, reversed in a.
  const auto A = padded.unfold(1, T, 1).flip(1).reshape({S * L, T}).t();  // T × SL
  const auto coef = std::get<0>(torch::linalg::lstsq(A, noise.unsqueeze(1), c10::nullopt, c10::nullopt));
  return noise - A.matmul(coef).squeeze(1);
}

}  // namespace

TEST(Bss, PerfectEstimate) {
  torch::manual_seed(10);
  const auto refs = random_references(2, 3000);
  const auto r = ev::bss_eval_sources(refs, refs);
  EXPECT_EQ(r.permutation, (std::vector<int64_t>{0, 1}));
  EXPECT_GT(r.sdr.min().item<double>(), 100.0) << r.sdr;
  EXPECT_GT(r.sir.min().item<double>(), 100.0);
  EXPECT_GT(r.sar.min().item<double>(), 100.0);
}

TEST(Bss, OrthogonalNoiseAtKnownPower) {
  torch::manual_seed(11);
  const int64_t T = 3000, L = 512;
  const auto refs = random_references(2, T);
  const double snr_db[2] = {12.0, 3.5};
  std::vector<torch::Tensor> ests;
  for (int j = 0; j < 2; ++j) {
    auto n = orthogonal_noise(refs, torch::randn({T}, torch::kFloat64), L);
    const double target = refs[j].square().sum().item<double>() / std::pow(10.0, snr_db[j] / 10);
    ests.push_back(refs[j] + n * std::sqrt(target / n.square().sum().item<double>()));
  }
  const auto r = ev::bss_eval_sources(refs, torch::stack(ests));
  for (int j = 0; j < 2; ++j) {
    EXPECT_NEAR(r.sdr[j].item<double>(), snr_db[j], 0.05);
    EXPECT_NEAR(r.sar[j].item<double>(), snr_db[j], 0.05);
    EXPECT_GT(r.sir[j].item<double>(), 100.0);
  }
}

TEST(Bss, FirFilteredReferenceIsDistortionOnly) {
  torch::manual_seed(12);
  const int64_t T = 3000;
  const auto refs = random_references(2, T, /*quiet=*/16);
  const auto h = torch::tensor({0.9, -0.4, 0.25, 0.1, -0.05}, torch::kFloat64);
  // Full linear convolution (fits in T thanks to the quiet tail).
  auto ests = torch::zeros_like(refs);
  for (int64_t d = 0; d < h.size(0); ++d) ests.slice(1, d) += h[d].item<double>() * refs.slice(1, 0, T - d);
  const auto r = ev::bss_eval_sources(refs, ests);
  EXPECT_GT(r.sdr.min().item<double>(), 100.0) << r.sdr;
}

TEST(Bss, SwappedEstimatesFindPermutation) {
  torch::manual_seed(13);
  const auto refs = random_references(3, 2000);
  const auto ests = torch::stack({refs[2], refs[0], refs[1]}) + 0.1 * torch::randn({3, 2000}, torch::kFloat64);
  const auto r = ev::bss_eval_sources(refs, ests);
  EXPECT_EQ(r.permutation, (std::vector<int64_t>{1, 2, 0}));  // estimate matched to each reference
  EXPECT_GT(r.sdr.min().item<double>(), 15.0);
  ev::BssEvalOptions fixed;
  fixed.compute_permutation = false;
  const auto identity = ev::bss_eval_sources(refs, ests, fixed);
  EXPECT_EQ(identity.permutation, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_LT(identity.sdr.max().item<double>(), 0.0);
}

TEST(Bss, BadInput) {
  const auto a = torch::randn({2, 100}, torch::kFloat64);
  EXPECT_THROW(ev::bss_eval_sources(a, torch::randn({2, 99}, torch::kFloat64)), factorch::Error);
  EXPECT_THROW(ev::bss_eval_sources(a, torch::randn({3, 100}, torch::kFloat64)), factorch::Error);
  auto silent = a.clone();
  silent[1].zero_();
  EXPECT_THROW(ev::bss_eval_sources(silent, a), factorch::Error);
  EXPECT_THROW(ev::bss_eval_sources(a, silent), factorch::Error);
  auto bad = a.clone();
  bad[0][3] = NAN;
  EXPECT_THROW(ev::bss_eval_sources(a, bad), factorch::Error);
  EXPECT_THROW(ev::bss_eval_sources(torch::randn({9, 50}), torch::randn({9, 50})), factorch::Error);
}

TEST(Bss, MatchesMirEval) {
  const std::string python = factorch::testkit::kPython;
  if (python.empty() || std::system((python + " -c 'import mir_eval' >/dev/null 2>&1").c_str()) != 0)
    GTEST_SKIP() << "python3 with mir_eval not available (" << python << ")";
  torch::manual_seed(14);
  const int64_t S = 3, T = 2500;
  const auto refs = random_references(S, T);
  // Mixed, filtered and noisy estimates with uneven quality, in shuffled order.
  const auto mixing = torch::tensor({{0.1, 1.0, 0.3}, {0.8, 0.2, 0.1}, {0.05, 0.3, 1.0}}, torch::kFloat64);
  auto ests = mixing.matmul(refs) + 0.2 * torch::randn({S, T}, torch::kFloat64);
  ests.slice(1, 1) += 0.5 * ests.slice(1, 0, T - 1).clone();

  const auto dir = std::filesystem::temp_directory_path() / ("factorch_bss_" + std::to_string(::getpid()));
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
         << "sdr, sir, sar, perm = mir_eval.separation.bss_eval_sources(r, e)\n"
         << "print(' '.join('%.12f' % v for v in np.concatenate([sdr, sir, sar, perm])))\n";
  std::ofstream(dir / "check.py") << script.str();
  FILE* pipe = popen((python + " " + (dir / "check.py").string() + " 2>/dev/null").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe)) output += buf;
  const int status = pclose(pipe);
  std::filesystem::remove_all(dir);
  ASSERT_EQ(status, 0) << output;
  std::istringstream in(output);
  std::vector<double> expected((size_t)4 * S);
  for (auto& v : expected) ASSERT_TRUE(in >> v) << output;

  const auto r = ev::bss_eval_sources(refs, ests);
  double worst = 0;
  for (int64_t j = 0; j < S; ++j)
    for (const auto& [mine, ref] : {std::pair{r.sdr, expected[j]}, {r.sir, expected[S + j]}, {r.sar, expected[2 * S + j]}})
      worst = std::max(worst, std::abs(mine[j].item<double>() - ref));
  std::printf("largest deviation from mir_eval: %.2e dB\n", worst);
  for (int64_t j = 0; j < S; ++j) {
    EXPECT_NEAR(r.sdr[j].item<double>(), expected[j], 0.01) << "SDR " << j;
    EXPECT_NEAR(r.sir[j].item<double>(), expected[S + j], 0.01) << "SIR " << j;
    EXPECT_NEAR(r.sar[j].item<double>(), expected[2 * S + j], 0.01) << "SAR " << j;
    EXPECT_EQ(r.permutation[j], static_cast<int64_t>(expected[3 * S + j]));
  }
}

TEST(BssImages, OneChannelReducesToBssEvalSources) {
  // With C = 1 the image decomposition is the source one: SIR and SAR equal bss_eval_sources',
  // SDR compares with the unfiltered reference, and ISR = ‖s‖² / ‖s_target − s‖², the filtering
  // distortion that bss_eval_sources' SDR forgives.
  torch::manual_seed(15);
  const int64_t S = 2, T = 3000;
  const auto refs = random_references(S, T);
  auto ests = torch::tensor({{1.0, 0.2}, {0.1, 0.9}}, torch::kFloat64).matmul(refs) + 0.1 * torch::randn({S, T}, torch::kFloat64);
  ests.slice(1, 1) += 0.3 * ests.slice(1, 0, T - 1).clone();  // a 2-tap filter: spatial distortion
  ev::BssEvalOptions o;
  o.filter_length = 32;
  const auto src = ev::bss_eval_sources(refs, ests, o);
  const auto img = ev::bss_eval_images(refs.unsqueeze(1), ests.unsqueeze(1), o);
  for (int64_t j = 0; j < S; ++j) {
    EXPECT_NEAR(img.sir[j].item<double>(), src.sir[j].item<double>(), 1e-8) << j;
    EXPECT_NEAR(img.sar[j].item<double>(), src.sar[j].item<double>(), 1e-8) << j;
    EXPECT_EQ(img.permutation[j], src.permutation[j]);
    // s_target ≈ a·(s + 0.3·s(t − 1)) with a the diagonal mixing weight (1, 0.9), so
    // s_target − s ≈ (a − 1)·s + 0.3a·s(t − 1) and ISR ≈ −10 log10((a − 1)² + (0.3a)²).
    const double a = j == 0 ? 1.0 : 0.9;
    EXPECT_NEAR(img.isr[j].item<double>(), -10 * std::log10((a - 1) * (a - 1) + 0.09 * a * a), 0.3) << j;
    const double plain = 10 * std::log10(refs[j].square().sum().item<double>() /
                                         (ests[src.permutation[j]] - refs[j]).square().sum().item<double>());
    EXPECT_NEAR(img.sdr[j].item<double>(), plain, 1e-9) << j;
  }
  // A perfect estimate has SDR +inf; mismatched shapes and silent sources throw.
  const auto two = torch::randn({2, 2, 400}, torch::kFloat64);
  EXPECT_TRUE(std::isinf(ev::bss_eval_images(two, two, o).sdr[0].item<double>()));
  EXPECT_THROW(ev::bss_eval_images(two, torch::randn({2, 1, 400}, torch::kFloat64), o), factorch::Error);
  auto silent = two.clone();
  silent[1].zero_();
  EXPECT_THROW(ev::bss_eval_images(silent, two, o), factorch::Error);
}

TEST(BssImages, MatchesMirEval) {
  const std::string python = factorch::testkit::kPython;
  if (python.empty() || std::system((python + " -c 'import mir_eval' >/dev/null 2>&1").c_str()) != 0)
    GTEST_SKIP() << "python3 with mir_eval not available (" << python << ")";
  torch::manual_seed(16);
  // T well above the S·C·512 delayed references, so that artifacts stay outside their span.
  const int64_t S = 2, C = 2, T = 5000;
  const auto refs = torch::randn({S, C, T}, torch::kFloat64);
  // Estimates: leaked images, a filtered channel (spatial distortion) and noise, swapped order.
  auto ests = torch::stack({0.3 * refs[0] + refs[1], refs[0] + 0.2 * refs[1]}) + 0.2 * torch::randn({S, C, T}, torch::kFloat64);
  ests.select(1, 1).slice(1, 2) += 0.4 * ests.select(1, 1).slice(1, 0, T - 2).clone();

  const auto dir = std::filesystem::temp_directory_path() / ("factorch_bssimg_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto dump = [&](const torch::Tensor& t, const std::string& name) {
    const torch::Tensor c = t.permute({0, 2, 1}).contiguous();  // mir_eval: S × T × C
    std::ofstream out(dir / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(c.data_ptr<double>()), c.numel() * sizeof(double));
  };
  dump(refs, "refs.f64");
  dump(ests, "ests.f64");
  std::ostringstream script;
  script << "import numpy as np, mir_eval\n"
         << "r = np.fromfile('" << (dir / "refs.f64").string() << "').reshape(" << S << ", " << T << ", " << C << ")\n"
         << "e = np.fromfile('" << (dir / "ests.f64").string() << "').reshape(" << S << ", " << T << ", " << C << ")\n"
         << "out = mir_eval.separation.bss_eval_images(r, e)\n"
         << "print(' '.join('%.12f' % v for v in np.concatenate(out)))\n";
  std::ofstream(dir / "check.py") << script.str();
  FILE* pipe = popen((python + " " + (dir / "check.py").string() + " 2>/dev/null").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe)) output += buf;
  const int status = pclose(pipe);
  std::filesystem::remove_all(dir);
  ASSERT_EQ(status, 0) << output;
  std::istringstream in(output);
  std::vector<double> expected((size_t)5 * S);
  for (auto& v : expected) ASSERT_TRUE(in >> v) << output;

  const auto r = ev::bss_eval_images(refs, ests);
  double worst = 0;
  const torch::Tensor mine[4] = {r.sdr, r.isr, r.sir, r.sar};
  for (int m = 0; m < 4; ++m)
    for (int64_t j = 0; j < S; ++j) {
      worst = std::max(worst, std::abs(mine[m][j].item<double>() - expected[m * S + j]));
      EXPECT_NEAR(mine[m][j].item<double>(), expected[m * S + j], 0.01) << "metric " << m << " source " << j;
    }
  for (int64_t j = 0; j < S; ++j) EXPECT_EQ(r.permutation[j], static_cast<int64_t>(expected[4 * S + j]));
  std::printf("bss_eval_images: largest deviation from mir_eval %.2e dB\n", worst);
}
