#include "factorch/models/layered_nmf.h"

#include <algorithm>
#include <cmath>
#include <ostream>

#include "factorch/error.h"
#include "factorch/shape_string.h"
#include "factorch/multiplicative.h"
#include "factorch/models/nmf.h"
#include "factorch/models/nmf_init.h"
#include "factorch/penalty.h"

namespace factorch {

namespace {


std::string sizes_string(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

torch::Tensor chain_product(const std::vector<torch::Tensor>& layers) {
  torch::Tensor out = layers.at(0);
  for (size_t l = 1; l < layers.size(); ++l) out = torch::mm(out, layers[l]);
  return out;
}

void check_layer_chain(const std::vector<torch::Tensor>& layers, const torch::Tensor& H, const std::string& what) {
  require(!layers.empty(), what + ": needs at least one layer");
  for (size_t l = 0; l < layers.size(); ++l) {
    const std::string name = "W" + std::to_string(l + 1);
    require(layers[l].dim() == 2, what + ": " + name + " must be a matrix, got " + shape_string(layers[l]));
    if (l > 0)
      require(layers[l].size(0) == layers[l - 1].size(1),
              what + ": layer sizes do not chain: " + name + " is " + shape_string(layers[l]) + " but W" +
                  std::to_string(l) + " has " + std::to_string(layers[l - 1].size(1)) + " columns");
  }
  if (H.defined())
    require(H.dim() == 2 && H.size(0) == layers.back().size(1),
            what + ": layer sizes do not chain: H is " + shape_string(H) + " but W" + std::to_string(layers.size()) +
                " has " + std::to_string(layers.back().size(1)) + " columns");
}

void layered_mu_sweep_(std::vector<torch::Tensor>& layers, torch::Tensor& H, const torch::Tensor& X,
                       const BetaDivergence& divergence, const torch::Tensor& mask, bool update_layers,
                       bool update_h, const std::function<void(torch::Tensor&)>& sum_over_shards) {
  torch::NoGradGuard no_grad;
  const size_t L = layers.size();
  torch::Tensor prefix;  // W¹…W^(l−1); undefined = identity
  if (update_layers) {
    // suffix[l] = W^(l+1)…Wᴸ H from the layers as they are before this sweep: layers after l
    // have not been updated yet when layer l is.
    std::vector<torch::Tensor> suffix(L);
    suffix[L - 1] = H;
    for (size_t l = L - 1; l-- > 0;) suffix[l] = torch::mm(layers[l + 1], suffix[l + 1]);
    for (size_t l = 0; l < L; ++l) {
      if (sum_over_shards) {
        // Sums over columns: this rank's parts plus the others', then the one-process ratio.
        auto [numer, denom] = multiplicative_parts(layers[l], MultilinearTerm{prefix, suffix[l], {}}, X, divergence, {}, mask);
        torch::Tensor both = torch::stack({numer, denom});
        sum_over_shards(both);
        apply_mm_ratio_(layers[l], both[0], both[1], divergence.exponent());
      } else {
        multiplicative_update_(layers[l], MultilinearTerm{prefix, suffix[l], {}}, X, divergence, {}, mask);
      }
      prefix = prefix.defined() ? torch::mm(prefix, layers[l]) : layers[l];
    }
  } else {
    prefix = chain_product(layers);
  }
  if (update_h) multiplicative_update_(H, MultilinearTerm{prefix, {}, {}}, X, divergence, {}, mask);
}

void normalise_layers_(std::vector<torch::Tensor>& layers, torch::Tensor& H) {
  torch::NoGradGuard no_grad;
  for (size_t l = 0; l < layers.size(); ++l) {
    const torch::Tensor norms = layers[l].sum(0).clamp_min_(BetaDivergence::tiny(layers[l].scalar_type()));
    layers[l].div_(norms.unsqueeze(0));
    torch::Tensor& next = l + 1 < layers.size() ? layers[l + 1] : H;
    next.mul_(norms.unsqueeze(1));
  }
}

LayeredNMFImpl::LayeredNMFImpl(const LayeredNMFOptions& options_)
    : options(options_), divergence_(options_.beta(), options_.eps()) {
  require(!options.layers().empty(), "layers must list at least one layer size, got []");
  for (const int64_t k : options.layers())
    require(k > 0, "layers must be positive integers, got " + sizes_string(options.layers()));
  require(options.n_features() > 0 && options.n_samples() > 0, "layered NMF needs a nonempty data matrix");
  require(options.normalise() != Normalisation::L2,
          "normalise must be l1 or none for layered NMF, got '" + normalisation_name(options.normalise()) + "'");
  require(options.pretrain_iter() >= 0, "pretrain_iter must be >= 0");
  reset();
}

void LayeredNMFImpl::reset() {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  W_.clear();
  int64_t rows = options.n_features();
  for (size_t l = 0; l < options.layers().size(); ++l) {
    const int64_t k = options.layers()[l];
    W_.push_back(register_parameter("W" + std::to_string(l + 1), torch::full({rows, k}, 1.0 / rows, opts),
                                    !options.fixed_bases()));
    rows = k;
  }
  H_ = register_parameter("H", torch::ones({rows, options.n_samples()}, opts));
}

PretrainedLayer LayeredNMFImpl::pretrain_layer(const torch::Tensor& V, size_t l) const {
  TrainingData data;
  data.X = V;
  return pretrain_layer_(data, l);
}

PretrainedLayer LayeredNMFImpl::pretrain_layer_(const TrainingData& V, size_t l) const {
  torch::NoGradGuard no_grad;
  // NMF of the previous layer's activations (of X for l = 0), reusing the NMF module.
  const int64_t K = options.layers().at(l);
  NMFOptions o(V.X.size(0), V.X.size(1), K);
  o.beta(options.beta()).eps(options.eps());
  NMF nmf(o);
  nmf->to(H_.device(), H_.scalar_type());
  TrainingData data = V;
  data.X = V.X.to(H_.options());
  if (data.sharded()) {
    // initial_factors(..., "random", seed + l) of the whole V: the mean over every rank, W and
    // the full H drawn with the same seeds, this rank's columns of H kept.
    require(options.init() == "random", "init " + options.init() + " needs the whole of X at once: data-parallel "
                                        "pre-training starts from random factors");
    torch::Tensor moments = torch::stack({data.X.sum().to(torch::kFloat64),
                                          torch::scalar_tensor(static_cast<double>(data.X.numel()), torch::kFloat64)});
    data.sum_over_shards(moments);
    const double mean = moments[0].item<double>() / moments[1].item<double>();
    const double scale = std::sqrt(std::max(mean, 1e-30) / static_cast<double>(K));
    const uint64_t seed = options.seed() + l;
    nmf->set_factor("W", random_nonnegative({data.X.size(0), K}, scale, seed, H_.options()));
    nmf->set_factor("H", random_nonnegative({K, data.shard->total}, scale, seed + 0x9E3779B97F4A7C15ULL, H_.options())
                             .slice(1, data.shard->begin, data.shard->end));
  } else {
    nmf->init(data.X, options.init(), options.seed() + l);
  }
  for (int64_t it = 0; it < options.pretrain_iter(); ++it) nmf->mu_step(data);
  return {nmf->W().detach().clone(), nmf->H().detach().clone()};
}

void LayeredNMFImpl::pretrain_sharded(const TrainingData& data) {
  if (!data.sharded()) return pretrain(data.X);
  require(data.X.dim() == 2 && data.X.size(0) == options.n_features() && data.X.size(1) == options.n_samples(),
          "layered NMF pre-training: data is " + shape_string(data.X) + " but the model was built for " +
              std::to_string(options.n_features()) + "x" + std::to_string(options.n_samples()));
  torch::NoGradGuard no_grad;
  TrainingData V;
  V.X = data.X.to(H_.options());
  V.shard = data.shard;
  for (size_t l = 0; l < W_.size(); ++l) {
    const PretrainedLayer layer = pretrain_layer_(V, l);
    W_[l].copy_(layer.W);
    V.X = layer.H.to(H_.options());
  }
  H_.copy_(V.X);
  normalise();
}

void LayeredNMFImpl::pretrain(const torch::Tensor& X, const PretrainedLayer& first) {
  require(X.dim() == 2 && X.size(0) == options.n_features() && X.size(1) == options.n_samples(),
          "layered NMF pre-training: data is " + shape_string(X) + " but the model was built for " +
              std::to_string(options.n_features()) + "x" + std::to_string(options.n_samples()));
  if (first.W.defined())
    require(first.W.sizes() == W_[0].sizes() && first.H.defined() && first.H.dim() == 2 &&
                first.H.size(0) == options.layers()[0] && first.H.size(1) == options.n_samples(),
            "layered NMF pre-training: the given first layer is W " + shape_string(first.W) + ", H " +
                (first.H.defined() ? shape_string(first.H) : std::string("undefined")) + " but the model needs W " +
                shape_string(W_[0]) + ", H " + std::to_string(options.layers()[0]) + "x" + std::to_string(options.n_samples()));
  torch::NoGradGuard no_grad;
  torch::Tensor V = X.to(H_.options());
  for (size_t l = 0; l < W_.size(); ++l) {
    const PretrainedLayer layer = l == 0 && first.W.defined() ? first : pretrain_layer(V, l);
    W_[l].copy_(layer.W);
    V = layer.H.to(H_.options());
  }
  H_.copy_(V);
  normalise();
}

torch::Tensor LayeredNMFImpl::reconstruct() { return torch::mm(chain_product(W_), H_); }

torch::Tensor LayeredNMFImpl::loss(const TrainingData& data) { return divergence_.value(data.X, reconstruct(), data.mask); }

void LayeredNMFImpl::mu_step(const TrainingData& data) {
  torch::NoGradGuard no_grad;
  std::function<void(torch::Tensor&)> sum;
  if (data.sharded()) sum = [&data](torch::Tensor& t) { data.sum_over_shards(t); };
  layered_mu_sweep_(W_, H_, data.X, divergence_, data.mask, !options.fixed_bases(), true, sum);
  if (!options.fixed_bases()) normalise();
}

void LayeredNMFImpl::normalise() {
  if (options.normalise() == Normalisation::None) return;
  normalise_layers_(W_, H_);
}

void LayeredNMFImpl::project() {
  torch::NoGradGuard no_grad;
  for (auto& W : W_) W.clamp_min_(options.floor());
  H_.clamp_min_(options.floor());
}

void LayeredNMFImpl::check_data(const TrainingData& data) const {
  require(data.X.dim() == 2, "layered NMF data must be a matrix, got " + std::to_string(data.X.dim()) + " dimensions");
  require(data.X.size(0) == options.n_features() && data.X.size(1) == options.n_samples(),
          "data is " + shape_string(data.X) + " but the model was built for " + std::to_string(options.n_features()) +
              "x" + std::to_string(options.n_samples()));
  divergence_.check_data(data.X, "data");
  if (data.mask.defined())
    require(data.mask.sizes() == data.X.sizes(), "mask is " + shape_string(data.mask) + " but data is " + shape_string(data.X));
}

NamedTensors LayeredNMFImpl::factors() {
  NamedTensors out;
  for (size_t l = 0; l < W_.size(); ++l) out.insert("W" + std::to_string(l + 1), W_[l].detach());
  out.insert("H", H_.detach());
  return out;
}

FactorDescriptions LayeredNMFImpl::describe_factors() {
  FactorDescriptions out;
  for (size_t l = 1; l <= W_.size(); ++l)
    out.push_back(FactorDescription("W" + std::to_string(l), FactorRole::Dictionary, "dictionary of layer " + std::to_string(l),
                                    FactorPlot::Image)
                      .with_layer(static_cast<int>(l)));
  out.emplace_back("H", FactorRole::Activations, "activations of the last layer", FactorPlot::Image);
  return out;
}

void LayeredNMFImpl::set_factor(const std::string& name, const torch::Tensor& value) {
  torch::Tensor* target = name == "H" ? &H_ : nullptr;
  for (size_t l = 0; l < W_.size() && !target; ++l)
    if (name == "W" + std::to_string(l + 1)) target = &W_[l];
  require(target != nullptr, "layered NMF has no factor '" + name + "' (it has W1..W" + std::to_string(W_.size()) + ", H)");
  if (value.sizes() != target->sizes()) {
    // Name the chaining rule: a wrong inner size is the usual mistake.
    throw Error(name + " is " + shape_string(value) + " but layers " + sizes_string(options.layers()) +
                " with F=" + std::to_string(options.n_features()) + ", N=" + std::to_string(options.n_samples()) +
                " needs " + shape_string(*target) + " (layer sizes must chain: Wl is K(l-1) x Kl)");
  }
  require(value.isfinite().all().item<bool>() && (value >= 0).all().item<bool>(), name + " must be finite and nonnegative");
  torch::NoGradGuard no_grad;
  target->copy_(value.to(target->options()));
}

void LayeredNMFImpl::pretty_print(std::ostream& stream) const {
  stream << "factorch::LayeredNMF(F=" << options.n_features() << ", N=" << options.n_samples()
         << ", layers=" << sizes_string(options.layers()) << ", divergence=" << divergence_.name()
         << ", normalise=" << normalisation_name(options.normalise()) << (options.fixed_bases() ? ", fixed bases" : "") << ")";
}

}  // namespace factorch
