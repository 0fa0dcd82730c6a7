#include "factorch/models/tlnmf.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ostream>

#include <torch/cuda.h>

#include "factorch/error.h"
#include "factorch/fused.h"
#include "factorch/shape_string.h"
#include "factorch/multiplicative.h"
#include "factorch/penalty.h"
#include "factorch/signal/dct.h"
#include "factorch/separation/separate.h"
#include "factorch/unmodified.h"

namespace factorch {

TLNMFObjective tlnmf_objective_from_name(const std::string& name) {
  if (name == "is") return TLNMFObjective::IS;
  if (name == "gcm") return TLNMFObjective::GCM;
  throw Error("objective must be is or gcm, got '" + name + "'");
}

std::string tlnmf_objective_name(TLNMFObjective objective) { return objective == TLNMFObjective::IS ? "is" : "gcm"; }

TLNMFImpl::TLNMFImpl(const TLNMFOptions& o) : options(o), divergence_(0.0, o.eps()) {
  require(o.frame_length() > 0 && o.n_frames() > 0, "TL-NMF needs a nonempty frame matrix");
  require(o.rank() > 0, "rank must be a positive integer, got " + std::to_string(o.rank()));
  require(o.eps() >= 0 && o.lambda() >= 0 && o.hessian_floor() > 0, "TL-NMF: eps, lambda must be >= 0 and hessian_floor > 0");
  require(o.phi_steps() >= 0, "phi_steps must be >= 0");
  reset();
}

void TLNMFImpl::reset() {
  const TLNMFOptions& o = options;
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  Phi_ = register_parameter("Phi", signal::dct2_matrix(o.frame_length(), opts), o.learn_phi());
  // Supervised: W = |ΦY_ref|² is computed, not learnt.
  W_ = register_parameter("W", torch::full({o.frame_length(), o.rank()}, 1.0 / o.frame_length(), opts), !supervised());
  H_ = register_parameter("H", torch::ones({o.rank(), o.n_frames()}, opts));
  // A clone (copy-constructed, then reset()) holds the original's handles: fresh tensors of its own.
  if (Yref_.defined()) Yref_ = register_buffer("Yref", Yref_.detach().clone());
  transform_cache_ = {};
}

torch::Tensor TLNMFImpl::frames3(const torch::Tensor& X) { return X.dim() == 2 ? X.unsqueeze(0) : X; }

torch::Tensor TLNMFImpl::transformed(const TrainingData& data) {
  auto product = [&] { return torch::matmul(Phi_, frames3(data.X).to(Phi_.options())); };
  if (torch::GradMode::is_enabled() && Phi_.requires_grad()) return product();
  TransformCache& c = transform_cache_;
  if (c.X.defined() && unmodified_since(c.frames, c.frames_version, data.X) &&
      c.phi_version == Phi_._version() && c.phi_storage == Phi_.data_ptr() &&
      c.X.options().dtype() == Phi_.dtype() && c.X.device() == Phi_.device())
    return c.X;
  c = {data.X, product(), data.X._version(), Phi_._version(), Phi_.data_ptr()};
  return c.X;
}

int64_t TLNMFImpl::total_frames(const TrainingData& data) const {
  return data.sharded() ? data.shard->total : options.n_frames();
}

std::vector<std::string> TLNMFImpl::per_column_tensors() const { return {"H"}; }

void TLNMFImpl::init(const TrainingData& data, const std::string& phi_init, uint64_t seed) {
  torch::NoGradGuard no_grad;
  const int64_t M = options.frame_length();
  if (phi_init == "dct") {
    Phi_.copy_(signal::dct2_matrix(M, Phi_.options()));
  } else if (phi_init == "random") {
    Phi_.copy_(orthogonal::random_orthogonal(M, seed + 7919, Phi_.options()));
  } else {
    throw Error("phi_init must be dct, random or a .npy file, got '" + phi_init + "'");
  }
  shard_ = data.shard;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto cpu = torch::TensorOptions().dtype(torch::kFloat64);
  // A data-parallel rank draws the whole H (and W after it) as one process does and keeps its
  // frames, so the initial factors do not depend on the number of ranks.
  torch::Tensor H0 = at::randn({options.rank(), total_frames(data)}, gen, cpu).abs_().add_(1.0);
  if (!supervised()) {
    torch::Tensor W0 = at::randn({M, options.rank()}, gen, cpu).abs_().add_(1.0);
    W_.copy_(W0 / W0.sum(0, true));
  }
  // Scale H to the data so that the first MU steps start near the right level.
  const torch::Tensor Y = frames3(data.X).to(Phi_.options());
  double meanV = 0.0;
  const torch::Tensor h_mean = H0.mean(1);  // K: from the whole H0, on every rank
  if (data.sharded()) {
    // mean over every rank's frames: the local sum, summed over ranks, over the global count.
    torch::Tensor sum = torch::matmul(Phi_, Y).pow(2).sum().reshape({1});
    data.sum_over_shards(sum);
    meanV = sum.item<double>() / static_cast<double>(Y.size(0) * M * total_frames(data));
    H0 = H0.slice(1, data.shard->begin, data.shard->end).contiguous();
  } else {
    meanV = torch::matmul(Phi_, Y).pow(2).mean().item<double>();
  }
  // mean(W·H0) = mean_m Σ_k W_mk·mean_n(H0_kn): no frame-sized product of the whole H0 on a rank.
  const double meanVhat = data.sharded() ? torch::mv(W(), h_mean.to(H_.options())).mean().item<double>()
                                         : torch::mm(W(), H0.to(H_.options())).mean().item<double>();
  if (meanV > 0 && meanVhat > 0) H0.mul_(meanV / meanVhat);
  H_.copy_(H0);
  next_step_ = 0.0;
  warm_up(data, options.warmup());
}

void TLNMFImpl::warm_up(const TrainingData& data, int64_t sweeps) {
  for (int64_t i = 0; i < sweeps; ++i) update_nmf(data);
}

void TLNMFImpl::set_reference(const torch::Tensor& Yref, const std::vector<int64_t>& sizes) {
  require(Yref.dim() == 2 && Yref.size(0) == options.frame_length(),
          "reference frames are " + shape_string(Yref) + " but the frame length is " + std::to_string(options.frame_length()));
  int64_t total = 0;
  for (int64_t s : sizes) {
    require(s > 0, "every source needs at least one reference frame");
    total += s;
  }
  require(total == Yref.size(1), "reference sizes add up to " + std::to_string(total) + " but there are " +
                                     std::to_string(Yref.size(1)) + " reference frames");
  require(total == options.rank(), "supervised TL-NMF: rank must equal the number of reference frames (" +
                                       std::to_string(total) + "), got " + std::to_string(options.rank()));
  Yref_ = register_buffer("Yref", Yref.to(Phi_.options()).clone());
  W_.set_requires_grad(false);  // W = |ΦY_ref|² is computed, not learnt
  ref_sizes_ = sizes;
}

torch::Tensor TLNMFImpl::W() const { return supervised() ? torch::mm(Phi_, Yref_).pow(2) : W_; }

torch::Tensor TLNMFImpl::reconstruct() { return torch::mm(W(), H_); }

// The sparsity term λ·(M/K)·‖H‖₁ (supervised: λ·M/N_s on each source's block).
static torch::Tensor penalty_term(const TLNMFOptions& o, const torch::Tensor& H, const std::vector<int64_t>& ref_sizes) {
  const double M = static_cast<double>(o.frame_length());
  if (ref_sizes.empty()) return (o.lambda() * M / static_cast<double>(o.rank())) * H.sum();
  torch::Tensor P;
  int64_t off = 0;
  for (int64_t n : ref_sizes) {
    const torch::Tensor p = (o.lambda() * M / static_cast<double>(n)) * H.narrow(0, off, n).sum();
    P = P.defined() ? P + p : p;
    off += n;
  }
  return P;
}

// Objective from V = mean_r (ΦY_r)², V̂ = WH and H (differentiable if the inputs are).
static torch::Tensor objective_terms(const TLNMFOptions& o, const BetaDivergence& div, const torch::Tensor& V,
                                     const torch::Tensor& Vhat, const torch::Tensor& H,
                                     const std::vector<int64_t>& ref_sizes) {
  torch::Tensor J;
  if (o.objective() == TLNMFObjective::GCM) {
    const torch::Tensor Ve = Vhat + o.eps();
    J = 0.5 * ((V + o.eps()) / Ve + torch::log(Ve)).sum();
  } else {
    J = div.value(V, Vhat);
  }
  if (o.lambda() > 0) J = J + penalty_term(o, H, ref_sizes);
  return J;
}

torch::Tensor TLNMFImpl::loss(const TrainingData& data) {
  const torch::Tensor X = transformed(data);
  const torch::Tensor V = X.pow(2).mean(0);
  return objective_terms(options, divergence_, V, torch::mm(W(), H_), H_, ref_sizes_);
}

double TLNMFImpl::objective_of(const torch::Tensor& V, const torch::Tensor& Vhat) const {
  return objective_terms(options, divergence_, V, Vhat, H_, ref_sizes_).item<double>();
}

double TLNMFImpl::objective(const TrainingData& data) {
  torch::NoGradGuard no_grad;
  return loss(data).item<double>();
}

void TLNMFImpl::update_nmf(const TrainingData& data) {
  torch::NoGradGuard no_grad;
  const torch::Tensor V = transformed(data).pow(2).mean(0);
  // gcm = ½·D_IS + const in (W, H): the penalty weighs twice as much relative to D_IS.
  const double scale = options.objective() == TLNMFObjective::GCM ? 2.0 : 1.0;
  const double M = static_cast<double>(options.frame_length());
  if (!supervised()) {
    const FactorPenalty ph{scale * options.lambda() * M / static_cast<double>(options.rank()), 0.0};
    multiplicative_update_(H_, MultilinearTerm{W_, {}, {}}, V, divergence_, ph);
    if (data.sharded()) {
      // W's numerator and denominator are sums over frames: add the other ranks' (one
      // all-reduce of 2·M·K numbers), then the ratio a single process takes.
      auto [numer, denom] = multiplicative_parts(W_, MultilinearTerm{{}, H_, {}}, V, divergence_);
      torch::Tensor both = torch::stack({numer, denom});
      data.sum_over_shards(both);
      apply_mm_ratio_(W_, both[0], both[1], divergence_.exponent());
    } else {
      multiplicative_update_(W_, MultilinearTerm{{}, H_, {}}, V, divergence_);
    }
    normalise();
    return;
  }
  // Supervised: block-coordinate MM over the sources' activation blocks (each its own λ·M/N_s).
  const torch::Tensor Wref = W();
  int64_t off = 0;
  for (int64_t n : ref_sizes_) {
    torch::Tensor Hs = H_.narrow(0, off, n);
    const torch::Tensor Ws = Wref.narrow(1, off, n);
    const torch::Tensor rest = torch::mm(Wref, H_) - torch::mm(Ws, Hs);
    multiplicative_update_(Hs, MultilinearTerm{Ws, {}, rest.clamp_min_(0.0)}, V, divergence_,
                           FactorPenalty{scale * options.lambda() * M / static_cast<double>(n), 0.0});
    off += n;
  }
}

int TLNMFImpl::update_phi(const TrainingData& data, int64_t steps) {
  if (!options.learn_phi() || steps <= 0) return 0;
  torch::NoGradGuard no_grad;
  torch::Tensor X = transformed(data);
  const int64_t R = X.size(0);
  const double eps = options.eps();
  const bool gcm = options.objective() == TLNMFObjective::GCM;
  const double c = gcm ? 0.5 : 1.0;  // J = c·Σ (V+ε)/(V̂+ε) + (terms without V in gcm)
  // GCM with V̂ fixed (unsupervised) is linear in V: J(trial) = J + ⟨V_t − V, c/(V̂+ε)⟩, without
  // the log and division of every element that the full objective pays per trial, and without V_t.
  const bool linear = gcm && !supervised();
  // Diagnostics (record_phi_steps): wall-clock seconds of each part of the step, the device
  // synchronised before each reading; nothing is timed otherwise.
  PhiStepRecord parts;
  auto clock = [&]() {
    if (!record_) return 0.0;
    if (X.is_cuda()) torch::cuda::synchronize();
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  };
  double last = clock();
  auto lap = [&](double& slot) {
    if (!record_) return;
    const double now = clock();
    slot += now - last;
    last = now;
  };
  // V = (1/R)·Σ_r X_r² (one realisation: X² without the pass of a mean over one slice).
  auto power = [R](const torch::Tensor& Xs) { return R == 1 ? Xs[0].square() : Xs.square().mean(0); };
  // ⟨c/(V̂+ε), V_t⟩ = (1/R)·Σ_r Σ c/(V̂+ε) ⊙ X_t,r²: one pass over the trial's frames.
  auto weighted = [R](const torch::Tensor& Xs, const torch::Tensor& w) {
    return weighted_square_sum(Xs, w) / static_cast<double>(R);
  };
  // Data-parallel: J, Γ and the Hessian diagonal are sums over frames, summed over ranks, so
  // every rank takes the same direction, the same trial values and the same Armijo decisions.
  auto summed = [&](double local) {
    if (!data.sharded()) return local;
    torch::Tensor t = torch::full({1}, local, torch::kFloat64);
    data.sum_over_shards(t);
    return t.item<double>();
  };
  torch::Tensor V = power(X);
  torch::Tensor Xref = supervised() ? torch::mm(Phi_, Yref_) : torch::Tensor();
  torch::Tensor Vhat = supervised() ? torch::mm(Xref.pow(2), H_) : torch::mm(W_, H_);
  torch::Tensor Sinv, cSinv;  // 1/(V̂+ε) and c/(V̂+ε): computed once while V̂ is fixed (unsupervised)
  double base = 0.0, trial_weighted = 0.0;  // linear: ⟨V, c/(V̂+ε)⟩ and the last trial's ⟨V_t, c/(V̂+ε)⟩
  double f = 0.0;
  if (linear) {
    // J = ⟨V, c/(V̂+ε)⟩ + ε·Σ c/(V̂+ε) + c·Σ log(V̂+ε) (+ penalty) from the pieces the trials
    // need anyway: the objective's own passes (V+ε, the quotient, the log) are not paid twice.
    // V̂ is not needed again (the trials keep it fixed), so V̂ + ε and its log are in place.
    torch::Tensor Ve = Vhat.add_(eps);
    cSinv = Ve.reciprocal().mul_(c);
    base = weighted(X, cSinv);
    double J = base + eps * cSinv.sum().item<double>() + c * Ve.log_().sum().item<double>();
    if (options.lambda() > 0) J += penalty_term(options, H_, ref_sizes_).item<double>();
    f = summed(J);
    Vhat = torch::Tensor();
  } else {
    f = summed(objective_of(V, Vhat));
  }
  orthogonal::ArmijoOptions ao{options.armijo_step(), options.armijo_shrink(), options.armijo_c1(),
                               static_cast<int>(options.armijo_tries())};
  const double max_step = options.armijo_step() * std::max(1.0, options.armijo_growth_cap());
  const double floor = options.hessian_floor() * static_cast<double>(total_frames(data));
  const orthogonal::ExpMethod expm = options.phi_expm();
  // Two frame-sized buffers for one realisation (R = 1): the trials' QX alternate between them
  // (the accepted one is the next step's X while the next trials write into the other), and
  // the free one holds X ⊙ ∂J/∂V while Γ is computed.
  torch::Tensor buffers[2];
  int free_buffer = 0;
  auto frame_buffer = [&]() -> torch::Tensor& {
    torch::Tensor& b = buffers[free_buffer];
    if (!b.defined()) b = torch::empty_like(X[0]);
    return b;
  };
  lap(parts.seconds_objective);
  int accepted = 0;
  for (int64_t s = 0; s < steps; ++s) {
    if (!V.defined()) V = power(X);  // after an accepted linear step, only now
    if (!cSinv.defined() || supervised()) {
      Sinv = (Vhat + eps).reciprocal();
      cSinv = c == 1.0 ? Sinv : c * Sinv;
    }
    // ∂J/∂V, then the relative gradient Γ = ∇_Φ J · Φᵀ = (2/R)·Σ_r (∂J/∂V ⊙ X_r) X_rᵀ (+ reference term).
    const torch::Tensor dV = gcm ? cSinv : cSinv - (V + eps).reciprocal();
    torch::Tensor Gamma;
    if (R == 1) {
      torch::Tensor& XdV = frame_buffer();
      torch::mul_out(XdV, X[0], dV);
      Gamma = torch::mm(XdV, X[0].t());
    } else {
      Gamma = torch::matmul(X * dV, X.transpose(1, 2)).sum(0);
    }
    Gamma.mul_(2.0 / static_cast<double>(R));
    if (supervised()) {
      const torch::Tensor dVhat = c * (Sinv - (V + eps) * Sinv.pow(2));
      Gamma.add_(torch::mm(Xref * torch::mm(dVhat, H_.t()), Xref.t()), 2.0);
    }
    lap(parts.seconds_gradient);
    torch::Tensor h;
    if (options.precondition()) h = torch::mm(cSinv, V.t());  // ∂²J/∂a_ij² ≈ (PVᵀ + VPᵀ)_ij, P = c/(V̂+ε)
    lap(parts.seconds_hessian);
    if (data.sharded()) {
      const int64_t MM = Gamma.numel();
      torch::Tensor both = h.defined() ? torch::cat({Gamma.reshape({-1}), h.reshape({-1})}) : Gamma.reshape({-1}).clone();
      data.sum_over_shards(both);
      Gamma = both.slice(0, 0, MM).view_as(Gamma);
      if (h.defined()) h = both.slice(0, MM).view_as(h);
    }
    const torch::Tensor G = orthogonal::skew(Gamma);
    torch::Tensor E;
    if (options.precondition()) {
      E = orthogonal::precondition(G, h + h.t(), floor);
    } else {
      E = -G;
    }
    const double slope = torch::dot(G.reshape(-1), E.reshape(-1)).item<double>();  // ⟨Γ, E⟩ = ⟨skew Γ, E⟩ for skew E
    lap(parts.seconds_direction);
    torch::Tensor Q, Xt, Vt, Xref_t, Vhat_t;
    const orthogonal::RetractionPath path(E, options.phi_update(), expm);
    lap(parts.seconds_exponential);
    auto trial = [&](double mu) {
      Q = path(mu);
      lap(parts.seconds_exponential);
      if (R == 1) {
        torch::Tensor& out = frame_buffer();
        torch::mm_out(out, Q, X[0]);
        Xt = out.unsqueeze(0);
      } else {
        Xt = torch::matmul(Q, X);
      }
      double value;
      if (linear) {
        value = f + summed((trial_weighted = weighted(Xt, cSinv)) - base);
      } else {
        Vt = power(Xt);
        if (supervised()) {
          Xref_t = torch::mm(Q, Xref);
          Vhat_t = torch::mm(Xref_t.pow(2), H_);
        } else {
          Vhat_t = Vhat;
        }
        value = summed(objective_of(Vt, Vhat_t));
      }
      lap(parts.seconds_trials);
      return value;
    };
    if (options.armijo_adaptive()) ao.initial_step = next_step_ > 0 ? next_step_ : options.armijo_step();
    const orthogonal::ArmijoResult r = orthogonal::armijo_backtracking(f, slope, trial, ao);
    if (r.accepted) {
      Phi_.copy_(torch::mm(Q, Phi_));
      lap(parts.seconds_update);
    }
    if (record_) {
      parts.f0 = r.f0;
      parts.f1 = r.value;
      parts.step = r.step;
      parts.slope = r.slope;
      parts.c1 = ao.c1;
      parts.accepted = r.accepted;
      parts.tries = r.tries;
      phi_log_.push_back(parts);
      parts = PhiStepRecord{};
    }
    if (!r.accepted) {
      next_step_ = 0.0;  // restart from armijo_step next time
      break;
    }
    if (options.armijo_adaptive()) next_step_ = std::min(max_step, r.tries == 1 ? 2.0 * r.step : r.step);
    ++accepted;
    X = Xt;
    if (R == 1) free_buffer ^= 1;  // Xt lives in the other buffer: the next trials write here
    V = Vt;  // undefined after a linear trial: the next step computes it from X
    base = trial_weighted;
    if (supervised()) Xref = Xref_t;
    Vhat = Vhat_t;
    f = r.value;
  }
  return accepted;
}

void TLNMFImpl::mu_step(const TrainingData& data) {
  shard_ = data.shard;
  update_nmf(data);
  update_phi(data, options.phi_steps());
  // Products of orthogonal matrices drift in float32: re-project once per sweep there.
  if (options.learn_phi() && Phi_.scalar_type() != torch::kFloat64) {
    torch::NoGradGuard no_grad;
    Phi_.copy_(orthogonal::polar(Phi_));
  }
}

void TLNMFImpl::normalise() {
  if (supervised()) return;
  torch::NoGradGuard no_grad;
  const torch::Tensor norms = W_.sum(0, true).clamp_min_(BetaDivergence::tiny(W_.scalar_type()));
  W_.div_(norms);
  H_.mul_(norms.t());
}

void TLNMFImpl::project() {
  torch::NoGradGuard no_grad;
  if (options.learn_phi()) Phi_.copy_(orthogonal::polar(Phi_));
  W_.clamp_min_(options.floor());
  H_.clamp_min_(options.floor());
}

torch::Tensor TLNMFImpl::phi_gradient(const TrainingData& data) {
  torch::NoGradGuard no_grad;
  const torch::Tensor Y = frames3(data.X).to(Phi_.options());
  const double R = static_cast<double>(Y.size(0));
  const double eps = options.eps();
  const bool gcm = options.objective() == TLNMFObjective::GCM;
  const double c = gcm ? 0.5 : 1.0;
  const torch::Tensor X = torch::matmul(Phi_, Y);
  const torch::Tensor V = X.pow(2).mean(0);
  const torch::Tensor Vhat = torch::mm(W(), H_);
  const torch::Tensor Sinv = (Vhat + eps).reciprocal();
  torch::Tensor dV = c * Sinv;
  if (!gcm) dV = dV - (V + eps).reciprocal();
  // ∇ = (2/R)·Σ_r (∂J/∂V ⊙ ΦY_r) Y_rᵀ  (the ICASSP paper's 2(Δ∘X)Yᵀ for R = 1, IS)
  torch::Tensor G = torch::matmul(X * dV, Y.transpose(1, 2)).sum(0).mul_(2.0 / R);
  if (supervised()) {
    const torch::Tensor dVhat = c * (Sinv - (V + eps) * Sinv.pow(2));
    G.add_(torch::mm(torch::mm(Phi_, Yref_) * torch::mm(dVhat, H_.t()), Yref_.t()), 2.0);
  }
  return G;
}

void TLNMFImpl::check_data(const TrainingData& data) const {
  const torch::Tensor& X = data.X;
  require(X.dim() == 2 || X.dim() == 3,
          "TL-NMF data must be frames M×N or R×M×N, got " + std::to_string(X.dim()) + " dimensions");
  const int64_t M = options.frame_length();
  require(X.size(-2) == M, "frame length of the data is " + std::to_string(X.size(-2)) + " but Phi is " +
                               std::to_string(M) + "x" + std::to_string(M) + " (data " + shape_string(X) + ")");
  require(X.size(-1) == options.n_frames(), "data has " + std::to_string(X.size(-1)) +
                                                " frames but the model was built for " + std::to_string(options.n_frames()));
  require(supervised() || options.rank() <= M, "rank K = " + std::to_string(options.rank()) +
                                                   " exceeds the frame length M = " + std::to_string(M));
  require(!data.mask.defined(), "TL-NMF does not take a data mask");
  require(X.isfinite().all().item<bool>(), "TL-NMF data has NaN or Inf samples");
  if (options.eps() == 0) {
    const torch::Tensor energy = frames3(X).pow(2).sum(torch::IntArrayRef{0, 1});
    const auto zero = (energy == 0).nonzero();
    const int64_t first = data.sharded() ? data.shard->begin : 0;  // frame numbers of the whole signal
    require(zero.numel() == 0, "frame " + (zero.numel() ? std::to_string(first + zero[0].item<int64_t>()) : std::string()) +
                                   " has zero energy: the " + tlnmf_objective_name(options.objective()) +
                                   " objective is undefined there with eps = 0 (set eps > 0, e.g. 5e-7)");
  }
}

torch::Tensor TLNMFImpl::sorted_rows() const {
  torch::NoGradGuard no_grad;
  if (shard_ && shard_->sum) {
    // Data-parallel (collective: every rank calls factors()): Σ_n (WH)_mn = W·(Σ_n H_kn),
    // H's row sums summed over ranks, so every rank orders Φ's rows alike.
    torch::Tensor h = H_.sum(1).contiguous();
    shard_->sum(h);
    return torch::argsort(torch::mv(W(), h), /*dim=*/0, /*descending=*/true);
  }
  const torch::Tensor energy = torch::mm(W(), H_).sum(1);
  return torch::argsort(energy, /*dim=*/0, /*descending=*/true);
}

NamedTensors TLNMFImpl::factors() {
  torch::NoGradGuard no_grad;
  const torch::Tensor order = sorted_rows();
  torch::Tensor Phi = Phi_.detach().index_select(0, order).clone();
  // Sign: the first entry of each row that is clearly nonzero (> 1e-6·max) is positive
  // (the ICASSP paper fixes the first column; windowed frames make it ≈ 0, hence the threshold).
  const torch::Tensor absPhi = Phi.abs();
  const torch::Tensor big = absPhi > 1e-6 * std::get<0>(absPhi.max(1, true));
  const torch::Tensor first = big.to(torch::kLong).argmax(1, true);
  const torch::Tensor sign = torch::sign(Phi.gather(1, first));
  Phi.mul_(torch::where(sign == 0, torch::ones_like(sign), sign));
  NamedTensors out;
  out.insert("Phi", Phi);
  out.insert("W", W().detach().index_select(0, order).clone());
  out.insert("H", H_.detach().clone());
  return out;
}

FactorDescriptions TLNMFImpl::describe_factors() {
  return {{"Phi", FactorRole::Transform, "learnt orthogonal transform (row m: atom m)", FactorPlot::Atoms},
          FactorDescription("W", FactorRole::Dictionary, "dictionary on the transform's atoms", FactorPlot::Image)
              .with_axis("Atom (rows of Φ, most energetic first)"),
          {"H", FactorRole::Activations, "activations: one row per component, one column per frame", FactorPlot::Image}};
}

void TLNMFImpl::set_factor(const std::string& name, const torch::Tensor& value) {
  torch::NoGradGuard no_grad;
  if (name == "Phi") {
    const int64_t M = options.frame_length();
    require(value.dim() == 2 && value.size(0) == M && value.size(1) == M,
            "Phi is " + shape_string(value) + " but the frame length is " + std::to_string(M));
    orthogonal::require_orthogonal(value, 1e-6, "Phi");
    Phi_.copy_(value.to(Phi_.options()));
    return;
  }
  torch::Tensor* target = name == "W" && !supervised() ? &W_ : name == "H" ? &H_ : nullptr;
  require(target != nullptr, "TL-NMF has no settable factor '" + name + "' (it has Phi, W, H; W is |Phi Yref|^2 when supervised)");
  require(value.sizes() == target->sizes(), name + " is " + shape_string(value) + " but the model needs " + shape_string(*target));
  require(value.isfinite().all().item<bool>() && (value >= 0).all().item<bool>(), name + " must be finite and nonnegative");
  target->copy_(value.to(target->options()));
}

std::vector<torch::Tensor> TLNMFImpl::component_powers() {
  torch::NoGradGuard no_grad;
  const torch::Tensor W = this->W();
  std::vector<torch::Tensor> out;
  if (supervised()) {
    int64_t off = 0;
    for (int64_t n : ref_sizes_) {
      out.push_back(torch::mm(W.narrow(1, off, n), H_.narrow(0, off, n)));
      off += n;
    }
  } else {
    for (int64_t k = 0; k < options.rank(); ++k) out.push_back(torch::outer(W.select(1, k), H_.select(0, k)));
  }
  return out;
}

std::vector<torch::Tensor> TLNMFImpl::separate_frames(const torch::Tensor& Y, const std::vector<int64_t>& mapping) {
  torch::NoGradGuard no_grad;
  require(Y.dim() == 2 && Y.size(0) == options.frame_length() && Y.size(1) == options.n_frames(),
          "separate: frames are " + shape_string(Y) + ", expected " + std::to_string(options.frame_length()) + "x" +
              std::to_string(options.n_frames()));
  const std::vector<torch::Tensor> parts = component_powers();
  const int64_t C = static_cast<int64_t>(parts.size());
  std::vector<torch::Tensor> powers;
  if (mapping.empty()) {
    powers = parts;
  } else {
    require(static_cast<int64_t>(mapping.size()) == C, "component→source mapping has " + std::to_string(mapping.size()) +
                                                           " entries for " + std::to_string(C) + " components");
    int64_t S = 0;
    for (int64_t s : mapping) {
      require(s >= 0, "component→source mapping has a negative source index");
      S = std::max(S, s + 1);
    }
    powers.assign(S, torch::zeros_like(parts[0]));
    for (int64_t k = 0; k < C; ++k) powers[mapping[k]] = powers[mapping[k]] + parts[k];
  }
  const torch::Tensor coeffs = torch::mm(Phi_, Y.to(Phi_.options()));
  const auto masked = separation::masked_coefficients(coeffs, powers, 1.0);
  std::vector<torch::Tensor> out;
  for (const auto& m : masked) out.push_back(torch::mm(Phi_.t(), m));
  return out;
}

void TLNMFImpl::pretty_print(std::ostream& stream) const {
  stream << "factorch::TLNMF(M=" << options.frame_length() << ", N=" << options.n_frames() << ", K=" << options.rank()
         << ", objective=" << tlnmf_objective_name(options.objective()) << ", eps=" << options.eps() << ", lambda=" << options.lambda()
         << ", phi=" << (options.learn_phi() ? orthogonal::retraction_name(options.phi_update()) : std::string("fixed"))
         << (options.precondition() ? "+diag-hessian" : "") << ", phi_steps=" << options.phi_steps()
         << (supervised() ? ", supervised" : "") << ")";
}

}  // namespace factorch
