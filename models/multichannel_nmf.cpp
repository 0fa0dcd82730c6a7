#include "factorch/models/multichannel_nmf.h"

#include <ostream>

#include "factorch/error.h"
#include "factorch/tolerances.h"
#include "factorch/multiplicative.h"
#include "factorch/penalty.h"
#include "factorch/models/nmf_init.h"
#include "factorch/signal/wiener.h"

namespace factorch {

MultichannelNMFImpl::MultichannelNMFImpl(const MultichannelNMFOptions& o) : options(o), divergence_(o.beta(), o.eps()) {
  require(o.channels() > 0 && o.n_features() > 0 && o.n_samples() > 0, "multichannel NMF needs nonempty data");
  require(o.sources() > 0, "sources must be > 0, got " + std::to_string(o.sources()));
  require(o.rank() > 0, "rank must be > 0, got " + std::to_string(o.rank()));
  reset();
}

void MultichannelNMFImpl::reset() {
  const MultichannelNMFOptions& o = options;
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  const int64_t JK = o.sources() * o.rank();
  W_ = register_parameter("W", torch::ones({o.n_features(), JK}, opts));
  H_ = register_parameter("H", torch::ones({JK, o.n_samples()}, opts));
  Q_ = register_parameter("Q", torch::full({o.channels(), o.sources()}, 1.0 / o.channels(), opts));
}

void MultichannelNMFImpl::init(const torch::Tensor& V, uint64_t seed) {
  init_factors(V.mean().item<double>(), options.n_samples(), 0, seed);
}

void MultichannelNMFImpl::init(const TrainingData& data, uint64_t seed) {
  if (!data.sharded()) return init(data.X, seed);
  torch::Tensor moments = torch::stack({data.X.sum().to(torch::kFloat64),
                                        torch::scalar_tensor(static_cast<double>(data.X.numel()), torch::kFloat64)});
  data.sum_over_shards(moments);
  init_factors(moments[0].item<double>() / moments[1].item<double>(), data.shard->total, data.shard->begin, seed);
}

void MultichannelNMFImpl::init_factors(double mean, int64_t total, int64_t begin, uint64_t seed) {
  torch::NoGradGuard no_grad;
  const int64_t JK = options.sources() * options.rank();
  const double scale = std::sqrt(mean * options.channels() / JK);
  W_.copy_(random_nonnegative(W_.sizes(), scale, seed, W_.options()));
  H_.copy_(random_nonnegative({JK, total}, scale, seed + 1, H_.options()).slice(1, begin, begin + options.n_samples()));
  // Mixing powers near 1/I but not equal, so that the sources can take different sides.
  Q_.copy_(random_nonnegative(Q_.sizes(), 1.0, seed + 2, Q_.options()).add_(0.5).div_(options.channels()));
}

torch::Tensor MultichannelNMFImpl::expanded_q() const {
  const torch::Tensor src =
      torch::arange(options.sources() * options.rank(), torch::TensorOptions().dtype(torch::kLong).device(Q_.device()))
          .div(options.rank(), "floor");
  return Q_.index_select(1, src);
}

torch::Tensor MultichannelNMFImpl::reconstruct() {
  return torch::matmul(W_.unsqueeze(0) * expanded_q().unsqueeze(1), H_);
}

torch::Tensor MultichannelNMFImpl::loss(const TrainingData& data) { return divergence_.value(data.X, reconstruct(), data.mask); }

torch::Tensor MultichannelNMFImpl::source_power(int64_t j) const {
  const int64_t K = options.rank();
  return torch::mm(W_.slice(1, j * K, (j + 1) * K), H_.slice(0, j * K, (j + 1) * K));
}

void MultichannelNMFImpl::mu_step(const TrainingData& data) {
  torch::NoGradGuard no_grad;
  const int64_t I = options.channels(), F = options.n_features(), N = options.n_samples();
  const int64_t JK = options.sources() * options.rank();
  const torch::Tensor& V = data.X;  // I × F × N
  // W and Q are shared by every frame: a rank's numerator and denominator are sums over its
  // frames, added over ranks before the ratio (the same step as one process, up to rounding).
  auto update_shared = [&](torch::Tensor& A, const MultilinearTerm& term, const torch::Tensor& X) {
    if (!data.sharded()) return multiplicative_update_(A, term, X, divergence_);
    auto [numer, denom] = multiplicative_parts(A, term, X, divergence_);
    torch::Tensor both = torch::stack({numer, denom});
    data.sum_over_shards(both);
    apply_mm_ratio_(A, both[0], both[1], divergence_.exponent());
  };
  {
    const torch::Tensor QH = (expanded_q().unsqueeze(2) * H_.unsqueeze(0)).permute({1, 0, 2}).reshape({JK, I * N});
    update_shared(W_, MultilinearTerm{{}, QH, {}}, V.permute({1, 0, 2}).reshape({F, I * N}));
  }
  {
    const torch::Tensor WQ = (W_.unsqueeze(0) * expanded_q().unsqueeze(1)).reshape({I * F, JK});
    multiplicative_update_(H_, MultilinearTerm{WQ, {}, {}}, V.reshape({I * F, N}), divergence_);
  }
  {
    std::vector<torch::Tensor> S;
    for (int64_t j = 0; j < options.sources(); ++j) S.push_back(source_power(j).reshape({1, F * N}));
    update_shared(Q_, MultilinearTerm{{}, torch::cat(S, 0), {}}, V.reshape({I, F * N}));
  }
  normalise();
}

void MultichannelNMFImpl::normalise() {
  torch::NoGradGuard no_grad;
  const double tiny = BetaDivergence::tiny(W_.scalar_type());
  const torch::Tensor wn = W_.sum(0, true).clamp_min_(tiny);  // 1 × JK
  W_.div_(wn);
  H_.mul_(wn.t());
  const torch::Tensor qn = Q_.sum(0, true).clamp_min_(tiny);  // 1 × J
  Q_.div_(qn);
  H_.mul_(qn.t().repeat_interleave(options.rank(), 0));
}

void MultichannelNMFImpl::project() {
  torch::NoGradGuard no_grad;
  for (auto* p : {&W_, &H_, &Q_}) p->clamp_min_(kFactorFloor);
}

void MultichannelNMFImpl::check_data(const TrainingData& data) const {
  require(data.X.dim() == 3, "multichannel NMF data must be channels x F x N, got " + std::to_string(data.X.dim()) +
                                 " dimensions");
  require(data.X.size(0) == options.channels() && data.X.size(1) == options.n_features() &&
              data.X.size(2) == options.n_samples(),
          "data shape does not match the model (" + std::to_string(options.channels()) + " channels)");
  divergence_.check_data(data.X, "data");
  require(!data.mask.defined(), "multichannel NMF takes no mask");
}

NamedTensors MultichannelNMFImpl::factors() {
  NamedTensors out;
  out.insert("W", W_.detach());
  out.insert("H", H_.detach());
  out.insert("Q", Q_.detach());
  return out;
}

FactorDescriptions MultichannelNMFImpl::describe_factors() {
  return {{"W", FactorRole::Dictionary, "dictionary: K templates per source, sources side by side", FactorPlot::Image},
          {"H", FactorRole::Activations, "activations: one row per component, one column per frame", FactorPlot::Image},
          {"Q", FactorRole::Other, "mixing powers q_ij = |a_ij|^2 (row: channel i, column: source j)"}};
}

void MultichannelNMFImpl::set_factor(const std::string& name, const torch::Tensor& value) {
  torch::Tensor* t = name == "W" ? &W_ : name == "H" ? &H_ : name == "Q" ? &Q_ : nullptr;
  require(t != nullptr, "multichannel NMF has no factor '" + name + "' (it has W, H, Q)");
  require(value.sizes() == t->sizes(), name + " has the wrong shape for this model (channels, sources or rank differ)");
  require(value.isfinite().all().item<bool>() && (value >= 0).all().item<bool>(), name + " must be finite and nonnegative");
  torch::NoGradGuard no_grad;
  t->copy_(value.to(t->options()));
}

std::vector<torch::Tensor> MultichannelNMFImpl::source_images(const torch::Tensor& X) const {
  torch::NoGradGuard no_grad;
  require(X.dim() == 3 && X.size(0) == options.channels(), "source_images needs channels x F x N coefficients");
  std::vector<torch::Tensor> S;
  for (int64_t j = 0; j < options.sources(); ++j) S.push_back(source_power(j).to(torch::kCPU));
  return signal::instantaneous_images(X.cpu(), S, Q_.to(torch::kCPU));
}

void MultichannelNMFImpl::pretty_print(std::ostream& s) const {
  s << "factorch::MultichannelNMF(I=" << options.channels() << ", F=" << options.n_features() << ", N="
    << options.n_samples() << ", sources=" << options.sources() << ", K/source=" << options.rank()
    << ", divergence=" << divergence_.name() << ")";
}

}  // namespace factorch
