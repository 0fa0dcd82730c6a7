#pragma once
// Building the layered models of a config: lnmf (one L-NMF of the run's matrix) and the
// supervised compound model shared by dlnmf, its report's baselines and `factorch separate`
// (per-source L-NMF dictionaries on clean audio, composed block-diagonally).
#include <memory>
#include <vector>

#include "app/config.h"
#include "app/dataset.h"
#include "factorch/models/supervised_separation.h"
#include "factorch/models/discriminative_nmf.h"
#include "factorch/models/layered_nmf.h"

namespace factorch::layered {

/// model.* → LayeredNMFOptions for an F×N matrix.
LayeredNMFOptions layered_options(const Config& config, int64_t F, int64_t N);

/// Per-source L-NMF dictionaries (pre-training + `fine_tune_iter` joint sweeps on each source's
/// training spectrogram) composed into one DL-NMF; `N` columns of training-mixture activations.
/// `first_layers` (layer-1 pre-training per source, computed here when empty and the model has
/// more than one layer) is kept by the model for the report's other rows.
std::shared_ptr<DiscriminativeLayeredNMFImpl> supervised_model(const Config& config, const separation::SpeechSet& set,
                                                                int64_t N, const std::vector<int64_t>& layers,
                                                                int64_t fine_tune_iter,
                                                                std::vector<PretrainedLayer> first_layers = {});

/// The dlnmf model of the run: supervised_model with model.source_iter, round-0 activations of
/// the training mixtures (data.X's first F rows) and, with validation mixtures, their mean
/// SDR as the round validator.
std::shared_ptr<DiscriminativeLayeredNMFImpl> make_dlnmf(const Config& config,
                                                         const std::shared_ptr<const separation::SpeechSet>& set,
                                                         const TrainingData& data, const std::vector<int64_t>& layers,
                                                         std::vector<PretrainedLayer> first_layers = {});

std::shared_ptr<FactorModelImpl> build_lnmf(const Config& config, const app::Dataset& data);
std::shared_ptr<FactorModelImpl> build_dlnmf(const Config& config, const app::Dataset& data);

}  // namespace factorch::layered
