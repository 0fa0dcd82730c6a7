// Data-parallel online_nmf: each rank reads only its batches (training batch t and held-back
// batch j belong to rank t mod R and j mod R); a step is R batches, their W statistics summed
// over ranks. So R ranks must equal one process with model.batches_per_step: R, in float64:
// the only difference is the order of the sums (all-reduce, held-back objective). Measured
// after 4 passes: W 0 and 1.3e-15, the objective 0 and 6.1e-16 relative for 2 and 3 ranks;
// the bound is the 1e-10, far below what another grouping of the batches changes
// (steps of 2 vs 3 batches: W differs by 0.055 relative, measured).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include <torch/torch.h>

#include "../test_support.h"
#include "factorch/distributed/communicator.h"
#include "factorch/io/npy.h"
#include "factorch/io/torch_file.h"

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

TEST(DistributedOnline, RRanksEqualOneProcessWithRBatchesPerStep) {
  if (!distributed::Communicator::available()) GTEST_SKIP() << "built without the Gloo headers: no data-parallel runs";
  TempDir dir;
  write_online_matrix(dir / "V.npy");
  testkit::write_text(dir / "one.yaml", online_config(1));
  for (int ranks : {2, 3}) {
    const std::string single_config = dir / ("single" + std::to_string(ranks) + ".yaml");
    testkit::write_text(single_config, online_config(ranks));
    const std::string single = "single" + std::to_string(ranks), parallel = "ranks" + std::to_string(ranks);
    const auto s = testkit::run_factorch("train " + single_config + " --out " + single + " --quiet", dir.path().string());
    ASSERT_EQ(s.status, 0) << s.err;
    const auto p = testkit::run_factorch("train one.yaml --out " + parallel + " --quiet --nproc " + std::to_string(ranks),
                                         dir.path().string());
    ASSERT_EQ(p.status, 0) << p.err;
    const torch::Tensor W1 = learnt_W(dir / single), WR = learnt_W(dir / parallel);
    ASSERT_EQ(W1.sizes(), WR.sizes());
    const double w_error = (WR - W1).norm().item<double>() / W1.norm().item<double>();
    EXPECT_LT(w_error, 1e-10) << ranks << " ranks";
    const double j1 = last_objective(dir / single), jR = last_objective(dir / parallel);
    std::printf("%d ranks: W %.2g, objective %.2g relative\n", ranks, w_error, std::abs(jR - j1) / j1);
    EXPECT_LT(std::abs(jR - j1) / j1, 1e-10) << ranks << " ranks: " << jR << " vs " << j1;
  }
  // And steps of 2 and of 3 batches differ: the comparisons above compared something.
  const torch::Tensor W2 = learnt_W(dir / "single2"), W3 = learnt_W(dir / "single3");
  std::printf("steps of 2 vs 3 batches: W differs by %.2g relative\n", (W2 - W3).norm().item<double>() / W2.norm().item<double>());
  EXPECT_GT((W2 - W3).norm().item<double>(), 1e-6 * W2.norm().item<double>());
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
  // WAV input is not sharded: named in one line.
  testkit::write_text(dir / "wav.yaml", "model: {type: online_nmf, rank: 2}\ndata: {input: x.wav}\noutput: {dir: w}\n");
  const auto w = testkit::run_factorch("train wav.yaml --quiet --nproc 2", dir.path().string());
  EXPECT_NE(w.status, 0);
  EXPECT_NE(w.err.find("data.input"), std::string::npos) << w.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "w"));
}

}  // namespace
}  // namespace factorch
