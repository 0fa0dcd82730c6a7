// NMF module: monotone MU for every β, planted recovery, scikit-learn iterate-for-iterate
// agreement, fixed dictionary, masks, penalties, initialisations.
#include <gtest/gtest.h>

#include <algorithm>

#include "../test_support.h"
#include "factorch/error.h"
#include "factorch/io/npy.h"
#include "factorch/train/trainer.h"
#include "factorch/models/nmf.h"
#include "factorch/models/nmf_init.h"

using namespace factorch;

namespace {
torch::Tensor nmf_data(int64_t F, int64_t N, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::rand({F, N}, torch::kFloat64) + 0.05;
}

TrainResult train_mu(const std::shared_ptr<FactorModelImpl>& model, const TrainingData& data, int64_t iters,
                     std::vector<TrainRecord>* history = nullptr) {
  MultiplicativeTrainer trainer(TrainerOptions().max_iter(iters).tol(0));
  TrainResult r = trainer.fit(model, data);
  if (history) *history = trainer.state().history;
  return r;
}
}  // namespace

TEST(NMF, MuObjectiveNonIncreasingForEveryBeta) {
  const torch::Tensor V = nmf_data(20, 30, 1);
  for (double beta : {0.0, 0.5, 1.0, 1.5, 2.0, 3.0}) {
    for (const char* norm : {"none", "l1"}) {
      NMF model(NMFOptions(20, 30, 4).beta(beta).normalise(normalisation_from_name(norm)));
      model->init(V, "random", 3);
      std::vector<TrainRecord> h;
      train_mu(model.ptr(), {V}, 100, &h);
      for (size_t i = 1; i < h.size(); ++i)
        ASSERT_LE(h[i].objective, h[i - 1].objective * (1 + 1e-12)) << "beta=" << beta << " norm=" << norm << " it=" << i;
      EXPECT_LT(h.back().objective, 0.5 * h.front().objective) << "beta=" << beta;
      if (std::string(norm) == "l1") {
        EXPECT_TRUE(torch::allclose(model->W().sum(0), torch::ones({4}, torch::kFloat64)));
      }
    }
  }
}

TEST(NMF, PenalisedObjectiveNonIncreasing) {
  const torch::Tensor V = nmf_data(15, 25, 2);
  for (double beta : {0.0, 1.0, 2.0}) {
    NMF model(NMFOptions(15, 25, 3).beta(beta).l1_h(0.5).l1_w(0.2).l2_h(0.1));
    model->init(V, "random", 1);
    std::vector<TrainRecord> h;
    train_mu(model.ptr(), {V}, 60, &h);
    for (size_t i = 1; i < h.size(); ++i) ASSERT_LE(h[i].objective, h[i - 1].objective * (1 + 1e-12)) << beta;
  }
}

TEST(NMF, L1PenaltyMakesActivationsSparser) {
  // Hoyer sparsity (√K − ‖h‖₁/‖h‖₂)/(√K − 1) of the activation columns, averaged: 0 dense, 1 one-hot.
  const torch::Tensor V = nmf_data(20, 40, 3);
  auto hoyer = [&](double l1) {
    // l2-normalised W: with l1 columns and β = 1, Σ WH = Σ H and the penalty would only rescale H.
    NMF m(NMFOptions(20, 40, 6).beta(1).l1_h(l1).normalise(Normalisation::L2));
    m->init(V, "random", 0);
    train_mu(m.ptr(), {V}, 300);
    const torch::Tensor H = m->H();
    const double k = std::sqrt(6.0);
    const double s = ((k - H.sum(0) / H.norm(2, {0})) / (k - 1)).mean().item<double>();
    std::printf("l1_h %.1f: Hoyer sparsity %.3f\n", l1, s);
    return s;
  };
  const double dense = hoyer(0.0), mild = hoyer(0.5), strong = hoyer(2.0);
  EXPECT_GT(mild, dense);
  EXPECT_GT(strong, dense + 0.1);
}

TEST(NMF, RecoversPlantedFactorisation) {
  // Sparse planted factors make the factorisation essentially unique; β = 2 objective → ~0.
  torch::manual_seed(7);
  const torch::Tensor W0 = torch::rand({30, 4}, torch::kFloat64) * (torch::rand({30, 4}) > 0.4);
  const torch::Tensor H0 = torch::rand({4, 40}, torch::kFloat64) * (torch::rand({4, 40}) > 0.4);
  const torch::Tensor V = torch::mm(W0, H0);
  NMF model(NMFOptions(30, 40, 4).beta(2));
  model->init(V, "nndsvda", 0);
  std::vector<TrainRecord> h;
  train_mu(model.ptr(), {V}, 3000, &h);
  const double rel = std::sqrt(2 * h.back().objective) / V.norm().item<double>();
  EXPECT_LT(rel, 1e-3);  // measured: ~2e-5 after 3000 sweeps
  // The factors themselves, up to permutation and scale: the largest angle between a planted
  // column of W and its matched learnt column (best permutation of the 4! = 24).
  const torch::Tensor Wn = model->W() / model->W().norm(2, 0, true), W0n = W0 / W0.norm(2, 0, true);
  const torch::Tensor cosine = torch::mm(W0n.t(), Wn);  // planted × learnt
  std::vector<int64_t> perm = {0, 1, 2, 3};
  double best = -1;
  do {
    double worst = 1;
    for (int64_t k = 0; k < 4; ++k) worst = std::min(worst, cosine[k][perm[k]].item<double>());
    best = std::max(best, worst);
  } while (std::next_permutation(perm.begin(), perm.end()));
  std::printf("worst matched column: 1 - cos = %.3g\n", 1 - best);
  // measured 2.7e-6; 1e-4 is a 40× margin, far below the gap to an unrelated column.
  EXPECT_LT(1 - best, 1e-4);
}

TEST(NMF, MatchesScikitLearnIterates) {
  if (!testkit::python_has("numpy sklearn")) GTEST_SKIP() << "python3 with numpy + scikit-learn not available";
  testkit::TempDir dir;
  const torch::Tensor V = nmf_data(25, 30, 5);
  auto [W0, H0] = initial_factors(V, 4, "random", 11);
  io::save_npy(dir / "V.npy", V);
  io::save_npy(dir / "W0.npy", W0);
  io::save_npy(dir / "H0.npy", H0);
  testkit::write_text(dir / "ref.py", R"(
import sys, warnings, numpy as np
from sklearn.decomposition import NMF
d, beta, iters = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
V, W0, H0 = (np.load(f"{d}/{n}.npy") for n in ("V", "W0", "H0"))
warnings.simplefilter("ignore")
m = NMF(n_components=W0.shape[1], init="custom", solver="mu", beta_loss=beta, max_iter=iters, tol=0)
W = m.fit_transform(V, W=W0.copy(), H=H0.copy())
np.save(f"{d}/W.npy", W); np.save(f"{d}/H.npy", m.components_)
)");
  for (double beta : {2.0, 1.0, 0.0, 0.5, 3.0}) {
    ASSERT_EQ(testkit::run_python(dir / "ref.py", dir.path().string() + " " + std::to_string(beta) + " 50"), 0);
    NMF model(NMFOptions(25, 30, 4).beta(beta));
    model->set_factor("W", W0);
    model->set_factor("H", H0);
    train_mu(model.ptr(), {V}, 50);
    EXPECT_TRUE(torch::allclose(model->W(), io::load_npy(dir / "W.npy"), 1e-8, 1e-12)) << "beta=" << beta;
    EXPECT_TRUE(torch::allclose(model->H(), io::load_npy(dir / "H.npy"), 1e-8, 1e-12)) << "beta=" << beta;
  }
}

TEST(NMF, FixedDictionaryFitsActivationsOnly) {
  const torch::Tensor V = nmf_data(20, 25, 6);
  auto [W0, H0] = initial_factors(V, 3, "random", 2);
  NMF model(NMFOptions(20, 25, 3).beta(0).fixed_w(true).normalise(Normalisation::L1));
  model->set_factor("W", W0);
  model->init(V, "random", 9);  // only H is initialised
  std::vector<TrainRecord> h;
  train_mu(model.ptr(), {V}, 50, &h);
  EXPECT_TRUE(torch::equal(model->W(), W0));
  EXPECT_LT(h.back().objective, h.front().objective);
  EXPECT_FALSE(model->named_parameters()["W"].requires_grad());
}

TEST(NMF, MaskedEntriesDoNotInfluenceTheFit) {
  torch::Tensor V = nmf_data(12, 14, 8);
  torch::Tensor mask = torch::ones_like(V);
  mask.index_put_({torch::indexing::Slice(0, 4), torch::indexing::Slice(0, 5)}, 0.0);
  auto fit = [&](const torch::Tensor& data) {
    NMF m(NMFOptions(12, 14, 3).beta(1));
    m->init(nmf_data(12, 14, 9), "random", 0);
    train_mu(m.ptr(), {data, mask}, 40);
    return m->reconstruct();
  };
  torch::Tensor V2 = V.clone();
  V2.index_put_({torch::indexing::Slice(0, 4), torch::indexing::Slice(0, 5)}, 100.0);
  EXPECT_TRUE(torch::allclose(fit(V), fit(V2), 1e-12, 1e-14));
}

TEST(NMF, InitialisationsAreNonnegativeAndSeeded) {
  const torch::Tensor V = nmf_data(16, 18, 10);
  for (const char* m : {"random", "nndsvd", "nndsvda"}) {
    auto [W, H] = initial_factors(V, 5, m, 4);
    EXPECT_TRUE((W >= 0).all().item<bool>() && (H >= 0).all().item<bool>()) << m;
    auto [W2, H2] = initial_factors(V, 5, m, 4);
    EXPECT_TRUE(torch::equal(W, W2) && torch::equal(H, H2)) << m;
  }
  // NNDSVD is exact on a rank-1 nonnegative matrix.
  const torch::Tensor u = torch::rand({16, 1}, torch::kFloat64), v = torch::rand({1, 18}, torch::kFloat64);
  auto [W, H] = initial_factors(torch::mm(u, v), 1, "nndsvd", 0);
  EXPECT_TRUE(torch::allclose(torch::mm(W, H), torch::mm(u, v), 1e-10, 1e-12));
  auto [Wa, Ha] = initial_factors(V, 5, "nndsvda", 0);
  EXPECT_TRUE((Wa > 0).all().item<bool>() && (Ha > 0).all().item<bool>());
}

TEST(NMF, RejectsBadShapesAndData) {
  NMF model(NMFOptions(4, 5, 2));
  EXPECT_THROW(model->set_factor("W", torch::ones({4, 3}, torch::kFloat64)), factorch::Error);
  EXPECT_THROW(model->set_factor("Z", torch::ones({4, 2}, torch::kFloat64)), factorch::Error);
  EXPECT_THROW(model->set_factor("H", -torch::ones({2, 5}, torch::kFloat64)), factorch::Error);
  EXPECT_THROW(model->check_data({torch::ones({5, 4}, torch::kFloat64)}), factorch::Error);
  EXPECT_THROW(NMF(NMFOptions(4, 5, 0)), factorch::Error);
}
