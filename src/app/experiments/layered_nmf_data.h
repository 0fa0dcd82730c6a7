#pragma once
// Data of layered NMF (lnmf) and discriminative layered NMF (dlnmf), loaded once per run
// into app::Dataset: per-source clean training audio (data.train, or data.synthetic:
// speakers), dlnmf's discriminative-training / validation / test mixtures (data.disc_*,
// data.valid_*, data.test_*), and for `factorch separate` the mixtures to separate
// (data.input with optional data.references; the synthetic test mixtures).
//
// The representation is V = |STFT|^e with e = data.transform.exponent (the paper: e = 1,
// magnitudes). Wiener gains are built from the model's estimate of each source's magnitude,
// Ŝ_s^(1/e), raised to model.mask_exponent p: gain_s = Ŝ_s^(p/e) / Σ_j Ŝ_j^(p/e). p = 1 is
// the paper's eq. 19–20 (a ratio of magnitudes) whatever e is; p = 2 is the power Wiener gain.
#include <memory>
#include <string>
#include <vector>

#include "app/config.h"
#include "app/dataset.h"
#include "factorch/models/supervised_separation.h"

namespace factorch::layered {

/// The model's own part of the run's Dataset (app::Dataset::get<LayeredData>()).
struct LayeredData : app::DatasetPart {
  std::shared_ptr<const separation::SpeechSet> speech;  ///< training audio and dlnmf's mixture sets
  std::vector<separation::Mixture> inputs;  ///< `separate`: mixtures to separate (sources undefined without references)
  bool has_references = false;              ///< inputs carry their clean sources
};

/// The transform, the mask exponent, device and dtype of the config (data.transform must be an STFT).
separation::PipelineOptions pipeline_options(const Config& config);

/// `factorch train`: lnmf fits data.input (an F×N .npy, or a WAV's V) or the concatenated
/// spectrograms of every source's training audio; dlnmf fits [X_mix; S₁; …] of data.disc_*.
app::Dataset load_lnmf(const Config& config);
app::Dataset load_dlnmf(const Config& config);

/// `factorch separate`: the training audio (and for dlnmf the discriminative and validation
/// mixtures) plus the mixtures to separate, all checked (counts, names, rates, lengths, frame
/// size) before anything is trained. The matrix is what build() needs (lnmf: unused).
app::Dataset load_for_separation(const Config& config);

}  // namespace factorch::layered
