#pragma once
// TL-NMF: transform-learning NMF (Fagot, Wendt, Févotte, ICASSP 2018; Zhang, Soubies,
// Févotte, GCM identifiability paper). |ΦY|² ≈ WH with Φ (M×M) orthogonal, W ≥ 0 (M×K,
// ‖w_k‖₁ = 1), H ≥ 0 (K×N).
//
// Data: TrainingData.X is the frame matrix Y (M×N) of a signal, or R×M×N frames of R
// realisations/signals sharing one activation matrix: V = (1/R)·Σ_r (ΦY_r)² (the GCM paper's
// empirical mean over realisations).
//
// Objectives (ε on both terms, as the papers):
//   is : D_IS(V+ε | WH+ε) + λ·(M/K)·‖H‖₁                        (ICASSP paper, eq. 4)
//   gcm: ½·Σ[(V+ε)/(WH+ε) + log(WH+ε)] + λ·(M/K)·‖H‖₁          (GCM paper, eq. 3–4)
// They differ in Φ only: IS has the extra −Σ log(V+ε) (the −V⁻¹ of the paper's Δ).
// Supervised mode (ICASSP Algorithm 2): W = |Φ·Y_ref|² is not free but the power of reference
// frames of the sources (columns grouped by source); H's block of source s has the penalty
// λ·M/N_s; only H and Φ are learnt.
//
// One mu_step: MU on H then W (shared multiplicative_update_, exponent ½ for IS), W columns
// ℓ1-normalised (H rescaled, WH unchanged), then `phi_steps` Φ updates: relative gradient Γ,
// skew direction, preconditioned by the diagonal Hessian approximation H_ij = (PVᵀ + VPᵀ)_ij
// (P = ∂J/∂V's 1/(WH+ε) part) clipped below at hessian_floor·N, retraction (projected,
// cayley, qn = expm) and Armijo backtracking. Each accepted step satisfies the Armijo
// condition, so (with λ = 0, where the normalisation is exact) the objective never increases.
#include <string>
#include <utility>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "factorch/divergence.h"
#include "factorch/tolerances.h"
#include "factorch/orthogonal.h"
#include "factorch/models/factor_model.h"

namespace factorch {

/// The objective of the header comment: IS divergence or the GCM likelihood.
enum class TLNMFObjective { IS, GCM };
/// "is" | "gcm"; else factorch::Error ("objective must be is or gcm, got '…'").
TLNMFObjective tlnmf_objective_from_name(const std::string& name);
std::string tlnmf_objective_name(TLNMFObjective objective);

struct TLNMFOptions {
  TLNMFOptions(int64_t frame_length, int64_t n_frames, int64_t rank)
      : frame_length_(frame_length), n_frames_(n_frames), rank_(rank) {}
  TORCH_ARG(int64_t, frame_length);            ///< M (rows of Y, size of Φ)
  TORCH_ARG(int64_t, n_frames);                ///< N
  TORCH_ARG(int64_t, rank);                    ///< K (supervised: set from the reference frames)
  TORCH_ARG(TLNMFObjective, objective) = TLNMFObjective::GCM;
  TORCH_ARG(double, eps) = 5e-7;               ///< ε on data and model (GCM paper: 5e-7)
  TORCH_ARG(double, lambda) = 0.0;             ///< λ of λ·(M/K)·‖H‖₁ (supervised: λ·M/N_s per source)
  TORCH_ARG(bool, learn_phi) = true;           ///< false: fixed transform (DCT-NMF baseline)
  /// Φ's retraction: projected, cayley or exponential (the "qn" of configs: expm of the quasi-Newton step).
  TORCH_ARG(orthogonal::Retraction, phi_update) = orthogonal::Retraction::Exponential;
  TORCH_ARG(int64_t, phi_steps) = 5;           ///< Φ updates per mu_step
  /// qn's exponential: Taylor keeps E², E³ (and E⁶ for steps beyond degree 12's range) of
  /// each direction, every Armijo trial is then two products (orthogonal::SkewTaylorExponential;
  /// halved steps after squarings are free); Eigh diagonalises
  /// each direction once, every trial is one product (SkewExponential, costlier eigendecomposition);
  /// MatrixExp calls torch::matrix_exp per trial (reference).
  TORCH_ARG(orthogonal::ExpMethod, phi_expm) = orthogonal::ExpMethod::Taylor;
  TORCH_ARG(bool, precondition) = true;        ///< diagonal-Hessian scaling of the skew direction
  TORCH_ARG(double, hessian_floor) = 1e-2;     ///< H_ij ≥ hessian_floor·N (value at a perfect fit: N for gcm)
  TORCH_ARG(double, armijo_step) = 1.0;        ///< first step tried (1 = the quasi-Newton step)
  TORCH_ARG(double, armijo_shrink) = 0.5;
  TORCH_ARG(double, armijo_c1) = 1e-4;
  TORCH_ARG(int64_t, armijo_tries) = 30;
  /// Start each Φ line search at 2× the last accepted step when that one needed no
  /// backtracking (else at the last accepted step), capped at armijo_step·armijo_growth_cap:
  /// the diagonal-Hessian step is conservative on TL-NMF problems (accepted at μ = 1 almost always).
  TORCH_ARG(bool, armijo_adaptive) = true;
  TORCH_ARG(double, armijo_growth_cap) = 64.0;
  /// MU sweeps of H (and W) under the initial Φ, run by init() before Φ is ever moved: Φ steps
  /// taken against a random H chase a meaningless V̂ (supervised: separation fell from 7.4 to
  /// 2.0 dB on the seeded test pair without it).
  TORCH_ARG(int64_t, warmup) = 20;
  TORCH_ARG(double, floor) = kFactorFloor;            ///< lower bound kept on W, H by project()
};

/// One Φ update, recorded when record_phi_steps(true) (tests, diagnostics).
struct PhiStepRecord {
  double f0 = 0, f1 = 0, step = 0, slope = 0, c1 = 0;
  bool accepted = false;
  int tries = 0;
  /// Where the step's time went (wall-clock seconds, the device synchronised before each
  /// reading; measured only while recording): the objective, V̂ and 1/(V̂+ε) at the start of
  /// update_phi (first step only: later steps carry them over), the relative gradient Γ, the
  /// Hessian diagonal PVᵀ, the direction E and its slope, the exponentials (per-direction
  /// powers and every trial's), every trial's QX and objective, and Φ ← QΦ.
  double seconds_objective = 0, seconds_gradient = 0, seconds_hessian = 0, seconds_direction = 0,
         seconds_exponential = 0, seconds_trials = 0, seconds_update = 0;
};

/// clone() (torch::nn::Cloneable) is a deep copy: options, Φ, W, H, the reference frames and
/// the line-search state; the cached transform is not shared (the clone recomputes it).
class TLNMFImpl : public FactorModelImpl, public torch::nn::Cloneable<TLNMFImpl> {
 public:
  explicit TLNMFImpl(const TLNMFOptions& options);

  /// Creates Φ (DCT), W, H (constants) and, once set_reference() was called (clone()), the
  /// reference frames; call init() with data for a real start.
  void reset() override;

  /// Φ ← orthonormal DCT-II ("dct") or a Haar-random orthogonal matrix ("random");
  /// W, H ← |N(0,1)| + 1 (as the published code), W ℓ1-normalised, H scaled so that mean(WH) = mean(V);
  /// then options.warmup MU sweeps of W, H with Φ fixed. Call set_factor("Phi", ...) before
  /// warm_up() (or re-run it) when Φ comes from a file.
  void init(const TrainingData& data, const std::string& phi_init, uint64_t seed);

  /// Supervised mode: reference frames (M×N_ref) whose powers are W's columns; `sizes[s]` columns per source.
  void set_reference(const torch::Tensor& Yref, const std::vector<int64_t>& sizes);
  bool supervised() const { return Yref_.defined(); }
  const std::vector<int64_t>& reference_sizes() const { return ref_sizes_; }

  std::string type() const override { return "tlnmf"; }
  torch::Tensor reconstruct() override;  ///< WH
  torch::Tensor loss(const TrainingData& data) override;
  bool has_mu() const override { return true; }
  void mu_step(const TrainingData& data) override;
  void normalise() override;
  void project() override;
  void check_data(const TrainingData& data) const override;
  /// H (one column per frame). Data-parallel (TrainingData::shard): a rank holds its frames
  /// and H's columns for them (options.n_frames is the local count); W's MU parts, the Φ
  /// statistics (Γ, the Hessian diagonal) and the objective at each Armijo trial are summed
  /// over ranks, so Φ and W stay identical on every rank.
  std::vector<std::string> per_column_tensors() const override;
  /// Phi (rows sign/permutation-normalised: ordered by decreasing Σ_n (WH)_mn, first clearly
  /// nonzero entry positive), W (rows permuted alike), H. Supervised: Phi, W = |ΦY_ref|², H.
  NamedTensors factors() override;
  FactorDescriptions describe_factors() override;
  void set_factor(const std::string& name, const torch::Tensor& value) override;
  void pretty_print(std::ostream& stream) const override;

  /// Objective at the current parameters (no autograd).
  double objective(const TrainingData& data);
  /// Euclidean gradient ∂J/∂Φ of loss(), analytic (for tests against autograd).
  torch::Tensor phi_gradient(const TrainingData& data);
  /// `phi_steps` Φ updates with W, H fixed; returns the number of accepted steps.
  int update_phi(const TrainingData& data, int64_t steps);
  /// MU on H and W (W skipped in supervised mode), then the W normalisation.
  void update_nmf(const TrainingData& data);
  /// `sweeps` update_nmf calls (Φ fixed).
  void warm_up(const TrainingData& data, int64_t sweeps);

  /// Per-component powers w_k h_k (supervised: one W_s H_s per source block).
  std::vector<torch::Tensor> component_powers();
  /// Wiener separation of frames Y (M×N, same N as H): source s gets Φᵀ(mask_s ⊙ ΦY) with
  /// mask_s = Σ_{k: component_source[k] = s} P_k / Σ_k P_k. Empty mapping: one source per
  /// component (supervised: per source block). Returns one M×N frame matrix per source.
  std::vector<torch::Tensor> separate_frames(const torch::Tensor& Y, const std::vector<int64_t>& component_source = {});
  torch::Tensor Phi() const { return Phi_; }
  torch::Tensor W() const;
  torch::Tensor H() const { return H_; }

  void record_phi_steps(bool on) { record_ = on; phi_log_.clear(); }
  const std::vector<PhiStepRecord>& phi_log() const { return phi_log_; }

  TLNMFOptions options;

 private:
  struct Parts;  // X = ΦY, V, WH and the derived quantities of one evaluation
  static torch::Tensor frames3(const torch::Tensor& X);
  /// X = Φ·Y for the frames of `data` (R×M×N). Without autograd the last one is kept while
  /// neither Φ nor those frames change (same tensor, same version counters, same storage):
  /// the MU of W and H, the Φ step and the objective each need it, and it is the largest
  /// product of an MU sweep. Only products computed from Φ are kept, never the step's QX, so
  /// no rounding drift builds up between X and Φ over the sweeps. Costs one array of X's size.
  torch::Tensor transformed(const TrainingData& data);
  int64_t total_frames(const TrainingData& data) const;  // N of the whole run (all ranks)
  double objective_of(const torch::Tensor& V, const torch::Tensor& Vhat) const;
  torch::Tensor sorted_rows() const;  // permutation used by factors()

  BetaDivergence divergence_;
  torch::Tensor Phi_, W_, H_, Yref_;
  struct TransformCache {
    torch::Tensor frames, X;  // frames: the data's tensor itself (held, so its address is not reused)
    int64_t frames_version = -1, phi_version = -1;
    const void* phi_storage = nullptr;
  } transform_cache_;
  std::vector<int64_t> ref_sizes_;
  std::shared_ptr<const DataShard> shard_;  // data-parallel: factors() orders Φ's rows by global energy
  double next_step_ = 0.0;  // adaptive Armijo: first step of the next line search (0: armijo_step)
  bool record_ = false;
  std::vector<PhiStepRecord> phi_log_;
};
TORCH_MODULE(TLNMF);

}  // namespace factorch
