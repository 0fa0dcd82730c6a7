#pragma once
// NMF's config keys and builder, shared with the models built on NMFImpl (nmf_audio).
#include <memory>

#include "app/config.h"
#include "factorch/models/factor_model.h"
#include "factorch/models/nmf.h"

namespace factorch {

/// Declares the model.* keys of NMF and its penalties/constraints (for nmf and nmf_audio).
void add_nmf_keys(ConfigSchema& schema);

/// Reads the ARD / smoothness keys into `options` (auto λ, b from the data's shape and mean).
void apply_variant_options(const Config& config, const TrainingData& data, NMFOptions& options);

/// The forced-zero mask of H from model.h_zeros / model.h_mask (undefined when neither is set).
torch::Tensor h_mask_from_config(const Config& config, int64_t rank, int64_t n_samples);

/// Builds and initialises an NMF from the config (model.* keys above) for data.X (F×N).
std::shared_ptr<FactorModelImpl> build_nmf(const Config& config, const TrainingData& data);

}  // namespace factorch
