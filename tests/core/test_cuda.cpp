// CUDA paths of the core: always compiled, skipped at run time without a GPU. MU sweeps on
// the GPU match the CPU (float64), and a CPU checkpoint resumes (fine-tunes) on CUDA.
#include <gtest/gtest.h>

#include <torch/cuda.h>

#include "../test_support.h"
#include "app/run.h"
#include "factorch/io/npy.h"
#include "factorch/train/trainer.h"
#include "factorch/models/nmf.h"

using namespace factorch;

namespace {
bool has_cuda() { return torch::cuda::is_available(); }
}  // namespace

TEST(Cuda, MuSweepsMatchCpuForEveryBeta) {
  if (!has_cuda()) GTEST_SKIP() << "no CUDA GPU available to LibTorch";
  torch::manual_seed(3);
  const torch::Tensor V = torch::rand({24, 30}, torch::kFloat64) + 0.05;
  for (double beta : {0.0, 0.5, 1.0, 2.0}) {
    NMF cpu(NMFOptions(24, 30, 4).beta(beta).l1_h(0.1)), gpu(NMFOptions(24, 30, 4).beta(beta).l1_h(0.1));
    cpu->init(V, "nndsvda", 0);
    gpu->init(V, "nndsvda", 0);
    gpu->to(torch::kCUDA);
    const TrainingData on_gpu{V.to(torch::kCUDA)};
    for (int i = 0; i < 30; ++i) {
      cpu->mu_step({V});
      gpu->mu_step(on_gpu);
    }
    EXPECT_TRUE(torch::allclose(gpu->W().cpu(), cpu->W(), 1e-9, 1e-12)) << "beta " << beta;
    EXPECT_TRUE(torch::allclose(gpu->H().cpu(), cpu->H(), 1e-9, 1e-12)) << "beta " << beta;
  }
}

TEST(Cuda, CpuCheckpointFineTunesOnCuda) {
  if (!has_cuda()) GTEST_SKIP() << "no CUDA GPU available to LibTorch";
  testkit::TempDir dir;
  torch::manual_seed(4);
  io::save_npy(dir / "x.npy", torch::rand({16, 20}, torch::kFloat64) + 0.01);
  const std::string yaml = "model: {type: nmf, rank: 3, beta: 1}\ndata: {input: " + dir / "x.npy" +
                           "}\ntrainer: {max_iter: 20, tol: 0, progress: never}\noutput: {dir: " + dir / "cpu" + "}\n";
  const app::RunResult first = app::run_training(Config::parse(yaml, "cpu.yaml"), {std::nullopt, true, true});
  const Config resumed = Config::parse(yaml, "gpu.yaml", {"trainer.device=cuda", "trainer.max_iter=40",
                                                           "output.dir=" + dir / "gpu"});
  const app::RunResult second = app::run_training(resumed, {dir / "cpu/checkpoint.pt", true, true});
  EXPECT_TRUE(second.model->parameters().front().is_cuda());
  EXPECT_LT(second.result.objective, first.result.objective);
  EXPECT_EQ(io::load_npy(dir / "gpu/factors/W.npy").size(0), 16);  // exports come back to the CPU
  // The fine-tuned run continues the CPU run: it matches an uninterrupted 40-iteration CPU
  // run, which a fresh start on the GPU (other random factors) would miss by O(1). float64
  // MU differs between CPU and GPU by summation order only (~1e-16 relative per operation);
  // 1e-9 leaves six orders of magnitude for 20 iterations (not measured here: no GPU).
  const Config whole = Config::parse(yaml, "whole.yaml", {"trainer.max_iter=40", "output.dir=" + dir / "whole"});
  const app::RunResult uninterrupted = app::run_training(whole, {std::nullopt, true, true});
  EXPECT_NEAR(second.result.objective, uninterrupted.result.objective, 1e-9 * uninterrupted.result.objective);
  EXPECT_EQ(second.result.iterations, 40);
  for (const char* f : {"W", "H"}) {
    const torch::Tensor gpu = io::load_npy(dir / ("gpu/factors/" + std::string(f) + ".npy"));
    const torch::Tensor cpu = io::load_npy(dir / ("whole/factors/" + std::string(f) + ".npy"));
    EXPECT_TRUE(torch::allclose(gpu, cpu, 1e-9, 1e-12)) << f << ": max diff " << (gpu - cpu).abs().max().item<double>();
  }
}
