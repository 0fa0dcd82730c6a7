#pragma once
// Multichannel β-NMF with instantaneous mixing (Ozerov & Févotte 2010, the NTF form of
// their multiplicative updates): channel i's power spectrogram is modelled as
//     V_i ≈ Σ_j q_ij · W_j H_j        (q_ij = |a_ij|², the mixing powers; W_j H_j: source j)
// with K components per source. Each factor is updated by the shared MM step on a data
// layout in which the model is linear in it:
//   W: [V_1 … V_I] (F × IN) ≈ W · [D_1H … D_IH]       (D_i = diag of q_i over components)
//   H: [V_1; …; V_I] (IF × N) ≈ [WD_1; …; WD_I] · H
//   Q: V (I × FN) ≈ Q · [vec S_1; …; vec S_J]          (S_j = W_j H_j)
// normalise(): ‖w_k‖₁ = 1 and Σ_i q_ij = 1, the scale moving into H (V̂ unchanged).
// Separation: source image j in channel i = (q_ij S_j / V̂_i) ⊙ X_i (multichannel Wiener
// filter of the instantaneous model).
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "factorch/divergence.h"
#include "factorch/models/factor_model.h"

namespace factorch {

struct MultichannelNMFOptions {
  MultichannelNMFOptions(int64_t channels, int64_t n_features, int64_t n_samples, int64_t sources, int64_t rank)
      : channels_(channels), n_features_(n_features), n_samples_(n_samples), sources_(sources), rank_(rank) {}
  TORCH_ARG(int64_t, channels);    ///< I
  TORCH_ARG(int64_t, n_features);  ///< F
  TORCH_ARG(int64_t, n_samples);   ///< N
  TORCH_ARG(int64_t, sources);     ///< J
  TORCH_ARG(int64_t, rank);        ///< K components per source
  TORCH_ARG(double, beta) = 0.0;   ///< IS: the Gaussian model of Ozerov & Févotte
  TORCH_ARG(double, eps) = 0.0;
};

/// clone() (torch::nn::Cloneable) is a deep copy: options, W, H and Q.
class MultichannelNMFImpl : public FactorModelImpl, public torch::nn::Cloneable<MultichannelNMFImpl> {
 public:
  explicit MultichannelNMFImpl(const MultichannelNMFOptions& options);

  /// Creates W, H (ones) and Q (1/I); call init() with data for a real start.
  void reset() override;

  /// Random W, H (scaled to the data), mixing powers drawn around 1/I.
  void init(const torch::Tensor& V, uint64_t seed);
  /// init() of the whole data from a rank's shard (data.sharded()): the scale from the mean
  /// over every rank, H drawn whole and this rank's columns kept, so that the factors do not
  /// depend on the number of ranks. Collective (one all-reduce). Unsharded data: init(data.X).
  void init(const TrainingData& data, uint64_t seed);
  /// H (JK × N) is per column (frame); W and Q are shared: their MU numerators and
  /// denominators are summed over ranks.
  std::vector<std::string> per_column_tensors() const override { return {"H"}; }

  std::string type() const override { return "multichannel_nmf"; }
  torch::Tensor reconstruct() override;  ///< I × F × N
  torch::Tensor loss(const TrainingData& data) override;
  bool has_mu() const override { return true; }
  void mu_step(const TrainingData& data) override;
  void normalise() override;
  void project() override;
  void check_data(const TrainingData& data) const override;
  NamedTensors factors() override;
  FactorDescriptions describe_factors() override;
  void set_factor(const std::string& name, const torch::Tensor& value) override;
  void pretty_print(std::ostream& stream) const override;

  /// Source j's power spectrogram W_j H_j (F × N).
  torch::Tensor source_power(int64_t j) const;
  /// Wiener source images: coefficients I × F × N (complex STFT) → J tensors I × F × N.
  std::vector<torch::Tensor> source_images(const torch::Tensor& coefficients) const;

  MultichannelNMFOptions options;

 private:
  torch::Tensor expanded_q() const;  // I × JK: q_i of each component's source
  // The factors of a run whose data has mean `mean` and `total` frames; H keeps [begin, begin + N).
  void init_factors(double mean, int64_t total, int64_t begin, uint64_t seed);
  BetaDivergence divergence_;
  torch::Tensor W_, H_, Q_;
};
TORCH_MODULE(MultichannelNMF);

}  // namespace factorch
