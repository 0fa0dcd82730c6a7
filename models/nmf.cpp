#include "factorch/models/nmf.h"

#include <algorithm>
#include <cmath>
#include <ostream>

#include <ATen/ATen.h>
#include <torch/nn/functional/activation.h>

#include "factorch/error.h"
#include "factorch/shape_string.h"
#include "factorch/models/nmf_init.h"

namespace factorch {

NMFImpl::NMFImpl(const NMFOptions& options_) : options(options_), divergence_(options_.beta(), options_.eps()) {
  require(options.rank() > 0, "rank must be a positive integer, got " + std::to_string(options.rank()));
  require(options.n_features() > 0 && options.n_samples() > 0, "NMF needs a nonempty data matrix");
  ard_ = ArdPenalty{options.ard(), options.ard_lambda(), options.ard_b()};
  ard_.validate();
  require(options.ard_prune() >= 0.0, "ard_prune must be >= 0, got " + std::to_string(options.ard_prune()));
  require(options.ard() == "none" || options.normalise() == Normalisation::None,
          "normalise must be none with ard (the ARD penalty is not scale invariant)");
  require(options.smooth_h() >= 0.0, "smooth_h must be >= 0, got " + std::to_string(options.smooth_h()));
  if (options.smooth_h() > 0.0) {
    require(divergence_.is_is(), "smooth_h needs beta: is (smooth IS-NMF), got beta " +
                                           std::to_string(divergence_.beta()));
    require(options.l2_h() == 0.0 && options.ard() != "l2",
            "smooth_h cannot be combined with an L2 penalty on H (l2_h, ard: l2)");
  }
  reset();
}

void NMFImpl::reset() {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  W_ = register_parameter("W", to_raw(torch::full({options.n_features(), options.rank()}, 1.0, opts)),
                          !options.fixed_w());
  H_ = register_parameter("H", to_raw(torch::full({options.rank(), options.n_samples()}, 1.0, opts)),
                          !options.fixed_h());
  // A clone (copy-constructed, then reset()) has the original's mask: a fresh tensor of its own.
  if (H_mask_.defined()) H_mask_ = register_buffer("H_mask", H_mask_.detach().clone());
}

torch::Tensor NMFImpl::to_raw(const torch::Tensor& value) const {
  if (!options.softplus()) return value;
  // inverse softplus log(eˣ − 1), written stably for large x
  const torch::Tensor x = value.clamp_min(options.floor());
  return x + torch::log(-torch::expm1(-x));
}

torch::Tensor NMFImpl::W() const { return options.softplus() ? torch::softplus(W_) : W_; }
torch::Tensor NMFImpl::H() const {
  if (!options.softplus()) return H_;
  return H_mask_.defined() ? torch::softplus(H_) * H_mask_ : torch::softplus(H_);
}

void NMFImpl::set_h_mask(const torch::Tensor& mask) {
  require(mask.dim() == 2 && mask.size(0) == options.rank() && mask.size(1) == options.n_samples(),
          "H mask is " + shape_string(mask) + " but H is " + shape_string(H_));
  const torch::Tensor m = (mask.to(H_.device()) != 0).to(H_.scalar_type());
  if (H_mask_.defined()) {
    H_mask_.copy_(m);
  } else {
    H_mask_ = register_buffer("H_mask", m);
  }
  torch::NoGradGuard no_grad;
  if (!options.softplus()) H_.mul_(H_mask_);
}

torch::Tensor NMFImpl::relevance() const {
  torch::NoGradGuard no_grad;
  return ArdPenalty{options.ard() == "l2" ? "l2" : "l1", 1.0, 1.0}.norms(W(), H());
}

std::vector<int64_t> NMFImpl::pruned() const {
  std::vector<int64_t> out;
  const torch::Tensor r = relevance().cpu();
  for (int64_t k = 0; k < r.size(0); ++k)
    if (r[k].item<double>() == 0.0) out.push_back(k);
  return out;
}

void NMFImpl::prune_() {
  if (!ard_.active() || options.ard_prune() <= 0.0) return;
  const torch::Tensor r = relevance();
  const torch::Tensor dead = r < options.ard_prune() * r.max();
  if (!dead.any().item<bool>()) return;
  const torch::Tensor keep = (~dead).to(W_.scalar_type());
  W_.mul_(keep.unsqueeze(0));
  H_.mul_(keep.unsqueeze(1));
}

void NMFImpl::init(const torch::Tensor& V, const std::string& method, uint64_t seed) {
  auto [W0, H0] = initial_factors(V.to(W_.options()), options.rank(), method, seed);
  torch::NoGradGuard no_grad;
  if (!options.fixed_w()) W_.copy_(to_raw(W0));
  if (!options.fixed_h()) H_.copy_(to_raw(H0));
  if (H_mask_.defined() && !options.softplus()) H_.mul_(H_mask_);
}

torch::Tensor NMFImpl::reconstruct() { return torch::mm(W(), H()); }

torch::Tensor NMFImpl::loss(const TrainingData& data) {
  const torch::Tensor W = this->W(), H = this->H();
  torch::Tensor value = divergence_.value(data.X, torch::mm(W, H), data.mask);
  const FactorPenalty pw{options.l1_w(), options.l2_w()}, ph{options.l1_h(), options.l2_h()};
  // A shard's loss: its columns' terms, and W's penalty on rank 0 only (summed over ranks).
  if (pw.active() && data.counts_shared_terms()) value = value + pw.value(W);
  if (ph.active()) value = value + ph.value(H);
  if (ard_.active()) value = value + ard_.value(W, H);
  if (options.smooth_h() > 0.0) value = value + smooth_is_value(H, options.smooth_h(), H_mask_);
  return value;
}

// One MM step of A with the elementwise penalty plus the ARD tangent weights (broadcast as
// a row K for W, a column K×1 for H): the parts come from the shared core.
void NMFImpl::update_penalised_(torch::Tensor& A, const MultilinearTerm& term, const TrainingData& data,
                                const FactorPenalty& elementwise, const torch::Tensor& ard_weight) {
  auto [numer, denom] = multiplicative_parts(A, term, data.X, divergence_, elementwise, data.mask);
  if (ard_.norm == "l2") {
    denom.addcmul_(ard_weight.expand_as(A), A);
  } else {
    denom.add_(ard_weight);
  }
  const double gamma = elementwise.l2 != 0.0 ? ArdPenalty{"l2"}.exponent(divergence_) : ard_.exponent(divergence_);
  apply_mm_ratio_(A, numer, denom, gamma);
}

namespace {

// W's update from its column sums (numerator, denominator): add the other ranks' parts in one
// all-reduce of both, then the penalty once, then the same ratio as a single process.
void apply_w_ratio_(torch::Tensor& W_, torch::Tensor numer, torch::Tensor denom, const FactorPenalty& pw,
                    const TrainingData& data, double exponent) {
  if (data.sharded()) {
    torch::Tensor both = torch::stack({numer, denom});
    data.sum_over_shards(both);
    numer = both[0];
    denom = both[1];
  }
  if (pw.l1 != 0.0) denom.add_(pw.l1);
  if (pw.l2 != 0.0) denom.add_(W_, 2.0 * pw.l2);
  apply_mm_ratio_(W_, numer, denom, exponent);
}

// Columns per block of the blocked sweep: about 1 MB of V̂ per block (cache-sized), at
// least 256 columns so that the GEMMs stay efficient.
int64_t block_columns(int64_t rows, torch::ScalarType dtype) {
  const int64_t bytes = rows * static_cast<int64_t>(c10::elementSize(dtype));
  return std::min<int64_t>(4096, std::max<int64_t>(256, (int64_t{1} << 20) / std::max<int64_t>(bytes, 1)));
}

// Numerator and denominator parts of one block for β ≠ 2 without mask or ε: `a` holds V̂
// (F×B) on entry; on return `a` = X·V̂^(β−2) and `b` = V̂^(β−1) (b undefined for β = 1,
// whose positive part is all ones). Both buffers are reused across blocks.
void block_parts_(torch::Tensor& a, torch::Tensor& b, const torch::Tensor& X, double beta, double tiny) {
  a.clamp_min_(tiny);
  if (divergence::is_kl(beta)) {
    a.reciprocal_().mul_(X);
  } else if (divergence::is_is(beta)) {
    a.reciprocal_();
    at::mul_out(b, a, a).mul_(X);  // b = X·V̂^-2, a = V̂^-1
    std::swap(a, b);
  } else {
    at::pow_out(b, a, beta - 1.0);
    a.reciprocal_().mul_(b).mul_(X);
  }
}

// One sweep over column blocks (large N, plain β-NMF): no data-sized temporary, the same
// buffers for every block, so the cost per column stays flat as N grows. W's numerator and
// denominator accumulate over blocks (and over ranks when sharded); then each block's H is
// updated with the new W. Mathematically the unblocked sweep; only the order of the sums
// over columns differs.
void blocked_mu_sweep_(torch::Tensor& W_, torch::Tensor& H_, const NMFOptions& options,
                       const BetaDivergence& divergence_, const TrainingData& data) {
  const torch::Tensor& X = data.X;
  const int64_t F = X.size(0), N = X.size(1), K = options.rank();
  const int64_t B = block_columns(F, X.scalar_type());
  const double beta = divergence_.beta(), tiny = BetaDivergence::tiny(W_.scalar_type());
  const bool kl = divergence_.is_kl();
  const FactorPenalty pw{options.l1_w(), options.l2_w()}, ph{options.l1_h(), options.l2_h()};
  torch::Tensor a = torch::empty({F, B}, X.options()), b = kl ? torch::Tensor() : torch::empty({F, B}, X.options());
  auto view = [](const torch::Tensor& t, int64_t n) { return t.narrow(1, 0, n); };
  if (!options.fixed_w()) {
    torch::Tensor numer = torch::zeros({F, K}, W_.options());
    torch::Tensor denom = kl ? torch::Tensor() : torch::zeros({F, K}, W_.options());
    for (int64_t s = 0; s < N; s += B) {
      const int64_t n = std::min(B, N - s);
      const torch::Tensor Hb = H_.narrow(1, s, n), Xb = X.narrow(1, s, n);
      torch::Tensor ab = view(a, n), bb = kl ? torch::Tensor() : view(b, n);
      at::mm_out(ab, W_, Hb);
      block_parts_(ab, bb, Xb, beta, tiny);
      numer.addmm_(ab, Hb.t());
      if (!kl) denom.addmm_(bb, Hb.t());
    }
    if (kl) denom = H_.sum(1).unsqueeze(0).expand({F, K}).contiguous();  // Σ_n h_kn for every row
    apply_w_ratio_(W_, numer, denom, pw, data, divergence_.exponent());
  }
  if (!options.fixed_h()) {
    const torch::Tensor kl_denom = kl ? W_.sum(0).unsqueeze(1) : torch::Tensor();  // K×1
    torch::Tensor numer = torch::empty({K, B}, X.options()), denom = torch::empty({K, B}, X.options());
    for (int64_t s = 0; s < N; s += B) {
      const int64_t n = std::min(B, N - s);
      torch::Tensor Hb = H_.narrow(1, s, n);
      const torch::Tensor Xb = X.narrow(1, s, n);
      torch::Tensor ab = view(a, n), bb = kl ? torch::Tensor() : view(b, n);
      at::mm_out(ab, W_, Hb);
      block_parts_(ab, bb, Xb, beta, tiny);
      torch::Tensor nb = view(numer, n), db = view(denom, n);
      at::mm_out(nb, W_.t(), ab);
      if (kl) {
        db.copy_(kl_denom.expand({K, n}));
      } else {
        at::mm_out(db, W_.t(), bb);
      }
      if (ph.l1 != 0.0) db.add_(ph.l1);
      if (ph.l2 != 0.0) db.add_(Hb, 2.0 * ph.l2);
      apply_mm_ratio_(Hb, nb, db, divergence_.exponent());
    }
  }
}

}  // namespace

void NMFImpl::mu_step(const TrainingData& data) {
  require(!options.softplus(), "NMF with softplus parametrisation is for autograd trainers, not MU");
  torch::NoGradGuard no_grad;
  const torch::Tensor& V = data.X;
  const FactorPenalty pw{options.l1_w(), options.l2_w()}, ph{options.l1_h(), options.l2_h()};
  const bool ard = ard_.active();
  // Large plain problems go block by block (flat cost per column); small ones keep the
  // whole-matrix sweep (and its exact results).
  const bool plain = !ard && options.smooth_h() == 0.0 && !H_mask_.defined() && !data.mask.defined() &&
                     divergence_.eps() == 0.0 && !divergence_.is_euclidean();
  if (plain && V.size(1) >= 8 * block_columns(V.size(0), V.scalar_type())) {
    blocked_mu_sweep_(W_, H_, options, divergence_, data);
    if (!options.fixed_w() && !options.fixed_h()) normalise();
    return;
  }
  if (!options.fixed_w() && data.sharded()) {
    // Numerator and denominator are sums over columns, summed over the ranks before the penalty.
    auto [numer, denom] = multiplicative_parts(W_, MultilinearTerm{{}, H_, {}}, V, divergence_, {}, data.mask);
    apply_w_ratio_(W_, numer, denom, pw, data, divergence_.exponent());
  } else if (!options.fixed_w()) {
    if (ard) {
      update_penalised_(W_, MultilinearTerm{{}, H_, {}}, data, pw, ard_.weights(W_, H_).unsqueeze(0));
    } else {
      multiplicative_update_(W_, MultilinearTerm{{}, H_, {}}, V, divergence_, pw, data.mask);
    }
  }
  if (!options.fixed_h()) {
    // ARD weights are re-taken at the new W: the tangent must touch at the current point.
    const torch::Tensor rho = ard ? ard_.weights(W_, H_).unsqueeze(1) : torch::Tensor();
    if (options.smooth_h() > 0.0) {
      torch::Tensor linear = rho.defined() ? rho + options.l1_h() : torch::full({1, 1}, options.l1_h(), H_.options());
      smooth_is_update_h_(H_, W_, V, divergence_, options.smooth_h(), data.mask, H_mask_, linear);
    } else if (ard) {
      update_penalised_(H_, MultilinearTerm{W_, {}, {}}, data, ph, rho);
    } else {
      multiplicative_update_(H_, MultilinearTerm{W_, {}, {}}, V, divergence_, ph, data.mask);
    }
  }
  if (!options.fixed_w() && !options.fixed_h()) normalise();
  prune_();
}

void NMFImpl::normalise() {
  if (options.normalise() == Normalisation::None || options.softplus()) return;
  torch::NoGradGuard no_grad;
  const double p = options.normalise() == Normalisation::L1 ? 1.0 : 2.0;
  const torch::Tensor norms = W_.norm(p, {0}, /*keepdim=*/true).clamp_min_(BetaDivergence::tiny(W_.scalar_type()));
  W_.div_(norms);
  H_.mul_(norms.t());
}

void NMFImpl::project() {
  if (options.softplus()) return;
  torch::NoGradGuard no_grad;
  W_.clamp_min_(options.floor());
  H_.clamp_min_(options.floor());
  if (H_mask_.defined()) H_.mul_(H_mask_);
}

void NMFImpl::check_data(const TrainingData& data) const {
  require(data.X.dim() == 2, "NMF data must be a matrix, got " + std::to_string(data.X.dim()) + " dimensions");
  require(data.X.size(0) == options.n_features() && data.X.size(1) == options.n_samples(),
          "data is " + shape_string(data.X) + " but the model was built for " +
              std::to_string(options.n_features()) + "x" + std::to_string(options.n_samples()));
  divergence_.check_data(data.X, "data");
  if (data.sharded()) {
    require(!ard_.active() && options.smooth_h() == 0.0,
            "ard and smooth_h couple columns across ranks: not available in data-parallel runs");
  }
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

FactorDescriptions NMFImpl::describe_factors() {
  return {{"W", FactorRole::Dictionary, "dictionary: one spectral template per column", FactorPlot::Image},
          {"H", FactorRole::Activations, "activations: one row per component, one column per frame", FactorPlot::Image}};
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
  if (target == &H_ && H_mask_.defined() && !options.softplus()) H_.mul_(H_mask_);
}

void NMFImpl::pretty_print(std::ostream& stream) const {
  stream << "factorch::NMF(F=" << options.n_features() << ", N=" << options.n_samples() << ", K=" << options.rank()
         << ", divergence=" << divergence_.name() << ", l1_w=" << options.l1_w() << ", l1_h=" << options.l1_h()
         << ", normalise=" << normalisation_name(options.normalise())
         << (ard_.active() ? ", ard=" + options.ard() + "(lambda=" + std::to_string(options.ard_lambda()) + ")" : "")
         << (options.smooth_h() > 0 ? ", smooth_h=" + std::to_string(options.smooth_h()) : "")
         << (H_mask_.defined() ? ", forced zeros on H" : "") << (options.fixed_w() ? ", fixed W" : "")
         << (options.fixed_h() ? ", fixed H" : "") << ")";
}

}  // namespace factorch
