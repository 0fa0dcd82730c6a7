// iN-NMF's hand-written gradients (models/implicit_nmf_gradients.cpp) against autograd on
// loss(), the reference: float64 gradients, finite differences, whole training runs; and
// the fused kernels they use (sin_cos_, rprop_step_).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "app/config.h"
#include "app/experiments/implicit_nmf_entry.h"
#include "app/experiments/registry.h"
#include "factorch/fused.h"
#include "factorch/models/implicit_nmf.h"
#include "factorch/train/trainer.h"

using namespace factorch;

namespace {

std::string yaml(const std::string& extra_model = "") {
  return std::string(R"(
model:
  type: innmf
  rank: 3
  width: 16
  depth: 3
  omega_0: 30
  n_frequencies: 6
  seed: 2
  plot: false
)") + extra_model + R"(
data:
  synthetic: {signal: note_sequence, sample_rate: 4000, frequencies: [220, 330], seconds: 0.5, harmonics: 4}
  transform: {n_fft: 128, window: sine, exponent: 0.5}
trainer:
  kind: autograd
  optimizer: rprop
  lr: 0.001
  tol: 0
  dtype: float64
  progress: never
)";
}

struct Problem {
  std::shared_ptr<ImplicitNMFImpl> model;
  TrainingData data;
};

Problem build(const std::string& extra_model = "", torch::ScalarType dtype = torch::kFloat64) {
  const Config c = Config::parse(yaml(extra_model), "grad.yaml");
  const ModelEntry& e = model_entry("innmf");
  const app::Dataset ds = e.load_data(c);
  auto model = std::dynamic_pointer_cast<ImplicitNMFImpl>(e.build(c, ds));
  model->to(dtype);
  return {model, ds.matrix.to(torch::kCPU, dtype)};
}

void zero_grads(ImplicitNMFImpl& m) {
  for (auto& p : m.parameters())
    if (p.grad().defined()) p.mutable_grad().zero_();
}

std::vector<torch::Tensor> grads(ImplicitNMFImpl& m) {
  std::vector<torch::Tensor> out;
  for (auto& p : m.parameters()) out.push_back(p.grad().defined() ? p.grad().detach().clone() : torch::Tensor());
  return out;
}

// Largest |hand − autograd| over all gradients, relative to each gradient's largest entry.
double gradient_mismatch(Problem& s, const TrainingData& data, double* loss_mismatch = nullptr) {
  ImplicitNMFImpl& m = *s.model;
  EXPECT_TRUE(m.has_gradients(data));
  zero_grads(m);
  const torch::Tensor reference = m.loss(data);
  reference.backward();
  const auto autograd = grads(m);
  zero_grads(m);
  const torch::Tensor loss = m.gradients(data, true);
  const auto hand = grads(m);
  if (loss_mismatch) *loss_mismatch = std::abs(loss.item<double>() / reference.item<double>() - 1);
  double worst = 0;
  for (size_t i = 0; i < hand.size(); ++i) {
    EXPECT_EQ(hand[i].defined(), autograd[i].defined()) << "parameter " << i;
    if (!hand[i].defined() || !autograd[i].defined()) continue;
    const double scale = autograd[i].abs().max().item<double>();
    EXPECT_GT(scale, 0) << "parameter " << i;
    worst = std::max(worst, (hand[i] - autograd[i]).abs().max().item<double>() / scale);
  }
  return worst;
}

}  // namespace

TEST(InnmfGradients, HandWrittenEqualAutogradInFloat64) {
  Problem s = build();
  double loss = 1;
  const double whole = gradient_mismatch(s, s.data, &loss);
  // A band of the grid in shuffled order with repeated rows: the gather / index_add path.
  const int64_t S = s.data.X.size(0);
  const torch::Tensor rows = torch::cat({torch::randperm(S, torch::kLong).slice(0, 0, S / 2 + 7),
                                         torch::arange(0, 40, torch::kLong)});
  const double part = gradient_mismatch(s, s.data.rows(rows));
  std::printf("hand vs autograd (float64): whole grid %.2e, shuffled subset %.2e, loss %.2e\n", whole, part, loss);
  EXPECT_LT(whole, 1e-12);  // measured 3.3e-15
  EXPECT_LT(part, 1e-12);   // measured 2.4e-15
  EXPECT_LT(loss, 1e-13);   // measured 0
}

TEST(InnmfGradients, ReusedTapeFollowsChangedFeatures) {
  // gradients() keeps W_net's tape between calls, with the Fourier features cached: after
  // B and the phases change (a loaded dictionary), the next call must use the new ones.
  Problem s = build();
  EXPECT_LT(gradient_mismatch(s, s.data), 1e-12);
  {
    torch::NoGradGuard no_grad;
    s.model->W_net->B.mul_(1.5);
    s.model->W_net->phase.add_(0.25);
  }
  const double after = gradient_mismatch(s, s.data);
  EXPECT_LT(after, 1e-12);  // measured 3e-15; a stale cache gives O(1)
}

TEST(InnmfGradients, OneNetworkWithKOutputsAndFixedDictionary) {
  Problem one = build("  separate_networks: false\n");
  EXPECT_LT(gradient_mismatch(one, one.data), 1e-12);
  Problem fixed = build();
  for (auto& p : fixed.model->W_net->parameters()) p.set_requires_grad(false);
  EXPECT_LT(gradient_mismatch(fixed, fixed.data), 1e-12);
  for (auto& p : fixed.model->W_net->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(InnmfGradients, MatchFiniteDifferences) {
  Problem s = build();
  ImplicitNMFImpl& m = *s.model;
  zero_grads(m);
  m.gradients(s.data, false);
  torch::NoGradGuard no_grad;
  double worst = 0;
  // A few entries of every parameter tensor: central differences of the loss.
  for (auto& p : m.parameters()) {
    if (!p.requires_grad()) continue;
    const torch::Tensor flat = p.view({-1}), g = p.grad().reshape({-1});
    for (int64_t i : {int64_t{0}, flat.numel() / 2, flat.numel() - 1}) {
      const double v = flat[i].item<double>(), h = 1e-6 * std::max(1.0, std::abs(v));
      flat[i].fill_(v + h);
      const double up = m.loss(s.data).item<double>();
      flat[i].fill_(v - h);
      const double down = m.loss(s.data).item<double>();
      flat[i].fill_(v);
      const double fd = (up - down) / (2 * h), hand = g[i].item<double>();
      worst = std::max(worst, std::abs(fd - hand) / std::max(std::abs(hand), 1e-3));
    }
  }
  std::printf("hand vs finite differences: worst relative error %.2e\n", worst);
  EXPECT_LT(worst, 2e-6);  // measured 5.6e-7 (h = 1e-6: truncation and rounding)
}

TEST(InnmfGradients, TrainingRunEqualsTheAutogradRun) {
  // Rprop (the paper's optimiser) and Adam, float64 and float32: the hand-written path
  // against the autograd one from the same start.
  for (const std::string optimizer : {"rprop", "adam"}) {
    for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
      double objective[2];
      std::vector<torch::Tensor> params[2];
      for (int hand = 0; hand < 2; ++hand) {
        Problem s = build("", dtype);
        TrainerOptions t;
        t.kind("autograd").optimizer(optimizer).lr(1e-3).tol(0).progress("never");
        t.max_iter(60).eval_every(60);
        s.model->use_hand_gradients = hand == 1;
        ASSERT_TRUE(s.model->has_gradients(s.data));
        auto trainer = make_trainer(t);
        const auto r = trainer->fit(s.model, s.data);
        ASSERT_TRUE(r.ok);
        objective[hand] = r.objective;
        for (auto& p : s.model->parameters()) params[hand].push_back(p.detach().to(torch::kFloat64));
      }
      double worst = 0;
      for (size_t i = 0; i < params[0].size(); ++i)
        worst = std::max(worst, (params[0][i] - params[1][i]).abs().max().item<double>() /
                                    std::max(params[0][i].abs().max().item<double>(), 1e-30));
      const double rel = std::abs(objective[1] / objective[0] - 1);
      std::printf("%s %s, 60 epochs: objective autograd %.10g hand %.10g (rel %.1e), parameters rel %.1e\n",
                  optimizer.c_str(), dtype == torch::kFloat64 ? "float64" : "float32", objective[0], objective[1], rel,
                  worst);
      // measured: Rprop bitwise equal (its steps depend on gradient signs only); Adam float64
      // 8e-16 / 1.6e-14, float32 0 / 6.8e-6 (sin and cos within an ulp of LibTorch's).
      EXPECT_LT(rel, dtype == torch::kFloat64 ? 1e-13 : 1e-6);
      EXPECT_LT(worst, dtype == torch::kFloat64 ? 1e-12 : 1e-4);
    }
  }
}

TEST(InnmfGradients, AutogradWhereTheHandWrittenPathDoesNotApply) {
  EXPECT_FALSE(build("  spectral_kernel: true\n").model->has_gradients(build("  spectral_kernel: true\n").data));
  Problem s = build();
  TrainingData masked = s.data;
  masked.mask = torch::ones({s.data.X.size(0)}, torch::kFloat64);
  EXPECT_FALSE(s.model->has_gradients(masked));
  // A few rows scattered over the grid: sums of gathered products, not a GEMM on a band.
  EXPECT_FALSE(s.model->has_gradients(s.data.rows(torch::arange(0, s.data.X.size(0), s.data.X.size(0) / 10, torch::kLong))));
  EXPECT_TRUE(s.model->has_gradients(s.data));
}

TEST(InnmfFused, SinCosWithinTwoUlpOfLibm) {
  // float32: the vectorised polynomial, against double libm, over the arguments iN-NMF sees
  // (Fourier features up to 2π·2⁹, sine-layer pre-activations of tens).
  torch::Tensor x = torch::linspace(-4000.0, 4000.0, 2000001, torch::kFloat32);
  torch::Tensor z = x.clone();
  const torch::Tensor c = sin_cos_(z);
  const torch::Tensor xd = x.to(torch::kFloat64);
  const double es = (z.to(torch::kFloat64) - xd.sin()).abs().max().item<double>();
  const double ec = (c.to(torch::kFloat64) - xd.cos()).abs().max().item<double>();
  std::printf("sin_cos_ float32 on [-4000, 4000]: max error sin %.2e cos %.2e (ulp(1) = 1.19e-07)\n", es, ec);
  EXPECT_LT(es, 1.2e-7);
  EXPECT_LT(ec, 1.2e-7);
  // float64: libm (LibTorch's own sin may differ by an ulp); a non-contiguous tensor: the
  // ATen ops themselves.
  torch::Tensor zd = xd.clone();
  const torch::Tensor cd = sin_cos_(zd);
  EXPECT_LT((zd - xd.sin()).abs().max().item<double>(), 4.5e-16);
  EXPECT_LT((cd - xd.cos()).abs().max().item<double>(), 4.5e-16);
  torch::Tensor strided = x.slice(0, 0, 2000000).view({1000, -1}).slice(1, 0, 2000, 2).t();
  const torch::Tensor expect_s = strided.sin(), expect_c = strided.cos();
  const torch::Tensor cs = sin_cos_(strided);
  EXPECT_TRUE(torch::equal(strided, expect_s));
  EXPECT_TRUE(torch::equal(cs, expect_c));
}

TEST(InnmfFused, SinCosOfPreActivationPlusBias) {
  // z + bias (bias broadcast over the rows of each batch), float32 fused and float64 ATen.
  for (const auto dtype : {torch::kFloat32, torch::kFloat64}) {
    torch::manual_seed(4);
    const torch::Tensor z0 = torch::randn({3, 37, 24}, dtype) * 20, bias = torch::randn({3, 1, 24}, dtype) * 5;
    torch::Tensor z = z0.clone(), c = torch::empty_like(z0);
    sin_cos_(z, c, bias);
    const torch::Tensor a = (z0.to(torch::kFloat64) + bias.to(torch::kFloat64));
    const double es = (z.to(torch::kFloat64) - a.sin()).abs().max().item<double>();
    const double ec = (c.to(torch::kFloat64) - a.cos()).abs().max().item<double>();
    // float32: the rounding of z + bias (|z + b| < 128: half an ulp, 3.8e-6) plus the polynomial's.
    EXPECT_LT(es, dtype == torch::kFloat32 ? 8e-6 : 1e-15);
    EXPECT_LT(ec, dtype == torch::kFloat32 ? 8e-6 : 1e-15);
    if (dtype == torch::kFloat32) {
      // Against the same float32 sum: the polynomial's error only.
      torch::Tensor zs = z0 + bias, cs = torch::empty_like(zs);
      sin_cos_(zs, cs);
      EXPECT_TRUE(torch::equal(z, zs));
      EXPECT_TRUE(torch::equal(c, cs));
    }
  }
}

TEST(InnmfFused, RpropStepEqualsTheAtenSequence) {
  for (const auto dtype : {torch::kFloat32, torch::kFloat64}) {
    torch::manual_seed(3);
    const torch::Tensor p0 = torch::randn({50, 40}, dtype), g0 = torch::randn({50, 40}, dtype);
    torch::Tensor prev0 = torch::randn({50, 40}, dtype);
    prev0.masked_fill_(torch::rand({50, 40}) < 0.2, 0.0);
    g0.masked_fill_(torch::rand({50, 40}) < 0.1, 0.0);
    const torch::Tensor s0 = torch::rand({50, 40}, dtype) * 60;  // some steps beyond the clamp
    // Fused (contiguous) and ATen (transposed copies) paths on the same values.
    torch::Tensor p = p0.clone(), g = g0.clone(), s = s0.clone(), prev = prev0.clone();
    rprop_step_(p, g, s, prev);
    torch::Tensor pt = p0.t().contiguous().t(), gt = g0.t().contiguous().t(), st = s0.t().contiguous().t(),
                  prevt = prev0.t().contiguous().t();
    ASSERT_FALSE(pt.is_contiguous());
    rprop_step_(pt, gt, st, prevt);
    EXPECT_TRUE(torch::equal(p, pt));
    EXPECT_TRUE(torch::equal(s, st));
    EXPECT_TRUE(torch::equal(prev, prevt));
  }
}

namespace {

// torch.optim.Rprop's step (PyTorch 1.13, _single_tensor_rprop, etas (0.5, 1.2), step sizes
// (1e-6, 50)) transcribed op for op: the reference for the fused list step.
void torch_optim_rprop(torch::Tensor& p, const torch::Tensor& grad, torch::Tensor& step, torch::Tensor& prev) {
  torch::Tensor sign = grad.mul(prev).sign();
  sign = torch::where(sign > 0, torch::full_like(sign, 1.2), torch::where(sign < 0, torch::full_like(sign, 0.5), torch::ones_like(sign)));
  step.mul_(sign).clamp_(1e-6, 50.0);
  torch::Tensor g = grad.clone().masked_fill_(sign.eq(0.5), 0.0);
  p.addcmul_(g.sign(), step, -1.0);
  prev.copy_(g);
}

}  // namespace

TEST(InnmfFused, RpropOverAllParametersEqualsTorchOptimRprop) {
  // 30 steps on a list of parameters (one of them non-contiguous: the ATen path) from the
  // same gradients: gradients that keep, flip and lose their sign, some exactly 0.
  for (const auto dtype : {torch::kFloat32, torch::kFloat64}) {
    torch::manual_seed(5);
    std::vector<torch::Tensor> params{torch::randn({64, 64}, dtype), torch::randn({20, 1, 64}, dtype),
                                      torch::randn({40, 30}, dtype).t(), torch::randn({7}, dtype)};
    std::vector<torch::Tensor> ref_p, steps, prevs, ref_steps, ref_prevs, moved;
    for (auto& p : params) {
      ref_p.push_back(p.clone());
      steps.push_back(torch::full_like(p, 1.0));
      prevs.push_back(torch::zeros_like(p));
      ref_steps.push_back(torch::full_like(p, 1.0));
      ref_prevs.push_back(torch::zeros_like(p));
    }
    for (int k = 0; k < 30; ++k) {
      for (size_t i = 0; i < params.size(); ++i) {
        // Mostly the same sign as the last step (steps grow to the 50 cap over the run).
        torch::Tensor g = torch::randn(params[i].sizes(), dtype) + (k % 7 == 6 ? -0.5 : 1.5);
        g.masked_fill_(torch::rand(params[i].sizes()) < 0.05, 0.0);
        params[i].mutable_grad() = g.clone();
        torch_optim_rprop(ref_p[i], g, ref_steps[i], ref_prevs[i]);
      }
      rprop_step_(params, steps, prevs, moved);
      for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(torch::equal(moved[i], params[i]));
    }
    double worst = 0, worst_step = 0;
    for (size_t i = 0; i < params.size(); ++i) {
      worst = std::max(worst, ((params[i] - ref_p[i]).abs().max() / ref_p[i].abs().max()).item<double>());
      worst_step = std::max(worst_step, ((steps[i] - ref_steps[i]).abs().max() / ref_steps[i].abs().max()).item<double>());
      EXPECT_TRUE(torch::equal(prevs[i], ref_prevs[i]));
    }
    EXPECT_GT(ref_steps[0].max().item<double>(), 49.0);  // the cap is reached
    std::printf("fused Rprop vs torch.optim.Rprop, 30 steps (%s): parameters rel %.1e, steps rel %.1e\n",
                dtype == torch::kFloat32 ? "float32" : "float64", worst, worst_step);
    EXPECT_LE(worst, dtype == torch::kFloat32 ? 1e-6 : 1e-12);  // measured 0 (same arithmetic)
    EXPECT_LE(worst_step, dtype == torch::kFloat32 ? 1e-6 : 1e-12);
  }
}

TEST(InnmfFused, RpropRestartsWhereTheProjectionMoved) {
  for (const auto dtype : {torch::kFloat32, torch::kFloat64}) {
    torch::manual_seed(6);
    std::vector<torch::Tensor> params{torch::randn({50, 40}, dtype), torch::randn({40, 30}, dtype).t()};
    std::vector<torch::Tensor> moved, steps, prevs;
    for (auto& p : params) {
      moved.push_back(p.clone());
      steps.push_back(torch::rand(p.sizes(), dtype) + 0.5);
      prevs.push_back(torch::randn(p.sizes(), dtype));
    }
    const std::vector<torch::Tensor> steps0{steps[0].clone(), steps[1].clone()}, prevs0{prevs[0].clone(), prevs[1].clone()};
    for (auto& p : params) p.clamp_min_(0.3);  // the projection
    rprop_restart_where_moved_(params, moved, steps, prevs, 1e-3);
    for (size_t i = 0; i < params.size(); ++i) {
      const torch::Tensor clipped = moved[i] < 0.3;
      ASSERT_GT(clipped.sum().item<int64_t>(), 0);
      EXPECT_TRUE(torch::equal(steps[i], torch::where(clipped, torch::full_like(steps0[i], 1e-3), steps0[i])));
      EXPECT_TRUE(torch::equal(prevs[i], torch::where(clipped, torch::zeros_like(prevs0[i]), prevs0[i])));
    }
  }
}
