// clone() of every model type (torch::nn::Cloneable): after some training, the copy is deep
// (equal values in storage of its own, editing it leaves the original unchanged, caches not
// shared) and behaves as the original (same output, same result of further training).
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <typeinfo>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "factorch/models/discriminative_nmf.h"
#include "factorch/models/implicit_nmf.h"
#include "factorch/models/layered_nmf.h"
#include "factorch/models/multichannel_nmf.h"
#include "factorch/models/nmf.h"
#include "factorch/models/online_nmf.h"
#include "factorch/models/tlnmf.h"
#include "factorch/signal/logfreq.h"
#include "factorch/signal/stft.h"

namespace factorch {
namespace {

// Every tensor of a module, submodules included, by name.
std::map<std::string, torch::Tensor> state_of(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters(/*recurse=*/true)) out["parameter " + p.key()] = p.value();
  for (const auto& b : m.named_buffers(/*recurse=*/true)) out["buffer " + b.key()] = b.value();
  return out;
}

std::map<std::string, torch::Tensor> snapshot(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, t] : state_of(m)) out[name] = t.detach().clone();
  return out;
}

void expect_same_state(const std::map<std::string, torch::Tensor>& a, const std::map<std::string, torch::Tensor>& b,
                       const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const auto& [name, t] : a) {
    ASSERT_EQ(b.count(name), 1u) << what << ": " << name << " missing";
    EXPECT_TRUE(torch::equal(t, b.at(name))) << what << ": " << name;
  }
}

struct Case {
  std::string name;
  std::shared_ptr<FactorModelImpl> model;
  TrainingData data;
  std::function<void(FactorModelImpl&)> step;  // one training step
};

// The model's forward output: the objective, then the approximation (online NMF's is that of
// the last objective).
std::vector<torch::Tensor> output(FactorModelImpl& m, const TrainingData& data) {
  torch::NoGradGuard no_grad;
  const torch::Tensor loss = m.loss(data).detach().clone();
  return {loss, m.reconstruct().detach().clone()};
}

void mu(FactorModelImpl& m, const TrainingData& d) { m.mu_step(d); }

// Plain gradient descent (deterministic, no optimiser state) for the autograd-only model.
void gradient_step(FactorModelImpl& m, const TrainingData& d) {
  m.zero_grad();
  m.loss(d).backward();
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters())
    if (p.requires_grad() && p.grad().defined()) p.sub_(1e-3 * p.grad());
}

torch::Tensor positive(std::vector<int64_t> sizes, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::rand(sizes, gen, torch::kFloat64) + 0.1;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  {  // nmf, with forced zeros on H (a buffer registered after construction)
    const torch::Tensor V = positive({12, 20}, 1);
    auto m = std::make_shared<NMFImpl>(NMFOptions(12, 20, 3).beta(1.0).normalise(Normalisation::L1));
    m->init(V, "random", 3);
    m->set_h_mask((positive({3, 20}, 2) > 0.3).to(torch::kFloat64));
    out.push_back({"nmf", m, TrainingData(V), [V](FactorModelImpl& x) { mu(x, TrainingData(V)); }});
  }
  {  // tlnmf, unsupervised
    const torch::Tensor Y = positive({8, 30}, 4) - 0.6;
    auto m = std::make_shared<TLNMFImpl>(TLNMFOptions(8, 30, 3).warmup(2).phi_steps(2));
    const TrainingData d(Y);
    m->init(d, "random", 5);
    out.push_back({"tlnmf", m, d, [d](FactorModelImpl& x) { mu(x, d); }});
  }
  {  // tlnmf, supervised: the reference frames are a buffer registered after construction
    const torch::Tensor Y = positive({8, 30}, 6) - 0.6;
    auto m = std::make_shared<TLNMFImpl>(TLNMFOptions(8, 30, 4).warmup(2).phi_steps(2));
    m->set_reference(positive({8, 4}, 7) - 0.6, {2, 2});
    const TrainingData d(Y);
    m->init(d, "dct", 5);
    out.push_back({"tlnmf supervised", m, d, [d](FactorModelImpl& x) { mu(x, d); }});
  }
  const double fs = 8000.0;
  {  // innmf: matrix activations, spectral kernel, a second (joint) DFT size
    ImplicitNMFOptions o(2, fs);
    o.w_net().width(8).depth(2).n_frequencies(4);
    o.spectral_kernel(true).kernel_window("sine").kernel_n_fft(32).compression(0.5).kernel_glide(0.3);
    const torch::Tensor f32 = signal::stft_frequencies(32, fs), f64 = signal::stft_frequencies(64, fs);
    const torch::Tensor t32 = 0.002 + 0.002 * torch::arange(8, torch::kFloat64);
    const torch::Tensor t64 = 0.004 + 0.004 * torch::arange(4, torch::kFloat64);
    torch::manual_seed(8);
    auto m = std::make_shared<ImplicitNMFImpl>(o, f32, t32);
    m->to(torch::kFloat64);
    m->add_resolution(64, f64, t64);
    auto rows = [](const torch::Tensor& V, const torch::Tensor& f, const torch::Tensor& t, double n) {
      const torch::Tensor X = signal::time_frequency_samples(V, f, t);
      return torch::cat({X, torch::full({X.size(0), 1}, n, X.options())}, 1);
    };
    const TrainingData d(torch::cat({rows(positive({17, 8}, 9), f32, t32, 32), rows(positive({33, 4}, 10), f64, t64, 64)}),
                         {}, true);
    m->init_activations(d, 3);
    out.push_back({"innmf joint sizes", m, d, [d](FactorModelImpl& x) { gradient_step(x, d); }});
  }
  {  // innmf: implicit activations (a second network), fixed dictionary (frozen parameters)
    ImplicitNMFOptions o(2, fs);
    o.w_net().width(8).depth(2).n_frequencies(4);
    o.h_net().width(8).depth(2).n_frequencies(4);
    o.activations(ImplicitActivations::Implicit).fixed_dictionary(true);
    const torch::Tensor f = signal::stft_frequencies(32, fs), t = 0.002 * torch::arange(8, torch::kFloat64);
    torch::manual_seed(11);
    auto m = std::make_shared<ImplicitNMFImpl>(o, f, t);
    m->to(torch::kFloat64);
    const TrainingData d(signal::time_frequency_samples(positive({17, 8}, 12), f, t), {}, true);
    m->init_activations(d, 4);
    out.push_back({"innmf implicit", m, d, [d](FactorModelImpl& x) { gradient_step(x, d); }});
  }
  {  // online_nmf: kept activations of every batch, statistics A, B
    const torch::Tensor V = positive({10, 120}, 13);
    auto stream = tensor_column_stream(V);
    int64_t train = 0;
    const TrainingData held(held_back_columns(*stream, 20, 3, &train));
    auto m = std::make_shared<OnlineNMFImpl>(
        OnlineNMFOptions(10, 3).batch_size(20).holdout_every(3).train_columns(train).inner_iter(5).forget(0.5), stream);
    m->init(held.X.mean().item<double>(), 6);
    out.push_back({"online_nmf", m, held, [held](FactorModelImpl& x) { mu(x, held); }});
  }
  {  // multichannel_nmf
    const torch::Tensor V = positive({2, 10, 15}, 14);
    auto m = std::make_shared<MultichannelNMFImpl>(MultichannelNMFOptions(2, 10, 15, 2, 2));
    m->init(V, 7);
    out.push_back({"multichannel_nmf", m, TrainingData(V), [V](FactorModelImpl& x) { mu(x, TrainingData(V)); }});
  }
  {  // lnmf
    const torch::Tensor X = positive({12, 15}, 15);
    auto m = std::make_shared<LayeredNMFImpl>(LayeredNMFOptions(12, 15, {5, 3}).pretrain_iter(5));
    m->pretrain(X);
    out.push_back({"lnmf", m, TrainingData(X), [X](FactorModelImpl& x) { mu(x, TrainingData(X)); }});
  }
  {  // dlnmf: [mixture; sources] rows
    const int64_t F = 6, N = 10;
    const torch::Tensor s1 = positive({F, N}, 16), s2 = positive({F, N}, 17);
    const torch::Tensor X = torch::cat({s1 + s2, s1, s2});
    auto m = std::make_shared<DiscriminativeLayeredNMFImpl>(
        DiscriminativeLayeredNMFOptions(F, N, {4, 2}, 2).h_iter(3).w_iter(2).patience(0));
    for (int64_t s = 0; s < 2; ++s) m->set_source_layers(s, {positive({F, 4}, 18 + s), positive({4, 2}, 20 + s)});
    m->remember_initial_layers();
    m->init_activations(s1 + s2);
    out.push_back({"dlnmf", m, TrainingData(X), [X](FactorModelImpl& x) { mu(x, TrainingData(X)); }});
  }
  return out;
}

TEST(NMFModels, EveryModelTypeClonesDeeply) {
  std::set<std::string> covered;
  for (Case& c : cases()) {
    SCOPED_TRACE(c.name);
    FactorModelImpl& model = *c.model;
    covered.insert(model.type());
    for (int i = 0; i < 3; ++i) c.step(model);  // parameters away from their start

    // clone() must not move the caller's random stream (innmf builds fresh networks).
    torch::manual_seed(42);
    const torch::Tensor expected_draw = torch::rand({4});
    torch::manual_seed(42);
    std::shared_ptr<torch::nn::Module> copy_module = model.clone();
    EXPECT_TRUE(torch::equal(torch::rand({4}), expected_draw)) << "clone() drew from the default generator";
    auto copy = std::dynamic_pointer_cast<FactorModelImpl>(copy_module);
    ASSERT_NE(copy, nullptr);
    const FactorModelImpl& copy_ref = *copy;  // typeid of a plain reference: no side effects to warn about
    ASSERT_EQ(typeid(copy_ref), typeid(model));

    // Equal values in storage of its own, the same trainability.
    const auto original_state = state_of(model), copy_state = state_of(*copy);
    ASSERT_FALSE(original_state.empty());
    ASSERT_EQ(original_state.size(), copy_state.size());
    for (const auto& [name, t] : original_state) {
      ASSERT_EQ(copy_state.count(name), 1u) << name;
      const torch::Tensor& u = copy_state.at(name);
      EXPECT_TRUE(torch::equal(t, u)) << name;
      EXPECT_EQ(t.requires_grad(), u.requires_grad()) << name;
      if (t.numel() > 0) {
        EXPECT_NE(t.data_ptr(), u.data_ptr()) << name << " is shared";
      }
    }
    // clone(device) on the same device is a deep copy too.
    const auto on_cpu = state_of(*model.clone(torch::Device(torch::kCPU)));
    for (const auto& [name, t] : original_state) {
      if (t.numel() > 0) {
        EXPECT_NE(t.data_ptr(), on_cpu.at(name).data_ptr()) << name << " is shared by clone(cpu)";
      }
    }

    // The same forward output, and the same result of further training (original first: a
    // cache shared with it would feed the copy the original's updated values).
    const auto out_model = output(model, c.data), out_copy = output(*copy, c.data);
    for (size_t i = 0; i < out_model.size(); ++i) EXPECT_TRUE(torch::equal(out_model[i], out_copy[i])) << "output " << i;
    for (int i = 0; i < 2; ++i) c.step(model);
    for (int i = 0; i < 2; ++i) c.step(*copy);
    expect_same_state(state_of(model), state_of(*copy), "after training both");
    const auto trained_model = output(model, c.data), trained_copy = output(*copy, c.data);
    for (size_t i = 0; i < trained_model.size(); ++i)
      EXPECT_TRUE(torch::equal(trained_model[i], trained_copy[i])) << "output " << i << " after training both";

    // Editing the copy leaves the original as it was.
    const auto before = snapshot(model);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : copy->parameters()) p.mul_(2.0).add_(1.0);
    }
    c.step(*copy);
    expect_same_state(before, snapshot(model), "original after editing and training the copy");
    EXPECT_FALSE(torch::equal(output(model, c.data)[0], output(*copy, c.data)[0]));
  }
  // Every model type of the library (add a case here with a new one).
  EXPECT_EQ(covered, (std::set<std::string>{"nmf", "tlnmf", "innmf", "online_nmf", "multichannel_nmf", "lnmf", "dlnmf"}));
}

}  // namespace
}  // namespace factorch
