// SIREN initialisation, Fourier features against hand-computed values, softplus output.
#include <gtest/gtest.h>

#include <cmath>

#include "factorch/error.h"
#include "factorch/models/networks/fourier_features.h"
#include "factorch/models/networks/mlp.h"
#include "factorch/models/networks/siren.h"
#include "factorch/models/networks/batched_mlp.h"

namespace nn = factorch::nn;

TEST(Siren, InitialisationBounds) {
  torch::manual_seed(3);
  nn::Siren siren(nn::SirenOptions(20, 64).layers(3).omega_0(30.0));
  ASSERT_EQ(siren->layers->size(), 3u);
  for (size_t i = 0; i < siren->layers->size(); ++i) {
    const auto w = siren->layers[i]->as<torch::nn::Linear>()->weight;
    const double bound = i == 0 ? 1.0 / 20 : std::sqrt(6.0 / 64) / 30.0;
    EXPECT_DOUBLE_EQ(siren->init_bound(i), bound);
    const double m = w.abs().max().item<double>();
    EXPECT_LE(m, bound) << "layer " << i;
    EXPECT_GT(m, 0.95 * bound) << "layer " << i;  // uniform over the whole interval (1280+ draws)
    // Uniform U(−a, a) has standard deviation a/√3.
    EXPECT_NEAR(w.std().item<double>(), bound / std::sqrt(3.0), 0.1 * bound);
    EXPECT_EQ(w.scalar_type(), torch::kFloat64);
  }
  const auto x = torch::rand({5, 20}, torch::kFloat64);
  const auto y = siren->forward(x);
  EXPECT_EQ(y.sizes(), (torch::IntArrayRef{5, 64}));
  EXPECT_LE(y.abs().max().item<double>(), 1.0);
  // Closed form of one layer: sin(ω₀(Wx + b)).
  auto l0 = siren->layers[0]->as<torch::nn::Linear>();
  nn::Siren one(nn::SirenOptions(20, 64).layers(1));
  one->layers[0]->as<torch::nn::Linear>()->weight.set_data(l0->weight.clone());
  one->layers[0]->as<torch::nn::Linear>()->bias.set_data(l0->bias.clone());
  const auto expected = torch::sin(30.0 * (torch::mm(x, l0->weight.t()) + l0->bias));
  EXPECT_LT((one->forward(x) - expected).abs().max().item<double>(), 1e-12);
  EXPECT_THROW(nn::Siren(nn::SirenOptions(2, 4).layers(0)), factorch::Error);
}

TEST(FourierFeatures, HandComputedOctaves) {
  nn::FourierFeatures ff(nn::FourierFeaturesOptions(1, 3).kind("octave"));
  // B = [1, 2, 4]ᵀ; v = 0.125: 2πBv = π/4, π/2, π.
  const auto g = ff->forward(torch::tensor({{0.125}}, torch::kFloat64));
  const double r = std::sqrt(0.5);
  const auto expected = torch::tensor({{r, 0.0, -1.0, r, 1.0, 0.0}}, torch::kFloat64);
  EXPECT_LT((g - expected).abs().max().item<double>(), 1e-15);
  EXPECT_EQ(ff->out_features(), 6);
  // Two input dimensions: rows 2^k e_j, k-major.
  nn::FourierFeatures ff2(nn::FourierFeaturesOptions(2, 2));
  const auto B = torch::tensor({{1.0, 0.0}, {0.0, 1.0}, {2.0, 0.0}, {0.0, 2.0}}, torch::kFloat64);
  EXPECT_TRUE(torch::equal(ff2->B, B));
  const auto g2 = ff2->forward(torch::tensor({{0.25, 0.5}}, torch::kFloat64));
  // 2πBv = π/2, π, π, 2π → cos: 0, −1, −1, 1; sin: 1, 0, 0, 0.
  const auto e2 = torch::tensor({{0.0, -1.0, -1.0, 1.0, 1.0, 0.0, 0.0, 0.0}}, torch::kFloat64);
  EXPECT_LT((g2 - e2).abs().max().item<double>(), 1e-15);
}

TEST(FourierFeatures, PhaseGaussianAndTrainable) {
  torch::manual_seed(0);
  nn::FourierFeatures ph(nn::FourierFeaturesOptions(1, 4).random_phase(true));
  EXPECT_GE(ph->phase.min().item<double>(), 0.0);
  EXPECT_LT(ph->phase.max().item<double>(), 2 * M_PI);
  const auto g0 = ph->forward(torch::zeros({1, 1}, torch::kFloat64));  // γ(0) = [cos φ, sin φ]
  EXPECT_LT((g0[0] - torch::cat({torch::cos(ph->phase), torch::sin(ph->phase)})).abs().max().item<double>(), 1e-15);

  nn::FourierFeatures gauss(nn::FourierFeaturesOptions(1, 4000).kind("gaussian").sigma(3.0));
  EXPECT_NEAR(gauss->B.std().item<double>(), 3.0, 0.15);  // 4000 draws: s.e. of the std ≈ 0.034
  EXPECT_EQ(gauss->parameters().size(), 0u);              // fixed: B is a buffer
  EXPECT_EQ(gauss->buffers().size(), 2u);

  nn::FourierFeatures train(nn::FourierFeaturesOptions(1, 4).kind("gaussian").trainable(true));
  ASSERT_EQ(train->parameters().size(), 1u);
  train->forward(torch::rand({8, 1}, torch::kFloat64)).sum().backward();
  EXPECT_TRUE(train->B.grad().defined());
  EXPECT_THROW(nn::FourierFeatures(nn::FourierFeaturesOptions(1, 2).kind("fourier")), factorch::Error);
}

TEST(FourierFeatures, MlpSoftplusOutputIsNonnegative) {
  torch::manual_seed(1);
  for (double bias : {0.0, -30.0}) {
    nn::ImplicitMLP mlp(nn::ImplicitMLPOptions(1, 3).width(16).depth(2).output_bias(bias));
    const auto u = torch::rand({2000, 1}, torch::kFloat64) - 0.5;
    const auto y = mlp->forward(u);
    EXPECT_EQ(y.sizes(), (torch::IntArrayRef{2000, 3}));
    EXPECT_GE(y.min().item<double>(), 0.0);
    EXPECT_TRUE(y.isfinite().all().item<bool>());
  }
  // Without softplus the same network can go negative: the softplus is what guarantees it.
  nn::ImplicitMLP linear(nn::ImplicitMLPOptions(1, 1).width(16).depth(2).softplus(false).output_bias(-1.0));
  EXPECT_LT(linear->forward(torch::rand({200, 1}, torch::kFloat64) - 0.5).min().item<double>(), 0.0);
  // Named submodules: features, siren, output.
  auto names = linear->named_parameters().keys();
  EXPECT_NE(std::find(names.begin(), names.end(), "siren.layers.0.weight"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "output.bias"), names.end());
  EXPECT_THROW(nn::ImplicitMLP(nn::ImplicitMLPOptions(1, 1).features("wavelet")), factorch::Error);
}

TEST(BatchedImplicitMLP, MatchesSeparateNetworks) {
  // Same seed → the same initial weights as K ImplicitMLPs built in turn, and the same
  // outputs and gradients (to rounding: batched and plain matrix products sum in other orders).
  for (const bool trainable : {false, true}) {
    const auto o = nn::ImplicitMLPOptions(1, 1).width(16).depth(3).omega_0(30.0).n_frequencies(6).trainable_features(trainable);
    const int64_t K = 4;
    torch::manual_seed(7);
    std::vector<nn::ImplicitMLP> separate;
    for (int64_t k = 0; k < K; ++k) separate.emplace_back(o);
    torch::manual_seed(7);
    nn::BatchedImplicitMLP batched(K, o);
    for (int64_t k = 0; k < K; ++k) {
      auto s = separate[k]->siren->layers[1]->as<torch::nn::Linear>();
      EXPECT_TRUE(torch::equal(batched->weights[1][k], s->weight.t())) << k;
      EXPECT_TRUE(torch::equal(batched->biases[1][k][0], s->bias)) << k;
      EXPECT_TRUE(torch::equal(batched->phase[k][0], separate[k]->features->phase)) << k;
    }
    const auto u = torch::rand({300, 1}, torch::kFloat64) - 0.5;
    std::vector<torch::Tensor> outs;
    for (auto& s : separate) outs.push_back(s->forward(u));
    const auto expected = torch::cat(outs, 1);
    const auto y = batched->forward(u);
    ASSERT_EQ(y.sizes(), (torch::IntArrayRef{300, K}));
    EXPECT_LT((y - expected).abs().max().item<double>(), 1e-12 * expected.abs().max().item<double>());
    // Gradients of a weighted sum: slice k of each stacked gradient is network k's.
    const auto weights = torch::rand({300, K}, torch::kFloat64);
    (y * weights).sum().backward();
    (expected * weights).sum().backward();
    for (int64_t k = 0; k < K; ++k) {
      auto l0 = separate[k]->siren->layers[0]->as<torch::nn::Linear>();
      EXPECT_LT((batched->weights[0].grad()[k] - l0->weight.grad().t()).abs().max().item<double>(),
                1e-10 * l0->weight.grad().abs().max().item<double>());
      EXPECT_LT((batched->out_bias.grad()[k][0] - separate[k]->output->bias.grad()).abs().max().item<double>(), 1e-10);
      if (trainable) {
        EXPECT_LT((batched->B.grad()[k] - separate[k]->features->B.grad()).abs().max().item<double>(),
                  1e-10 * separate[k]->features->B.grad().abs().max().item<double>());
      }
    }
  }
  // One network with several outputs: columns in the network's order.
  torch::manual_seed(3);
  nn::ImplicitMLP one(nn::ImplicitMLPOptions(1, 3).width(8).depth(2));
  torch::manual_seed(3);
  nn::BatchedImplicitMLP wide(1, nn::ImplicitMLPOptions(1, 3).width(8).depth(2));
  const auto u = torch::rand({50, 1}, torch::kFloat64);
  EXPECT_LT((wide->forward(u) - one->forward(u)).abs().max().item<double>(), 1e-12);
  // Loading a separate network's tensors by name, and rejecting wrong shapes.
  torch::manual_seed(4);
  nn::ImplicitMLP other(nn::ImplicitMLPOptions(1, 3).width(8).depth(2));
  wide->load_network(0, *other);
  EXPECT_LT((wide->forward(u) - other->forward(u)).abs().max().item<double>(), 1e-12);
  EXPECT_FALSE(wide->set_network_tensor(0, "siren.layers.5.weight", torch::zeros({8, 8})));
  EXPECT_THROW(wide->set_network_tensor(0, "output.weight", torch::zeros({8, 3})), factorch::Error);
  EXPECT_THROW(nn::BatchedImplicitMLP(0, nn::ImplicitMLPOptions()), factorch::Error);
}
