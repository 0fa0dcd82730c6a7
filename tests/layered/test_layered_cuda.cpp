// Layered and discriminative layered NMF on CUDA: the same sweeps and rounds as on the CPU
// (float64 on both, so agreement is to rounding). Skipped where LibTorch sees no GPU.
#include <gtest/gtest.h>

#include <torch/cuda.h>

#include "factorch/models/discriminative_nmf.h"
#include "factorch/models/layered_nmf.h"

using namespace factorch;

namespace {

torch::Tensor positive_data(int64_t F, int64_t N, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::mm(torch::rand({F, 6}, torch::kFloat64), torch::rand({6, N}, torch::kFloat64)) + 0.01;
}

}  // namespace

TEST(LayeredNMF, CudaSweepsMatchCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA GPU available to LibTorch";
  const torch::Tensor X = positive_data(24, 30, 11);
  for (const double beta : {0.0, 1.0, 2.0}) {
    LayeredNMFOptions o(24, 30, {8, 4});
    o.beta(beta).pretrain_iter(10).seed(1);
    LayeredNMF cpu(o), gpu(o);
    cpu->pretrain(X);
    gpu->pretrain(X);  // pre-training on the CPU: identical start
    gpu->to(torch::kCUDA);
    const TrainingData d_cpu{X, {}, false}, d_gpu{X.to(torch::kCUDA), {}, false};
    for (int it = 0; it < 20; ++it) {
      cpu->mu_step(d_cpu);
      gpu->mu_step(d_gpu);
    }
    ASSERT_TRUE(gpu->H().is_cuda());
    for (int64_t l = 0; l < cpu->n_layers(); ++l)
      EXPECT_TRUE(torch::allclose(gpu->layers()[l].cpu(), cpu->layers()[l], 1e-8, 1e-12)) << "beta " << beta << " W" << l + 1;
    EXPECT_NEAR(gpu->loss(d_gpu).item<double>(), cpu->loss(d_cpu).item<double>(), 1e-8 * cpu->loss(d_cpu).item<double>());
  }
}

TEST(DLNMF, CudaRoundsMatchCpuAndKeepBlocks) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA GPU available to LibTorch";
  const int64_t F = 20, N = 25;
  const torch::Tensor S1 = positive_data(F, N, 21), S2 = positive_data(F, N, 22);
  const torch::Tensor data = torch::cat({S1 + S2, S1, S2}, 0);
  DiscriminativeLayeredNMFOptions o(F, N, {6, 3}, 2);
  o.h_iter(10).w_iter(3).patience(0);
  DiscriminativeLayeredNMF cpu(o), gpu(o);
  for (int64_t s = 0; s < 2; ++s) {
    torch::manual_seed(30 + s);
    const std::vector<torch::Tensor> layers{torch::rand({F, 6}, torch::kFloat64), torch::rand({6, 3}, torch::kFloat64)};
    cpu->set_source_layers(s, layers);
    gpu->set_source_layers(s, layers);
  }
  gpu->to(torch::kCUDA);
  cpu->init_activations(S1 + S2);
  gpu->init_activations((S1 + S2).to(torch::kCUDA));
  const TrainingData d_cpu{data, {}, false}, d_gpu{data.to(torch::kCUDA), {}, false};
  for (int round = 0; round < 3; ++round) {
    cpu->mu_step(d_cpu);
    gpu->mu_step(d_gpu);
  }
  EXPECT_EQ(gpu->off_diagonal_max(), 0.0);
  for (int64_t l = 0; l < cpu->n_layers(); ++l)
    EXPECT_TRUE(torch::allclose(gpu->layers()[l].cpu(), cpu->layers()[l], 1e-8, 1e-12)) << "W" << l + 1;
  const torch::Tensor sep_cpu = cpu->separate(S1 + S2), sep_gpu = gpu->separate((S1 + S2).to(torch::kCUDA));
  EXPECT_TRUE(sep_gpu.is_cuda());
  EXPECT_TRUE(torch::allclose(sep_gpu.cpu(), sep_cpu, 1e-8, 1e-12));
}
