#include "models/nmf.h"

#include <ostream>

#include <torch/nn/functional/activation.h>

#include "factorch/error.h"
#include "models/nmf_init.h"

namespace factorch {

namespace {
std::string shape_string(const torch::Tensor& t) {
  std::string s;
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? "x" : "") + std::to_string(t.size(i));
  return s;
}
}  // namespace

NMFImpl::NMFImpl(const NMFOptions& options_) : options(options_), divergence_(options_.beta(), options_.eps()) {
  require(options.rank() > 0, "model.rank must be a positive integer, got " + std::to_string(options.rank()));
  require(options.n_features() > 0 && options.n_samples() > 0, "NMF needs a nonempty data matrix");
  require(options.normalise() == "l1" || options.normalise() == "l2" || options.normalise() == "none",
          "model.normalise must be l1, l2 or none, got '" + options.normalise() + "'");
  reset();
}

void NMFImpl::reset() {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  W_ = register_parameter("W", to_raw(torch::full({options.n_features(), options.rank()}, 1.0, opts)),
                          !options.fixed_w());
  H_ = register_parameter("H", to_raw(torch::full({options.rank(), options.n_samples()}, 1.0, opts)),
                          !options.fixed_h());
}

torch::Tensor NMFImpl::to_raw(const torch::Tensor& value) const {
  if (!options.softplus()) return value;
  // inverse softplus log(eˣ − 1), written stably for large x
  const torch::Tensor x = value.clamp_min(options.floor());
  return x + torch::log(-torch::expm1(-x));
}

torch::Tensor NMFImpl::W() const { return options.softplus() ? torch::softplus(W_) : W_; }
torch::Tensor NMFImpl::H() const { return options.softplus() ? torch::softplus(H_) : H_; }

void NMFImpl::init(const torch::Tensor& V, const std::string& method, uint64_t seed) {
  auto [W0, H0] = initial_factors(V.to(W_.options()), options.rank(), method, seed);
  torch::NoGradGuard no_grad;
  if (!options.fixed_w()) W_.copy_(to_raw(W0));
  if (!options.fixed_h()) H_.copy_(to_raw(H0));
}

torch::Tensor NMFImpl::reconstruct() { return torch::mm(W(), H()); }

torch::Tensor NMFImpl::loss(const TrainingData& data) {
  const torch::Tensor W = this->W(), H = this->H();
  torch::Tensor value = divergence_.value(data.X, torch::mm(W, H), data.mask);
  const FactorPenalty pw{options.l1_w(), options.l2_w()}, ph{options.l1_h(), options.l2_h()};
  if (pw.active()) value = value + pw.value(W);
  if (ph.active()) value = value + ph.value(H);
  return value;
}

void NMFImpl::mu_step(const TrainingData& data) {
  require(!options.softplus(), "NMF with softplus parametrisation is for autograd trainers, not MU");
  torch::NoGradGuard no_grad;
  const torch::Tensor& V = data.X;
  if (!options.fixed_w()) {
    multiplicative_update_(W_, MultilinearTerm{{}, H_, {}}, V, divergence_, {options.l1_w(), options.l2_w()},
                           data.mask);
  }
  if (!options.fixed_h()) {
    multiplicative_update_(H_, MultilinearTerm{W_, {}, {}}, V, divergence_, {options.l1_h(), options.l2_h()},
                           data.mask);
  }
  if (!options.fixed_w() && !options.fixed_h()) normalise();
}

void NMFImpl::normalise() {
  if (options.normalise() == "none" || options.softplus()) return;
  torch::NoGradGuard no_grad;
  const double p = options.normalise() == "l1" ? 1.0 : 2.0;
  const torch::Tensor norms = W_.norm(p, {0}, /*keepdim=*/true).clamp_min_(BetaDivergence::tiny(W_.scalar_type()));
  W_.div_(norms);
  H_.mul_(norms.t());
}

void NMFImpl::project() {
  if (options.softplus()) return;
  torch::NoGradGuard no_grad;
  W_.clamp_min_(options.floor());
  H_.clamp_min_(options.floor());
}

void NMFImpl::check_data(const TrainingData& data) const {
  require(data.X.dim() == 2, "NMF data must be a matrix, got " + std::to_string(data.X.dim()) + " dimensions");
  require(data.X.size(0) == options.n_features() && data.X.size(1) == options.n_samples(),
          "data is " + shape_string(data.X) + " but the model was built for " +
              std::to_string(options.n_features()) + "x" + std::to_string(options.n_samples()));
  divergence_.check_data(data.X, "data");
  if (data.mask.defined()) {
    require(data.mask.sizes() == data.X.sizes(), "mask is " + shape_string(data.mask) + " but data is " +
                                                     shape_string(data.X));
    require((data.mask >= 0).all().item<bool>(), "mask has negative weights");
  }
}

NamedTensors NMFImpl::factors() {
  NamedTensors out;
  out.insert("W", W().detach());
  out.insert("H", H().detach());
  return out;
}

void NMFImpl::set_factor(const std::string& name, const torch::Tensor& value) {
  torch::Tensor* target = name == "W" ? &W_ : name == "H" ? &H_ : nullptr;
  require(target != nullptr, "NMF has no factor '" + name + "' (it has W and H)");
  require(value.sizes() == target->sizes(), name + " is " + shape_string(value) + " but the model needs " +
                                                shape_string(*target));
  require(value.isfinite().all().item<bool>() && (value >= 0).all().item<bool>(),
          name + " must be finite and nonnegative");
  torch::NoGradGuard no_grad;
  target->copy_(to_raw(value.to(target->options())));
}

void NMFImpl::pretty_print(std::ostream& stream) const {
  stream << "factorch::NMF(F=" << options.n_features() << ", N=" << options.n_samples() << ", K=" << options.rank()
         << ", divergence=" << divergence_.name() << ", l1_w=" << options.l1_w() << ", l1_h=" << options.l1_h()
         << ", normalise=" << options.normalise() << (options.fixed_w() ? ", fixed W" : "")
         << (options.fixed_h() ? ", fixed H" : "") << ")";
}

}  // namespace factorch
