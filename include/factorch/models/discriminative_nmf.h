#pragma once
// Discriminative layered NMF (DL-NMF, paper Sec. 3) for supervised separation of S sources.
//
// Per-source layered dictionaries W_s¹…W_sᴸ (learnt by L-NMF on each source's clean audio)
// are combined into block-diagonal compound layers Wˡ = diag(W_1ˡ, …, W_Sˡ); W¹ is
// (S·F)×(S·K₁), so Ŝ = W¹…WᴸH stacks the separated spectra [Ŝ₁; …; Ŝ_S] and the mixture
// model is I·Ŝ = Σ_s Ŝ_s with I = [I_F … I_F] (eq. 9–10).
//
// Training data (TrainingData::X, built by the dlnmf entry): the training mixtures and their
// clean sources stacked by rows, [X_mix; S₁; …; S_S] ((S+1)·F × N). One mu_step() is one
// *round*:
//   (a) h_iter updates of H on X_mix with the bases fixed (eq. 11: P = I·W¹…Wᴸ),
//   (b) w_iter discriminative sweeps of every layer on S = [S₁; …; S_S] with H fixed
//       (eq. 12–16), each by the shared layered_mu_sweep_ / multiplicative_update_,
//       followed by L1 column normalisation (scale pushed down into H).
// MU multiplies, so the off-diagonal zeros of the compound layers stay exactly zero (no
// step floors W; the compound matrices are built as zeros + blocks).
// loss() is the discriminative objective D(S | W¹…WᴸH) (eq. 13) at the current H.
//
// Early stopping: with a validator (e.g. mean SDR on validation mixtures, higher = better),
// rounds are scored (round 0 = the L-NMF dictionaries); after `patience` rounds without
// improvement, or at round `max_rounds`, the best round's bases and H are restored,
// early_stop() says so (the trainer stops there) and further mu_step() calls do nothing.
#include <functional>
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "factorch/divergence.h"
#include "factorch/normalisation.h"
#include "factorch/models/factor_model.h"
#include "factorch/models/layered_nmf.h"
#include "factorch/models/self_stopping.h"

namespace factorch {

struct DiscriminativeLayeredNMFOptions {
  DiscriminativeLayeredNMFOptions(int64_t n_features, int64_t n_samples, std::vector<int64_t> layers,
                                  int64_t n_sources = 2)
      : n_features_(n_features), n_samples_(n_samples), layers_(std::move(layers)), n_sources_(n_sources) {}
  TORCH_ARG(int64_t, n_features);                ///< F (frequency bins)
  TORCH_ARG(int64_t, n_samples);                 ///< N (frames of the training mixtures)
  TORCH_ARG(std::vector<int64_t>, layers);       ///< per-source K₁…K_L
  TORCH_ARG(int64_t, n_sources) = 2;             ///< S
  TORCH_ARG(std::vector<std::string>, source_names) = {};  ///< export names (default s1, s2, …)
  TORCH_ARG(double, beta) = 1.0;                 ///< β (the paper: KL)
  TORCH_ARG(double, eps) = 0.0;
  TORCH_ARG(int64_t, h_iter) = 50;               ///< eq. 11 updates of H per round
  TORCH_ARG(int64_t, w_iter) = 10;               ///< discriminative sweeps (eq. 14–16) per round
  TORCH_ARG(int64_t, separation_iter) = 100;     ///< eq. 11 updates when separating a new mixture
  TORCH_ARG(Normalisation, normalise) = Normalisation::L1;  ///< L1 | None
  TORCH_ARG(int64_t, patience) = 2;              ///< rounds without validation gain before stopping (0: never)
  TORCH_ARG(int64_t, max_rounds) = 0;            ///< restore the best round after this many (0: unknown)
};

/// clone() (torch::nn::Cloneable) copies the layers, H, the recorded start and the round
/// state; the clone's validator scores the clone (it receives the model it validates).
class DiscriminativeLayeredNMFImpl : public FactorModelImpl,
                                     public SelfStopping,
                                     public torch::nn::Cloneable<DiscriminativeLayeredNMFImpl> {
 public:
  explicit DiscriminativeLayeredNMFImpl(const DiscriminativeLayeredNMFOptions& options);

  /// Compound layers = zeros with unit blocks, H = ones, the recorded start = these layers.
  /// The round/validation state is training state: restart_rounds() clears it.
  void reset() override;
  /// Forgets the rounds done and their validation scores (round 0 is scored again).
  void restart_rounds();
  /// Copies source s's layers (W_s¹ F×K₁, …, W_sᴸ) into the diagonal blocks; shapes checked.
  void set_source_layers(int64_t s, const std::vector<torch::Tensor>& layers);
  /// Source s's layers (views of the diagonal blocks).
  std::vector<torch::Tensor> source_layers(int64_t s) const;

  /// I·W¹…Wᴸ: the mixture dictionary (F × S·K_L).
  torch::Tensor mixture_dictionary() const;
  /// `iterations` updates of eq. 11 on H (S·K_L × n) for the mixture spectrogram X_mix.
  void fit_activations_(torch::Tensor& H, const torch::Tensor& X_mix, int64_t iterations) const;
  /// H of the training mixtures from a flat start with h_iter updates of eq. 11 (round 0).
  void init_activations(const torch::Tensor& X_mix);
  /// Per-source model spectra (S × F × n) of a mixture: H by eq. 11 from a flat start
  /// (options.separation_iter updates), then Ŝ_s = (W¹…Wᴸ)_s H_s. Wiener gains use these.
  torch::Tensor separate(const torch::Tensor& X_mix) const;

  /// Records the current layers as the generative (L-NMF) start, kept as buffers
  /// "initial_W1".. (checkpointed) so that reports can compare with it after training.
  void remember_initial_layers();
  /// The recorded start (the reset() layers if never recorded).
  std::vector<torch::Tensor> initial_layers() const;

  /// The per-source layer-1 pre-training the source dictionaries were learnt from (not
  /// checkpointed): a report builds its models with other K₂ and the same K₁ from it
  /// instead of repeating the layer-1 NMF.
  void set_first_layer_pretraining(std::vector<PretrainedLayer> layers) { first_layers_ = std::move(layers); }
  const std::vector<PretrainedLayer>& first_layer_pretraining() const { return first_layers_; }

  /// Largest |entry| outside the diagonal blocks over all layers (0 for a valid model).
  double off_diagonal_max() const;

  /// Early stopping: called after each round (and once before the first) with this model
  /// (higher = better). It takes the model rather than capturing it, so a clone validates itself.
  using Validator = std::function<double(const DiscriminativeLayeredNMFImpl&)>;
  void set_validator(Validator validator) { validator_ = std::move(validator); }
  const std::vector<double>& validation_history() const { return validation_; }
  int64_t best_round() const { return best_round_; }
  int64_t rounds_done() const { return round_; }
  bool stopped() const { return stopped_; }
  /// Why best_round() is the one kept (for reports): its validation score against round 0
  /// (the L-NMF start) and what ended the rounds.
  std::string selection_reason() const;
  /// Once the rounds have stopped (patience or max_rounds): "early stop after round 6: kept
  /// round 4, the best on validation (2 rounds without a better score, patience 2)", or
  /// "max rounds (8) reached: kept round …"; the trainer ends the run with it (SelfStopping).
  std::string early_stop() const override;

  std::string type() const override { return "dlnmf"; }
  torch::Tensor reconstruct() override;  ///< Ŝ = W¹…WᴸH ((S·F) × N), the stacked source estimates
  torch::Tensor loss(const TrainingData& data) override;
  bool has_mu() const override { return true; }
  void mu_step(const TrainingData& data) override;
  void normalise() override;
  void project() override;
  void check_data(const TrainingData& data) const override;
  /// W1…WL, H (compound) and per source <name>_W1…<name>_WL.
  NamedTensors factors() override;
  FactorDescriptions describe_factors() override;
  void set_factor(const std::string& name, const torch::Tensor& value) override;
  void pretty_print(std::ostream& stream) const override;

  int64_t n_layers() const { return static_cast<int64_t>(W_.size()); }
  const std::vector<torch::Tensor>& layers() const { return W_; }
  const torch::Tensor& H() const { return H_; }
  std::string source_name(int64_t s) const;
  const BetaDivergence& divergence() const { return divergence_; }
  DiscriminativeLayeredNMFOptions options;

 private:
  int64_t block_rows(size_t l) const;  // rows of one source's block in layer l
  torch::Tensor block(size_t l, int64_t s) const;
  void score_round();
  bool out_of_patience() const;  // the rounds since the best one have reached options.patience
  BetaDivergence divergence_;
  std::vector<torch::Tensor> W_;  // parameters "W1".."WL" (compound, block-diagonal)
  std::vector<torch::Tensor> initial_;  // buffers "initial_W1".."initial_WL"
  torch::Tensor H_;               // parameter "H" (S·K_L × N), activations of the training mixtures
  Validator validator_;
  std::vector<double> validation_;
  std::vector<torch::Tensor> best_;
  std::vector<PretrainedLayer> first_layers_;
  int64_t round_ = 0, best_round_ = 0;
  bool stopped_ = false;
};
TORCH_MODULE(DiscriminativeLayeredNMF);

}  // namespace factorch
