#pragma once
// Model registry: name → config keys + builder. The YAML `model.type` picks an entry.
// Adding a model = one ModelEntry in registry.cpp (explicit, no static-init magic, so a
// static library keeps every model).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/config.h"
#include "factorch/models/factor_model.h"

namespace factorch {

struct ModelEntry {
  std::string name;
  std::string summary;
  /// Declares the model's `model.*` keys (use KeySpec::for_models({name})).
  std::function<void(ConfigSchema&)> add_keys;
  /// Builds and initialises the model for `data` (shapes come from the data).
  std::function<std::shared_ptr<FactorModelImpl>(const Config&, const TrainingData&)> build;
  /// Optional: loads the training data (CPU, float64). Default: app::load_training_data
  /// (data.input .npy matrix, data.mask).
  std::function<TrainingData(const Config&)> load_data;
  /// Optional: runs after a successful fit when outputs are written (separation, metrics,
  /// baselines, plots). Gets the trained model, its data and the output directory.
  std::function<void(const Config&, FactorModelImpl&, const TrainingData&, const std::string& out_dir)> report;
  /// Optional, for models whose dictionary is a function of frequency (innmf): the dictionary
  /// of a run (its resolved config and factors) sampled at `frequencies` (Hz) → F × K, as seen
  /// by a DFT of size n_fft (0: the training size) (`factorch export --frequencies/--n-fft/--cqt`).
  std::function<torch::Tensor(const Config&, const NamedTensors& factors, const torch::Tensor& frequencies, int64_t n_fft)>
      sample_dictionary = {};
};

const std::vector<ModelEntry>& model_registry();
/// Throws factorch::Error listing the known names.
const ModelEntry& model_entry(const std::string& name);

/// entry.build(config, data), with the errors of the model layer reported against the config.
/// Models name their Options fields ("rank must be a positive integer"), which are the names
/// of the model.* keys; this prefixes "CONFIG: model: " so the user knows where to look.
/// Errors that already point into the config (Config::fail) pass unchanged.
std::shared_ptr<FactorModelImpl> build_model(const ModelEntry& entry, const Config& config, const TrainingData& data);

// Entries of the built-in models (each defined next to its model).
ModelEntry nmf_entry();
ModelEntry tlnmf_entry();
ModelEntry innmf_entry();
ModelEntry lnmf_entry();
ModelEntry dlnmf_entry();
ModelEntry nmf_audio_entry(); ModelEntry online_nmf_entry(); ModelEntry multichannel_nmf_entry();

}  // namespace factorch
