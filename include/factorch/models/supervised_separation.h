#pragma once
// The supervised separation pipeline shared by NMF, L-NMF and DL-NMF (they differ only in
// the model): per-source dictionaries learnt on clean magnitude spectrograms, a compound
// block-diagonal model, activations of a test mixture by eq. 11, Wiener gains (eq. 19–20:
// X̂_s = X_mix ⊙ Ŝ_s^(p/e) / Σ_j Ŝ_j^(p/e), V = |STFT|^e, p = mask_exponent; the paper's
// e = p = 1: a ratio of magnitudes; Ŝ_s^(1/e) estimates source s's magnitude) on the complex
// mixture STFT (mixture phase), inverse STFT, and BSS Eval SDR/SIR/SAR against the clean
// sources (estimate s is scored against source s: the assignment is known).
// Plain NMF is the one-layer case: the same code with model.layers = [K].
#include <string>
#include <vector>

#include <torch/types.h>

#include "factorch/eval/bss.h"
#include "factorch/eval/metrics_table.h"
#include "factorch/signal/stft.h"
#include "factorch/models/discriminative_nmf.h"
#include "factorch/models/layered_nmf.h"

namespace factorch::separation {

/// A mixture and its clean sources (S × T), time domain, float64 CPU.
struct Mixture {
  std::string name;
  torch::Tensor mixture;
  torch::Tensor sources;
};

/// Everything the supervised task needs, at one sample rate.
struct SpeechSet {
  int sample_rate = 0;
  std::vector<std::string> source_names;
  std::vector<std::vector<torch::Tensor>> train;  // per source, its clean training signals
  std::vector<Mixture> disc, valid, test;         // discriminative-training, validation, test mixtures
};

struct PipelineOptions {
  signal::StftOptions stft;
  double exponent = 1.0;       ///< V = |STFT|^exponent (data.transform.exponent)
  double mask_exponent = 1.0;  ///< p of the gains, on magnitudes (see the header comment)
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat64;
};

/// |STFT(x)|^exponent (F × N).
torch::Tensor magnitude_spectrogram(const torch::Tensor& x, const signal::StftOptions& stft, double exponent = 1.0);
/// Spectrograms of several signals side by side (F × ΣN).
torch::Tensor concatenated_spectrogram(const std::vector<torch::Tensor>& signals, const signal::StftOptions& stft,
                                       double exponent = 1.0);
/// [X_mix; S₁; …; S_S] over all mixtures ((S+1)·F × ΣN): DL-NMF's training data.
torch::Tensor discriminative_matrix(const std::vector<Mixture>& mixtures, const signal::StftOptions& stft,
                                    double exponent = 1.0);

/// Layer-1 pre-training of each source (NMF of its spectrogram, rank base.layers()[0]). It is
/// the same for every L-NMF with that K₁ (e.g. the report's rows K₂ = 10, 20, 30): compute it
/// once and pass it to learn_source_layers.
std::vector<PretrainedLayer> pretrain_first_layers(const std::vector<torch::Tensor>& spectrograms,
                                                   const LayeredNMFOptions& base, const PipelineOptions& options);

/// L-NMF (pre-training + `fine_tune_iter` MU sweeps) of each source's spectrogram;
/// `base` gives layers, β, init, seed, pretrain_iter (n_features/n_samples are replaced).
/// `first_layers` (one per source, from pretrain_first_layers with the same K₁), when given,
/// replace the layer-1 NMF. Returns each source's layers on options' device.
std::vector<std::vector<torch::Tensor>> learn_source_layers(const std::vector<torch::Tensor>& spectrograms,
                                                            const LayeredNMFOptions& base, int64_t fine_tune_iter,
                                                            const PipelineOptions& options,
                                                            const std::vector<PretrainedLayer>& first_layers = {});

/// A compound DL-NMF model (on options' device) from per-source layers.
std::shared_ptr<DiscriminativeLayeredNMFImpl> compose(const std::vector<std::vector<torch::Tensor>>& source_layers,
                                                      const DiscriminativeLayeredNMFOptions& model_options,
                                                      const PipelineOptions& options);

/// Separated signals (S × T) of one mixture: Wiener masks of the model's source parts on the
/// mixture's STFT through the separation step (separation::wiener_estimates).
torch::Tensor separate_mixture(const DiscriminativeLayeredNMFImpl& model, const torch::Tensor& mixture,
                               const PipelineOptions& options);

/// Mean (over mixtures) SDR/SIR/SAR per source, in dB.
struct Scores {
  torch::Tensor sdr, sir, sar;  // S, float64 CPU
  double mean_sdr() const { return sdr.mean().item<double>(); }
};

/// Separates and scores every mixture (separation::score_separation, one metrics.json table each,
/// named after the mixture and `source_names`); `estimates` (if given) receives each S × T
/// estimate. eval::metrics_json of the result is the run's metrics.json.
std::vector<eval::MetricsTable> score_mixtures(const DiscriminativeLayeredNMFImpl& model,
                                               const std::vector<Mixture>& mixtures,
                                               const std::vector<std::string>& source_names,
                                               const PipelineOptions& options,
                                               std::vector<torch::Tensor>* estimates = nullptr);

/// Separates and scores every mixture; `estimates` (if given) receives each S × T estimate.
Scores evaluate(const DiscriminativeLayeredNMFImpl& model, const std::vector<Mixture>& mixtures,
                const PipelineOptions& options, std::vector<torch::Tensor>* estimates = nullptr);

}  // namespace factorch::separation
