#pragma once
// Layered NMF (L-NMF, Hsu et al.): X ≈ W¹W²…Wᴸ Hᴸ with Wˡ (K_{l−1}×K_l, K₀ = F) ≥ 0, H ≥ 0.
//
// Training (paper eq. 5–8): layer-wise pre-training — NMF of X (rank K₁), then NMF of H¹
// (rank K₂), … (pretrain()) — then joint fine-tuning of all layers by MU sweeps (mu_step):
// layer l is updated by the shared multiplicative_update_ with P = W¹…W^(l−1) and
// Q = W^(l+1)…Wᴸ H, then H with P = W¹…Wᴸ. Each update is an MM step, so the objective
// D_β(X | W¹…WᴸH) never increases. After a sweep every layer's columns are L1-normalised
// and the scale pushed into the next layer (or H): the product is unchanged, zeros stay zeros.
// Autograd: loss() is differentiable in every layer; project() clamps to [floor, ∞).
#include <functional>
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "factorch/divergence.h"
#include "factorch/normalisation.h"
#include "factorch/tolerances.h"
#include "factorch/models/factor_model.h"

namespace factorch {

struct LayeredNMFOptions {
  LayeredNMFOptions(int64_t n_features, int64_t n_samples, std::vector<int64_t> layers)
      : n_features_(n_features), n_samples_(n_samples), layers_(std::move(layers)) {}
  TORCH_ARG(int64_t, n_features);            ///< F (rows of X)
  TORCH_ARG(int64_t, n_samples);             ///< N (columns of X)
  TORCH_ARG(std::vector<int64_t>, layers);   ///< K₁…K_L (L ≥ 1; L = 1 is plain NMF)
  TORCH_ARG(double, beta) = 1.0;             ///< β of the divergence (the paper uses KL, β = 1)
  TORCH_ARG(double, eps) = 0.0;              ///< ε inside the divergence (see divergence.h)
  TORCH_ARG(Normalisation, normalise) = Normalisation::L1;  ///< L1 | None: per-layer column normalisation after a sweep
  TORCH_ARG(std::string, init) = "random";   ///< pre-training init of each layer: random | nndsvd | nndsvda
  TORCH_ARG(uint64_t, seed) = 0;             ///< layer l is initialised with seed + l
  TORCH_ARG(int64_t, pretrain_iter) = 100;   ///< MU iterations of each layer's NMF in pretrain()
  TORCH_ARG(bool, fixed_bases) = false;      ///< keep W¹…Wᴸ: fit H only
  TORCH_ARG(double, floor) = kFactorFloor;          ///< lower bound kept by project() (autograd)
};

/// One layer of layer-wise pre-training: V ≈ W·H by NMF (V = X for the first layer, the
/// previous layer's H above it).
struct PretrainedLayer {
  torch::Tensor W, H;
};

/// One MU sweep of X ≈ W¹…Wᴸ H through multiplicative_update_: each layer in order (when
/// update_layers) with P = W¹…W^(l−1), Q = W^(l+1)…Wᴸ H, then H (when update_h). Shared by
/// L-NMF fine-tuning and DL-NMF's discriminative step (eq. 14–16, X = clean sources).
/// `sum_over_shards`, when set, adds every rank's numerator and denominator of a layer's
/// update (X and H are one rank's columns; the layers are shared): TrainingData::sum_over_shards.
void layered_mu_sweep_(std::vector<torch::Tensor>& layers, torch::Tensor& H, const torch::Tensor& X,
                       const BetaDivergence& divergence, const torch::Tensor& mask, bool update_layers,
                       bool update_h, const std::function<void(torch::Tensor&)>& sum_over_shards = {});

/// L1-normalises the columns of every layer, pushing the scale into the next layer's rows
/// (or H's): W¹…WᴸH is unchanged and zero entries stay exactly zero.
void normalise_layers_(std::vector<torch::Tensor>& layers, torch::Tensor& H);

/// W¹·W²·…·Wᴸ (differentiable).
torch::Tensor chain_product(const std::vector<torch::Tensor>& layers);

/// Throws factorch::Error unless the shapes chain: W¹ is F×K₁, Wˡ is K_{l−1}×K_l, H is K_L×N
/// (H may be undefined). `what` prefixes the message (e.g. a source name).
void check_layer_chain(const std::vector<torch::Tensor>& layers, const torch::Tensor& H, const std::string& what);

/// clone() (torch::nn::Cloneable) is a deep copy: options, layers and H.
class LayeredNMFImpl : public FactorModelImpl, public torch::nn::Cloneable<LayeredNMFImpl> {
 public:
  explicit LayeredNMFImpl(const LayeredNMFOptions& options);

  /// Creates the layers (constant 1/K_l, so the product has unit scale) and H.
  void reset() override;
  /// Layer-wise pre-training on X (F×N): NMF of X, then of H¹, … (options.pretrain_iter each).
  /// `first` (W¹ F×K₁, H¹ K₁×N), when defined, replaces the first NMF: it depends only on X,
  /// K₁, β, init and seed, so models that differ above layer 1 can share it.
  void pretrain(const torch::Tensor& X, const PretrainedLayer& first = {});
  /// The NMF of layer l on V (rank K_l, options' init and seed + l, pretrain_iter MU steps).
  PretrainedLayer pretrain_layer(const torch::Tensor& V, size_t l) const;
  /// pretrain() of a data-parallel rank (data.sharded(): X is its columns; unsharded data:
  /// pretrain(data.X)). Every layer's NMF is a sum over the columns of X (H¹, H², … have X's
  /// columns), so each is the data-parallel NMF: W summed over ranks, H kept per rank, the
  /// initial factors drawn whole and sliced. Needs init random. Collective.
  void pretrain_sharded(const TrainingData& data);

  std::string type() const override { return "lnmf"; }
  torch::Tensor reconstruct() override;
  torch::Tensor loss(const TrainingData& data) override;
  bool has_mu() const override { return true; }
  void mu_step(const TrainingData& data) override;
  void normalise() override;
  void project() override;
  void check_data(const TrainingData& data) const override;
  NamedTensors factors() override;  ///< W1…WL, H
  FactorDescriptions describe_factors() override;
  void set_factor(const std::string& name, const torch::Tensor& value) override;
  void pretty_print(std::ostream& stream) const override;

  int64_t n_layers() const { return static_cast<int64_t>(W_.size()); }
  const std::vector<torch::Tensor>& layers() const { return W_; }
  const torch::Tensor& H() const { return H_; }
  const BetaDivergence& divergence() const { return divergence_; }
  /// H (K_L × N) is per column; the layers W1…WL are shared by every column.
  std::vector<std::string> per_column_tensors() const override { return {"H"}; }
  LayeredNMFOptions options;

 private:
  PretrainedLayer pretrain_layer_(const TrainingData& V, size_t l) const;
  BetaDivergence divergence_;
  std::vector<torch::Tensor> W_;  // parameters "W1".."WL"
  torch::Tensor H_;               // parameter "H"
};
TORCH_MODULE(LayeredNMF);

}  // namespace factorch
