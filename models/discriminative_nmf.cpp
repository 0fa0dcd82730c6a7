#include "factorch/models/discriminative_nmf.h"

#include <cstdio>
#include <ostream>

#include "factorch/error.h"
#include "factorch/tolerances.h"
#include "factorch/shape_string.h"
#include "factorch/multiplicative.h"
#include "factorch/models/layered_nmf.h"

namespace factorch {

DiscriminativeLayeredNMFImpl::DiscriminativeLayeredNMFImpl(const DiscriminativeLayeredNMFOptions& options_)
    : options(options_), divergence_(options_.beta(), options_.eps()) {
  require(!options.layers().empty(), "layers must list at least one layer size, got []");
  for (const int64_t k : options.layers()) require(k > 0, "layers must be positive integers");
  require(options.n_sources() >= 1, "DL-NMF needs at least one source");
  require(options.n_features() > 0 && options.n_samples() > 0, "DL-NMF needs nonempty training mixtures");
  require(options.source_names().empty() || static_cast<int64_t>(options.source_names().size()) == options.n_sources(),
          "DL-NMF: " + std::to_string(options.source_names().size()) + " source names for " +
              std::to_string(options.n_sources()) + " sources");
  require(options.normalise() != Normalisation::L2,
          "normalise must be l1 or none, got '" + normalisation_name(options.normalise()) + "'");
  require(options.h_iter() >= 0 && options.w_iter() >= 0 && options.separation_iter() >= 0 && options.patience() >= 0,
          "DL-NMF iteration counts and patience must be >= 0");
  reset();
}

int64_t DiscriminativeLayeredNMFImpl::block_rows(size_t l) const {
  return l == 0 ? options.n_features() : options.layers()[l - 1];
}

torch::Tensor DiscriminativeLayeredNMFImpl::block(size_t l, int64_t s) const {
  const int64_t r = block_rows(l), c = options.layers()[l];
  return W_[l].narrow(0, s * r, r).narrow(1, s * c, c);
}

std::string DiscriminativeLayeredNMFImpl::source_name(int64_t s) const {
  return options.source_names().empty() ? "s" + std::to_string(s + 1) : options.source_names()[s];
}

void DiscriminativeLayeredNMFImpl::reset() {
  torch::NoGradGuard no_grad;
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  const int64_t S = options.n_sources();
  W_.clear();
  for (size_t l = 0; l < options.layers().size(); ++l) {
    // Zeros + blocks: a dense start would never return to block-diagonal under MU.
    torch::Tensor W = torch::zeros({S * block_rows(l), S * options.layers()[l]}, opts);
    W_.push_back(register_parameter("W" + std::to_string(l + 1), W));
    for (int64_t s = 0; s < S; ++s) block(l, s).fill_(1.0 / block_rows(l));
  }
  H_ = register_parameter("H", torch::ones({S * options.layers().back(), options.n_samples()}, opts));
  // Registered here (not lazily) so that every instance has the same buffers: clone() and
  // checkpoints need them.
  initial_.clear();
  for (size_t l = 0; l < W_.size(); ++l)
    initial_.push_back(register_buffer("initial_W" + std::to_string(l + 1), W_[l].detach().clone()));
}

void DiscriminativeLayeredNMFImpl::restart_rounds() {
  validation_.clear();
  best_.clear();
  round_ = best_round_ = 0;
  stopped_ = false;
}

void DiscriminativeLayeredNMFImpl::set_source_layers(int64_t s, const std::vector<torch::Tensor>& layers) {
  require(0 <= s && s < options.n_sources(), "DL-NMF: source index " + std::to_string(s) + " out of range");
  const std::string what = "source " + source_name(s);
  require(layers.size() == W_.size(), what + ": " + std::to_string(layers.size()) + " layers given, the model has " +
                                          std::to_string(W_.size()));
  check_layer_chain(layers, {}, what);
  torch::NoGradGuard no_grad;
  for (size_t l = 0; l < layers.size(); ++l) {
    torch::Tensor b = block(l, s);
    require(layers[l].sizes() == b.sizes(), what + ": W" + std::to_string(l + 1) + " is " + shape_string(layers[l]) +
                                                " but the model needs " + shape_string(b));
    require(layers[l].isfinite().all().item<bool>() && (layers[l] >= 0).all().item<bool>(),
            what + ": W" + std::to_string(l + 1) + " must be finite and nonnegative");
    b.copy_(layers[l].to(b.options()));
  }
}

std::vector<torch::Tensor> DiscriminativeLayeredNMFImpl::source_layers(int64_t s) const {
  std::vector<torch::Tensor> out;
  for (size_t l = 0; l < W_.size(); ++l) out.push_back(block(l, s));
  return out;
}

torch::Tensor DiscriminativeLayeredNMFImpl::mixture_dictionary() const {
  const torch::Tensor G = chain_product(W_);  // (S·F) × (S·K_L), block-diagonal
  return G.view({options.n_sources(), options.n_features(), G.size(1)}).sum(0);
}

void DiscriminativeLayeredNMFImpl::fit_activations_(torch::Tensor& H, const torch::Tensor& X_mix,
                                                    int64_t iterations) const {
  torch::NoGradGuard no_grad;
  const torch::Tensor P = mixture_dictionary();
  for (int64_t it = 0; it < iterations; ++it)
    multiplicative_update_(H, MultilinearTerm{P, {}, {}}, X_mix, divergence_);
}

void DiscriminativeLayeredNMFImpl::init_activations(const torch::Tensor& X_mix) {
  torch::NoGradGuard no_grad;
  require(X_mix.dim() == 2 && X_mix.size(0) == options.n_features() && X_mix.size(1) == options.n_samples(),
          "DL-NMF: training mixtures are " + shape_string(X_mix) + ", the model needs " +
              std::to_string(options.n_features()) + "x" + std::to_string(options.n_samples()));
  const torch::Tensor X = X_mix.to(H_.options());
  const torch::Tensor P = mixture_dictionary();
  const double scale = X.sum().item<double>() / std::max(P.sum().item<double>() * X.size(1), 1e-300);
  H_.fill_(std::max(scale, kFactorFloor));
  fit_activations_(H_, X, options.h_iter());
}

torch::Tensor DiscriminativeLayeredNMFImpl::separate(const torch::Tensor& X_mix) const {
  torch::NoGradGuard no_grad;
  require(X_mix.dim() == 2 && X_mix.size(0) == options.n_features(),
          "DL-NMF separate: mixture spectrogram is " + shape_string(X_mix) + ", the model has F=" +
              std::to_string(options.n_features()));
  const torch::Tensor X = X_mix.to(H_.options());
  const torch::Tensor P = mixture_dictionary();
  // Flat start with the data's scale (KL in H with fixed bases is convex: the start matters little).
  const double scale = X.sum().item<double>() / std::max(P.sum().item<double>() * X.size(1), 1e-300);
  torch::Tensor H = torch::full({P.size(1), X.size(1)}, std::max(scale, kFactorFloor), X.options());
  fit_activations_(H, X, options.separation_iter());
  const torch::Tensor S_hat = torch::mm(chain_product(W_), H);
  return S_hat.view({options.n_sources(), options.n_features(), X.size(1)});
}

void DiscriminativeLayeredNMFImpl::remember_initial_layers() {
  torch::NoGradGuard no_grad;
  for (size_t l = 0; l < W_.size(); ++l) initial_[l].copy_(W_[l]);
}

std::vector<torch::Tensor> DiscriminativeLayeredNMFImpl::initial_layers() const { return initial_; }

double DiscriminativeLayeredNMFImpl::off_diagonal_max() const {
  torch::NoGradGuard no_grad;
  double worst = 0.0;
  for (size_t l = 0; l < W_.size(); ++l) {
    torch::Tensor outside = W_[l].abs();
    for (int64_t s = 0; s < options.n_sources(); ++s) {
      const int64_t r = block_rows(l), c = options.layers()[l];
      outside.narrow(0, s * r, r).narrow(1, s * c, c).zero_();
    }
    worst = std::max(worst, outside.max().item<double>());
  }
  return worst;
}

torch::Tensor DiscriminativeLayeredNMFImpl::reconstruct() { return torch::mm(chain_product(W_), H_); }

torch::Tensor DiscriminativeLayeredNMFImpl::loss(const TrainingData& data) {
  const int64_t F = options.n_features(), S = options.n_sources();
  const torch::Tensor mask = data.mask.defined() ? data.mask.narrow(0, F, S * F) : torch::Tensor();
  return divergence_.value(data.X.narrow(0, F, S * F), reconstruct(), mask);
}

void DiscriminativeLayeredNMFImpl::score_round() {
  const double v = validator_(*this);
  validation_.push_back(v);
  auto keep = [&] {
    best_round_ = round_;
    best_.clear();
    for (const auto& W : W_) best_.push_back(W.detach().clone());
    best_.push_back(H_.detach().clone());
  };
  auto restore = [&] {
    for (size_t l = 0; l < W_.size(); ++l) W_[l].copy_(best_[l]);
    H_.copy_(best_.back());
    stopped_ = true;
  };
  if (validation_.size() == 1 || v > validation_[best_round_]) {
    keep();
  } else if (options.patience() > 0 && round_ - best_round_ >= options.patience()) {
    restore();
  }
  if (!stopped_ && options.max_rounds() > 0 && round_ >= options.max_rounds()) restore();
}

bool DiscriminativeLayeredNMFImpl::out_of_patience() const {
  return options.patience() > 0 && round_ - best_round_ >= options.patience();
}

std::string DiscriminativeLayeredNMFImpl::selection_reason() const {
  if (validation_.empty()) return "no validation: the last round is kept";
  char buf[320];
  const double best = validation_[best_round_], start = validation_[0];
  const std::string ended =
      !stopped_ ? "rounds ended by the trainer"
      : out_of_patience()
          ? std::to_string(round_ - best_round_) + " rounds without a better validation score (patience " +
                std::to_string(options.patience()) + ")"
          : "max rounds (" + std::to_string(options.max_rounds()) + ") reached";
  if (best_round_ == 0) {
    std::snprintf(buf, sizeof buf, "round 0 (the L-NMF dictionaries, %.2f) scored best on validation; %s", start,
                  ended.c_str());
  } else {
    std::snprintf(buf, sizeof buf, "round %lld scored best on validation (%.2f vs %.2f at round 0, the L-NMF start); %s",
                  static_cast<long long>(best_round_), best, start, ended.c_str());
  }
  return buf;
}

std::string DiscriminativeLayeredNMFImpl::early_stop() const {
  if (!stopped_) return {};
  const std::string kept = "kept round " + std::to_string(best_round_) +
                           (best_round_ == 0 ? " (the L-NMF start)" : "") + ", the best on validation";
  if (out_of_patience())
    return "early stop after round " + std::to_string(round_) + ": " + kept + " (" +
           std::to_string(round_ - best_round_) + " rounds without a better score, patience " +
           std::to_string(options.patience()) + ")";
  return "max rounds (" + std::to_string(options.max_rounds()) + ") reached: " + kept;
}

void DiscriminativeLayeredNMFImpl::mu_step(const TrainingData& data) {
  torch::NoGradGuard no_grad;
  if (validator_ && validation_.empty()) score_round();  // round 0: the generative (L-NMF) bases
  if (stopped_) return;
  const int64_t F = options.n_features(), S = options.n_sources();
  const torch::Tensor X_mix = data.X.narrow(0, 0, F);
  const torch::Tensor sources = data.X.narrow(0, F, S * F);
  const torch::Tensor mask = data.mask.defined() ? data.mask.narrow(0, F, S * F) : torch::Tensor();
  fit_activations_(H_, X_mix, options.h_iter());  // (a) eq. 11, bases fixed
  for (int64_t it = 0; it < options.w_iter(); ++it) {  // (b) eq. 14–16, H fixed
    layered_mu_sweep_(W_, H_, sources, divergence_, mask, /*update_layers=*/true, /*update_h=*/false);
    normalise();
  }
  ++round_;
  if (validator_) score_round();
}

void DiscriminativeLayeredNMFImpl::normalise() {
  if (options.normalise() == Normalisation::None) return;
  normalise_layers_(W_, H_);
}

void DiscriminativeLayeredNMFImpl::project() {
  // No floor: a floor would fill the off-diagonal blocks.
  torch::NoGradGuard no_grad;
  for (auto& W : W_) W.clamp_min_(0.0);
  H_.clamp_min_(0.0);
}

void DiscriminativeLayeredNMFImpl::check_data(const TrainingData& data) const {
  const int64_t F = options.n_features(), S = options.n_sources();
  require(data.X.dim() == 2 && data.X.size(0) == (S + 1) * F && data.X.size(1) == options.n_samples(),
          "DL-NMF data must stack the training mixtures and their " + std::to_string(S) + " sources ((S+1)·F x N = " +
              std::to_string((S + 1) * F) + "x" + std::to_string(options.n_samples()) + "), got " + shape_string(data.X));
  divergence_.check_data(data.X, "DL-NMF training spectra");
}

NamedTensors DiscriminativeLayeredNMFImpl::factors() {
  NamedTensors out;
  for (size_t l = 0; l < W_.size(); ++l) out.insert("W" + std::to_string(l + 1), W_[l].detach());
  out.insert("H", H_.detach());
  for (int64_t s = 0; s < options.n_sources(); ++s)
    for (size_t l = 0; l < W_.size(); ++l)
      out.insert(source_name(s) + "_W" + std::to_string(l + 1), block(l, s).detach().contiguous());
  return out;
}

FactorDescriptions DiscriminativeLayeredNMFImpl::describe_factors() {
  FactorDescriptions out;
  const auto layer = [](size_t l) { return std::to_string(l + 1); };
  for (size_t l = 0; l < W_.size(); ++l)
    out.push_back(FactorDescription("W" + layer(l), FactorRole::Dictionary, "dictionary of layer " + layer(l), FactorPlot::Image)
                      .with_layer(static_cast<int>(l + 1)));
  out.emplace_back("H", FactorRole::Activations, "activations of the last layer", FactorPlot::Image);
  for (int64_t s = 0; s < options.n_sources(); ++s)
    for (size_t l = 0; l < W_.size(); ++l)
      out.emplace_back(source_name(s) + "_W" + layer(l), FactorRole::Other,
                       "layer-" + layer(l) + " dictionary block of source " + source_name(s));
  return out;
}

void DiscriminativeLayeredNMFImpl::set_factor(const std::string& name, const torch::Tensor& value) {
  torch::NoGradGuard no_grad;
  if (name == "H") {
    require(value.sizes() == H_.sizes(), "H is " + shape_string(value) + " but the model needs " + shape_string(H_));
    require((value >= 0).all().item<bool>(), "H must be nonnegative");
    H_.copy_(value.to(H_.options()));
    return;
  }
  for (size_t l = 0; l < W_.size(); ++l) {
    const std::string wl = "W" + std::to_string(l + 1);
    if (name == wl) {
      // A compound layer must keep its block structure: check before copying anything.
      require(value.sizes() == W_[l].sizes(), wl + " is " + shape_string(value) + " but the model needs " + shape_string(W_[l]));
      const int64_t r = block_rows(l), c = options.layers()[l];
      torch::Tensor outside = value.abs().to(torch::kFloat64);
      for (int64_t s = 0; s < options.n_sources(); ++s) outside.narrow(0, s * r, r).narrow(1, s * c, c).zero_();
      require(outside.max().item<double>() == 0.0, wl + " must be block-diagonal (" + std::to_string(options.n_sources()) +
                                                       " blocks of " + std::to_string(r) + "x" + std::to_string(c) + ")");
      require(value.isfinite().all().item<bool>() && (value >= 0).all().item<bool>(), wl + " must be finite and nonnegative");
      W_[l].copy_(value.to(W_[l].options()));
      return;
    }
    for (int64_t s = 0; s < options.n_sources(); ++s) {
      if (name != source_name(s) + "_" + wl) continue;
      torch::Tensor b = block(l, s);
      require(value.sizes() == b.sizes(), name + " is " + shape_string(value) + " but the model needs " + shape_string(b));
      require(value.isfinite().all().item<bool>() && (value >= 0).all().item<bool>(), name + " must be finite and nonnegative");
      b.copy_(value.to(b.options()));
      return;
    }
  }
  throw Error("DL-NMF has no factor '" + name + "' (it has W1..W" + std::to_string(W_.size()) + ", H and <source>_Wl)");
}

void DiscriminativeLayeredNMFImpl::pretty_print(std::ostream& stream) const {
  stream << "factorch::DiscriminativeLayeredNMF(F=" << options.n_features() << ", N=" << options.n_samples()
         << ", sources=" << options.n_sources() << ", layers=[";
  for (size_t l = 0; l < options.layers().size(); ++l) stream << (l ? ", " : "") << options.layers()[l];
  stream << "], divergence=" << divergence_.name() << ", h_iter=" << options.h_iter() << ", w_iter=" << options.w_iter()
         << ")";
}

}  // namespace factorch
