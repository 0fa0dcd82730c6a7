// Data-parallel iN-NMF (sample rows split over ranks, every network parameter shared) and
// TL-NMF (frames split, Φ and W shared, H per frame) against the single-process run, float64,
// 1 vs 2 and 3 ranks (uneven shards), through `factorch train --nproc N`.
// Tolerances (measured, see each test): the runs differ only in the order of the sums over
// samples/frames (all-reduce), i.e. by rounding.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <vector>
#include <sstream>

#include <torch/torch.h>

#include "factorch/distributed/communicator.h"
#include "factorch/io/npy.h"
#include "factorch/io/torch_file.h"
#include "factorch/io/wav.h"
#include "../test_support.h"

namespace factorch {
namespace {

using testkit::TempDir;

#define SKIP_WITHOUT_C10D()                                                                          \
  if (!distributed::Communicator::available())                                                      \
  GTEST_SKIP() << "built without the Gloo headers (apt-get install libgloo-dev): no data-parallel runs"

double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  const double scale = b.norm().item<double>();
  return (a - b).norm().item<double>() / (scale > 0 ? scale : 1.0);
}

// The largest relative error over every factor of a.factors.pt against b's (same names, shapes).
double max_factor_error(const std::string& a_dir, const std::string& b_dir, const std::string& what) {
  const NamedTensors a = io::load_tensors_pt(a_dir + "/factors.pt"), b = io::load_tensors_pt(b_dir + "/factors.pt");
  EXPECT_EQ(a.size(), b.size()) << what;
  double worst = 0;
  for (const auto& item : b) {
    const torch::Tensor* mine = a.find(item.key());
    if (mine == nullptr) {
      ADD_FAILURE() << what << ": no " << item.key();
      continue;
    }
    if (mine->sizes() != item.value().sizes()) {
      ADD_FAILURE() << what << ": " << item.key() << " has another shape";
      continue;
    }
    worst = std::max(worst, relative_error(mine->to(torch::kFloat64), item.value().to(torch::kFloat64)));
  }
  return worst;
}

// Trains DIR/c.yaml in one process (DIR/single) and on each number of `ranks` (DIR/r<N>), and
// expects every factor of each run within `tol` (relative) of the single process's; `also`
// checks more of each run (its output folder's name).
void expect_ranks_match_single_process(const std::string& d, const std::vector<int>& ranks, const std::string& what,
                                       double tol, const std::function<void(const std::string&)>& also = {}) {
  const auto single = testkit::run_factorch("train c.yaml --out single --quiet", d);
  ASSERT_EQ(single.status, 0) << what << ": " << single.err;
  for (int n : ranks) {
    const std::string out = "r" + std::to_string(n);
    const auto run = testkit::run_factorch("train c.yaml --out " + out + " --quiet --nproc " + std::to_string(n), d);
    ASSERT_EQ(run.status, 0) << what << ", " << out << ": " << run.err;
    const double err = max_factor_error(d + "/" + out, d + "/single", what + ", " + out);
    std::printf("%s, %d ranks: max relative error %.3g\n", what.c_str(), n, err);
    EXPECT_LT(err, tol) << what << ", " << n << " ranks";
    if (also) also(out);
  }
}

// S = F·N (time, frequency, value) samples of a nonnegative rank-2 spectrogram on a regular
// frame grid, bin-major; 16·22 = 352 rows: shards 176/176 and 118/117/117 (uneven, so a
// mean over a rank's rows instead of a sum would weigh the ranks differently) — and the same
// rows shuffled (a rank then holds scattered frames and bins) in a second file.
void write_samples(const std::string& path, const std::string& shuffled_path) {
  torch::manual_seed(11);
  const int64_t F = 16, N = 22;
  const torch::Tensor V = torch::mm(torch::rand({F, 2}, torch::kFloat64), torch::rand({2, N}, torch::kFloat64)) + 0.05;
  const torch::Tensor f = torch::linspace(0, 4000, F, torch::kFloat64).unsqueeze(1).expand({F, N});
  const torch::Tensor t = (0.016 * torch::arange(N, torch::kFloat64)).unsqueeze(0).expand({F, N});
  const torch::Tensor X = torch::stack({t, f, V}, 2).reshape({F * N, 3});
  io::save_npy(path, X);
  io::save_npy(shuffled_path, X.index_select(0, torch::randperm(F * N, torch::kLong)).contiguous());
}

std::string innmf_config(const std::string& input, const std::string& optimizer) {
  return "model: {type: innmf, rank: 2, width: 8, depth: 1, n_frequencies: 3, seed: 5, plot: false}\n"
         "data: {input: " + input + ", sample_rate: 8000}\n"
         "trainer: {kind: autograd, optimizer: " + optimizer + ", lr: 0.01, max_iter: 25, tol: 0, dtype: float64, "
         "progress: never, threads: 1, dist_timeout: 60}\n"
         "output: {dir: out}\n";
}

TEST(DistributedGrad, InnmfWithTwoAndThreeRanksGivesTheSingleProcessNetworks) {
  SKIP_WITHOUT_C10D();
  TempDir dir;
  const std::string d = dir.path().string();
  write_samples(d + "/S.npy", d + "/S_shuffled.npy");
  // Measured (25 epochs, float64): adam ≤ 1e-15 (bin-major rows) and ≤ 2e-14 (shuffled rows),
  // rprop 0 (sign steps), relative to the single-process factors (networks, W, H), 2 and 3
  // ranks. Bound 1e-9: a 5·10⁴ margin that still catches a mean instead of a sum over the
  // shards (measured 6e-5 with even, 4e-3 with uneven shards), a rank-dependent init or a
  // gradient not summed.
  const double tol = 1e-9;
  struct Case {
    std::string input, optimizer;
    std::vector<int> ranks;
  };
  for (const Case& k : {Case{"S.npy", "adam", {2, 3}}, Case{"S.npy", "rprop", {3}}, Case{"S_shuffled.npy", "adam", {3}}}) {
    const std::string what = k.input + " " + k.optimizer;
    testkit::write_text(dir / "c.yaml", innmf_config(k.input, k.optimizer));
    expect_ranks_match_single_process(d, k.ranks, "innmf " + what, tol);
  }
}

TEST(DistributedGrad, InnmfJointSizesWithTwoAndThreeRanksGivesTheSingleProcessModel) {
  SKIP_WITHOUT_C10D();
  TempDir dir;
  const std::string d = dir.path().string();
  // model.joint_n_fft: the rows of both sizes (S×4, 128 then 256) are split across ranks, so
  // a rank may hold rows of one size only, or of both; each size's activations are scaled by
  // the sums of its rows over every rank. Bound as above.
  testkit::write_text(dir / "c.yaml",
                      "model: {type: innmf, rank: 2, width: 8, depth: 1, n_frequencies: 3, seed: 5, plot: false, "
                      "spectral_kernel: true, kernel_glide: 0, joint_n_fft: [256]}\n"
                      "data:\n"
                      "  synthetic: {signal: note_sequence, sample_rate: 4000, frequencies: [220, 330], seconds: 0.5, harmonics: 3}\n"
                      "  transform: {n_fft: 128, window: sine, exponent: 0.5}\n"
                      "trainer: {kind: autograd, optimizer: adam, lr: 0.01, max_iter: 25, tol: 0, dtype: float64, "
                      "progress: never, threads: 1, dist_timeout: 60}\n"
                      "output: {dir: out}\n");
  expect_ranks_match_single_process(d, {2, 3}, "innmf joint sizes", 1e-9);
}

TEST(DistributedGrad, InnmfRefusesFewerSamplesThanRanks) {
  SKIP_WITHOUT_C10D();
  TempDir dir;
  const std::string d = dir.path().string();
  io::save_npy(d + "/S.npy", torch::tensor({0.0, 100.0, 1.0, 0.0, 200.0, 2.0}, torch::kFloat64).reshape({2, 3}));
  testkit::write_text(dir / "c.yaml", innmf_config("S.npy", "adam"));
  const auto run = testkit::run_factorch("train c.yaml --out r3 --quiet --nproc 3", d);
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.err.find("data.input"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("fewer than the 3 ranks"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "r3/factors.pt"));
}

// Two realisations of the embedded notes (R × M × N frames), M = 32, hop 16: 2008 samples give
// 127 frames (shards 64/63 and 43/42/42), 2024 samples 128 (43/43/42).
std::string tlnmf_config(const std::string& seconds, const std::string& model_extra, const std::string& data_extra = "") {
  return "model: {type: tlnmf, rank: 2, seed: 3, warmup: 5, phi_steps: 3, baseline: false, plot: false" + model_extra +
         "}\n"
         "data:\n"
         "  synthetic: {signal: harmonic_notes, frequencies: [220.0, 330.0], sample_rate: 2000, seconds: " + seconds +
         ", harmonics: 2, decay: 0.5, envelopes: paper, seed: 1" + (data_extra.empty() ? ", realisations: 2" : data_extra) + "}\n"
         "  transform: {window: tukey, tukey_alpha: 0.1, n_fft: 32, hop: 16}\n"
         "trainer: {kind: mu, max_iter: 12, tol: 0, dtype: float64, progress: never, threads: 1, dist_timeout: 60}\n"
         "output: {dir: out}\n";
}

TEST(DistributedGrad, TlnmfWithTwoAndThreeRanksGivesTheSingleProcessFactors) {
  SKIP_WITHOUT_C10D();
  TempDir dir;
  const std::string d = dir.path().string();
  // Measured (12 sweeps of MU + 3 Armijo Φ steps each, float64), relative to the single
  // process: W ≤ 1e-14, H ≤ 3e-13, Φ ≤ 6e-12 (qn: the eigendecomposition of each skew
  // direction amplifies the rounding of the summed Γ), with 2 and 3 ranks. The MU
  // bound 1e-10 holds with a 15× margin (cayley: 2e-15); a Φ statistic not summed over ranks, or an Armijo
  // test on a rank's own objective, gives ≥ 1e-3 (measured 1.4 for the latter).
  // Supervised mode (W = |Φ·Y_ref|², whose term of Γ is a sum over frames too) is worse
  // conditioned on this toy: rounding grows about 10× per sweep (objective 3e-16 after one
  // sweep, 1e-8 after 12), Φ ends 3e-6 away; one process with trainer.threads 2 instead of 1
  // (another BLAS summation order) ends 6e-6 away from itself. Bound 1e-4 there; a reference
  // term not summed over ranks gives ≥ 1e-2.
  struct Case {
    std::string seconds, model, data;
    std::vector<int> ranks;
    double tol;
  };
  for (const Case& k : {Case{"1.004", ", mode: supervised, lambda: 0.05", ", realisations: 1, train_seconds: 0.3", {3}, 1e-4},
                        Case{"1.004", "", "", {2, 3}, 1e-10},
                        Case{"1.012", ", objective: is, phi_update: cayley, lambda: 0.1", "", {3}, 1e-10}}) {
    testkit::write_text(dir / "c.yaml", tlnmf_config(k.seconds, k.model, k.data));
    const std::string what = "tlnmf " + k.seconds + k.model;
    expect_ranks_match_single_process(d, k.ranks, what, k.tol, [&](const std::string& out) {
      // The history (objective summed over ranks) has the single process's length.
      const std::string h1 = testkit::read_text(d + "/single/history.csv"), hr = testkit::read_text(d + "/" + out + "/history.csv");
      EXPECT_EQ(std::count(h1.begin(), h1.end(), '\n'), std::count(hr.begin(), hr.end(), '\n')) << what << ", " << out;
    });
  }
  // A checkpoint of the 3-rank run (cayley) resumes on 2 ranks and on 1 process alike.
  const auto two = testkit::run_factorch("train c.yaml --out a2 --quiet --nproc 2 --resume r3/checkpoint.pt --set trainer.max_iter=16", d);
  ASSERT_EQ(two.status, 0) << two.err;
  const auto one = testkit::run_factorch("train c.yaml --out a1 --quiet --resume r3/checkpoint.pt --set trainer.max_iter=16", d);
  ASSERT_EQ(one.status, 0) << one.err;
  EXPECT_LT(max_factor_error(d + "/a2", d + "/a1", "resumed"), 1e-10);
}

// Unsupervised TL-NMF on a WAV: a rank reads only the samples under its frames (a seek, never
// the whole file) and frames them as one process frames the whole signal, so the factors are
// the single process's. Measured: max relative error 1.0e-12 (2 ranks) and 1.9e-12 (3 ranks),
// the qn Φ step's rounding as with the embedded notes above.
TEST(DistributedGrad, TlnmfOnAWavReadsOnlyItsFramesAndGivesTheSingleProcessFactors) {
  SKIP_WITHOUT_C10D();
  TempDir dir;
  const std::string d = dir.path().string();
  torch::manual_seed(5);
  const int64_t T = 2010;  // 2000 Hz: 126 frames of 32 at hop 16 (63/63 and 42/42/42)
  const torch::Tensor t = torch::arange(T, torch::kFloat64) / 2000.0;
  const torch::Tensor x = torch::sin(2 * M_PI * 220 * t) * torch::sin(M_PI * t).clamp_min(0).sqrt() +
                          0.6 * torch::sin(2 * M_PI * 330 * t) * torch::cos(M_PI * t).abs().sqrt() +
                          0.01 * torch::randn({T}, torch::kFloat64);
  io::write_wav(d + "/mix.wav", 0.4 * x, 2000);
  testkit::write_text(dir / "c.yaml",
                      "model: {type: tlnmf, rank: 2, seed: 3, warmup: 5, phi_steps: 3, baseline: false, plot: false}\n"
                      "data: {input: mix.wav, transform: {window: tukey, tukey_alpha: 0.1, n_fft: 32, hop: 16}}\n"
                      "trainer: {kind: mu, max_iter: 12, tol: 0, dtype: float64, progress: never, threads: 1, dist_timeout: 60}\n"
                      "output: {dir: out}\n");
  expect_ranks_match_single_process(d, {2, 3}, "tlnmf on a WAV", 1e-10);
}

TEST(DistributedGrad, TlnmfRefusesFewerFramesThanRanks) {
  SKIP_WITHOUT_C10D();
  TempDir dir;
  const std::string d = dir.path().string();
  std::string text = tlnmf_config("0.016", "");  // 32 samples: 3 frames of 32 at hop 16
  testkit::write_text(dir / "c.yaml", text);
  const auto run = testkit::run_factorch("train c.yaml --out r4 --quiet --nproc 4", d);
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.err.find("fewer than the 4 ranks"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "r4/factors.pt"));
}

}  // namespace
}  // namespace factorch
