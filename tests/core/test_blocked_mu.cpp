// Large plain β-NMF runs its MU sweep over column blocks (models/nmf.cpp): the same update
// as the whole-matrix sweep, only the sums over columns are ordered differently. A mask of
// ones takes the whole-matrix path on the same problem, so the two can be compared: after 5
// sweeps they agree to ~1e-15 (float64); the bound 1e-11 leaves a 1e4 margin and any error
// in a block's formula (a missing column, a wrong exponent) is ≥ 1e-3.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "factorch/models/nmf.h"

namespace factorch {
namespace {

TEST(BlockedMu, EqualsTheWholeMatrixSweepForEveryBeta) {
  // 30 × 40 000: at F = 30 a block is 4096 columns, so 10 blocks (the last one partial).
  const int64_t F = 30, N = 40000, K = 4;
  torch::manual_seed(0);
  const torch::Tensor V = torch::mm(torch::rand({F, K}, torch::kFloat64), torch::rand({K, N}, torch::kFloat64)) + 0.05;
  for (double beta : {1.0, 0.0, 0.5, 1.5}) {
    NMF blocked(NMFOptions(F, N, K).beta(beta).l1_h(0.01).l2_w(0.02)), whole(NMFOptions(F, N, K).beta(beta).l1_h(0.01).l2_w(0.02));
    blocked->init(V, "random", 3);
    whole->init(V, "random", 3);
    TrainingData plain{V};
    TrainingData masked{V, torch::ones_like(V)};
    for (int i = 0; i < 5; ++i) {
      blocked->mu_step(plain);
      whole->mu_step(masked);
    }
    for (const char* name : {"W", "H"}) {
      const torch::Tensor a = blocked->factors()[name], b = whole->factors()[name];
      EXPECT_LT((a - b).norm().item<double>() / b.norm().item<double>(), 1e-11) << "beta " << beta << " " << name;
    }
  }
}

}  // namespace
}  // namespace factorch
