// Data-parallel online_nmf: each rank reads only its batches (training batch t and held-back
// batch j belong to rank t mod R and j mod R); a step is R batches, their W statistics summed
// over ranks. So R ranks must equal one process with model.batches_per_step: R, in float64:
// the only difference is the order of the sums (all-reduce, held-back objective). Measured
// after 4 passes: W 0 and 1.3e-15, the objective 0 and 6.1e-16 relative for 2 and 3 ranks;
// the bound is the 1e-10, far below what another grouping of the batches changes
// (steps of 2 vs 3 batches: W differs by 0.055 relative, measured).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <sstream>

#include <torch/torch.h>

#include "../test_support.h"
#include "factorch/distributed/communicator.h"
#include "factorch/io/npy.h"
#include "factorch/io/torch_file.h"
#include "factorch/io/wav.h"

namespace factorch {
namespace {

using testkit::TempDir;

// 12 × 98 columns in batches of 5: 20 batches (the last one 3 columns); every 4th held back
// (5 batches: 3 on 3 ranks are 2/2/1), 15 training batches (steps of 2 leave a last step of
// one batch; 3 ranks: 5 full steps).
void write_online_matrix(const std::string& path, double negative_at = -1) {
  torch::manual_seed(9);
  torch::Tensor V = torch::mm(torch::rand({12, 3}, torch::kFloat64), torch::rand({3, 98}, torch::kFloat64)) + 0.05;
  if (negative_at >= 0) V[1][static_cast<int64_t>(negative_at)] = -1.0;
  io::save_npy(path, V);
}

std::string online_config(int batches_per_step) {
  return "model: {type: online_nmf, rank: 3, seed: 4, inner_iter: 5, batches_per_step: " +
         std::to_string(batches_per_step) + "}\n"
         "data: {input: V.npy, batch_size: 5, holdout_every: 4}\n"
         "trainer: {max_iter: 4, tol: 0, dtype: float64, progress: never, dist_timeout: 30}\n"
         "output: {dir: out}\n";
}

double last_objective(const std::string& dir) {
  std::stringstream in(testkit::read_text(dir + "/history.csv"));
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  const size_t a = last.find(','), b = last.find(',', a + 1);
  return std::stod(last.substr(a + 1, b - a - 1));
}

torch::Tensor learnt_W(const std::string& dir) { return *io::load_tensors_pt(dir + "/factors.pt").find("W"); }

// Trains `config(1)` on 2 and 3 ranks and `config(R)` in one process (R batches per step) in
// `dir`, and expects the same W and objective to 1e-10 relative; then that steps of 2 and 3
// batches differ (so that the comparison compared something).
void expect_ranks_equal_one_process(const TempDir& dir, const std::function<std::string(int)>& config,
                                    const std::string& what) {
  testkit::write_text(dir / "one.yaml", config(1));
  for (int ranks : {2, 3}) {
    const std::string single_config = dir / ("single" + std::to_string(ranks) + ".yaml");
    testkit::write_text(single_config, config(ranks));
    const std::string single = "single" + std::to_string(ranks), parallel = "ranks" + std::to_string(ranks);
    const auto s = testkit::run_factorch("train " + single_config + " --out " + single + " --quiet", dir.path().string());
    ASSERT_EQ(s.status, 0) << s.err;
    const auto p = testkit::run_factorch("train one.yaml --out " + parallel + " --quiet --nproc " + std::to_string(ranks),
                                         dir.path().string());
    ASSERT_EQ(p.status, 0) << p.err;
    const torch::Tensor W1 = learnt_W(dir / single), WR = learnt_W(dir / parallel);
    ASSERT_EQ(W1.sizes(), WR.sizes());
    const double w_error = (WR - W1).norm().item<double>() / W1.norm().item<double>();
    const double j1 = last_objective(dir / single), jR = last_objective(dir / parallel);
    std::printf("%s, %d ranks: W %.2g, objective %.2g relative\n", what.c_str(), ranks, w_error, std::abs(jR - j1) / j1);
    EXPECT_LT(w_error, 1e-10) << what << ", " << ranks << " ranks";
    EXPECT_LT(std::abs(jR - j1) / j1, 1e-10) << what << ", " << ranks << " ranks: " << jR << " vs " << j1;
  }
  const torch::Tensor W2 = learnt_W(dir / "single2"), W3 = learnt_W(dir / "single3");
  std::printf("%s, steps of 2 vs 3 batches: W differs by %.2g relative\n", what.c_str(),
              (W2 - W3).norm().item<double>() / W2.norm().item<double>());
  EXPECT_GT((W2 - W3).norm().item<double>(), 1e-6 * W2.norm().item<double>());
}

TEST(DistributedOnline, RRanksEqualOneProcessWithRBatchesPerStep) {
  if (!distributed::Communicator::available()) GTEST_SKIP() << "built without the Gloo headers: no data-parallel runs";
  TempDir dir;
  write_online_matrix(dir / "V.npy");
  expect_ranks_equal_one_process(dir, online_config, ".npy");
}

TEST(DistributedOnline, BadDataInOneRanksBatchStopsEveryRankWithOneLine) {
  if (!distributed::Communicator::available()) GTEST_SKIP() << "built without the Gloo headers: no data-parallel runs";
  TempDir dir;
  write_online_matrix(dir / "V.npy", 11);  // column 11: batch 2 = training batch 2, read by rank 0 of 2
  testkit::write_text(dir / "one.yaml", online_config(1));
  const auto r = testkit::run_factorch("train one.yaml --out bad --quiet --nproc 2", dir.path().string());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("batch 2"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "bad"));
}

// A corpus of WAV files: batches are cut from each file (they end at file ends) and computed
// from the samples under their frames only, so a rank reads only its batches' samples. Three
// files of different lengths (1.3, 0.7 and 1.1 s at 8 kHz, n_fft 128, hop 64: 164, 89 and 139
// columns in batches of 20 → 9 + 5 + 7 batches) make uneven shards across the file ends.
// Measured: W 0 and 1.9e-16, the objective 0 and 5.7e-16 relative for 2 and 3 ranks.
TEST(DistributedOnline, WavCorpusOnRRanksEqualsOneProcess) {
  if (!distributed::Communicator::available()) GTEST_SKIP() << "built without the Gloo headers: no data-parallel runs";
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "wavs");
  torch::manual_seed(3);
  const double seconds[] = {1.3, 0.7, 1.1};
  for (int f = 0; f < 3; ++f) {
    const auto T = static_cast<int64_t>(seconds[f] * 8000);
    const torch::Tensor t = torch::arange(T, torch::kFloat64) / 8000.0;
    // Two notes whose loudness changes over time, plus a little noise.
    const torch::Tensor x = torch::sin(2 * M_PI * (300 + 50 * f) * t) * (1 + torch::sin(2 * M_PI * 1.5 * t)) +
                            0.5 * torch::sin(2 * M_PI * 1100 * t) * torch::rand({T}, torch::kFloat64) +
                            0.01 * torch::randn({T}, torch::kFloat64);
    io::write_wav((dir.path() / "wavs" / ("part" + std::to_string(f) + ".wav")).string(), 0.3 * x, 8000);
  }
  auto config = [](int batches_per_step) {
    return "model: {type: online_nmf, rank: 3, seed: 4, inner_iter: 5, batches_per_step: " +
           std::to_string(batches_per_step) + "}\n"
           "data: {input: wavs, transform: {n_fft: 128, hop: 64}, batch_size: 20, holdout_every: 4}\n"
           "trainer: {max_iter: 3, tol: 0, dtype: float64, progress: never, dist_timeout: 30}\n"
           "output: {dir: out}\n";
  };
  expect_ranks_equal_one_process(dir, config, "WAV corpus");
  EXPECT_EQ(learnt_W(dir / "single2").size(0), 65);  // n_fft 128: 65 bins
  // A file of another rate is found from the headers, before any rank computes a column.
  io::write_wav((dir.path() / "wavs" / "part3.wav").string(), torch::zeros({4000}, torch::kFloat64), 16000);
  const auto r = testkit::run_factorch("train one.yaml --out bad --quiet --nproc 2", dir.path().string());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("16000"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "bad"));
}

}  // namespace
}  // namespace factorch
