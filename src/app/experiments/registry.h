#pragma once
// Model registry: name → config keys + builder + capabilities. The YAML `model.type` picks an
// entry; shared code asks the entry (capabilities) and the model (describe_factors()), never
// the type string. Adding a model = one ModelEntry listed in registry.cpp (explicit, no
// static-init magic, so a static library keeps every model); docs/architecture.md, "Adding a
// model", lists the files it touches.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/config.h"
#include "app/dataset.h"
#include "factorch/models/factor_model.h"

namespace factorch {

namespace distributed {
class Communicator;
}

namespace app {
struct RunOptions;
struct SeparationResult;
}  // namespace app

/// What a model can do, stated by its entry (the CLI and the run checks read this, rather
/// than guessing from which callbacks are missing).
struct ModelCapabilities {
  bool matrix_input = false;   ///< fits an F×N .npy given as data.input
  bool audio_input = false;    ///< reads WAVs or an embedded signal through the data block
  bool separates = false;      ///< `factorch separate` (the entry's separate, or the shared NMF path)
  bool data_parallel = false;  ///< torchrun / train --nproc: the entry has load_shard
  /// `factorch separate` of a long WAV block by block in bounded memory (data.stream; app/
  /// separation_blocks.h): the model's fit_activations on each block with the learnt
  /// dictionaries fixed gives the whole recording's activations.
  bool streams = false;
};

struct ModelEntry {
  std::string name;
  std::string summary;
  /// Declares the model's `model.*` keys (use KeySpec::for_models({name})).
  std::function<void(ConfigSchema&)> add_keys;
  /// Builds and initialises the model for the run's data (shapes come from the data).
  std::function<std::shared_ptr<FactorModelImpl>(const Config&, const app::Dataset&)> build;
  /// Optional: loads the run's data, once (CPU, float64). Default: app::load_dataset
  /// (data.input .npy matrix with data.mask, or audio through the data block).
  std::function<app::Dataset(const Config&)> load_data;
  /// Optional: runs after a successful fit when outputs are written (separation, metrics,
  /// baselines, plots). Gets the trained model, the run's data and the output directory.
  std::function<void(const Config&, FactorModelImpl&, const app::Dataset&, const std::string& out_dir)> report;
  /// Optional, for models whose dictionary is a function of frequency (innmf): the dictionary
  /// of a run (its resolved config and factors) sampled at `frequencies` (Hz) → F × K, as seen
  /// by a DFT of size n_fft (0: the training size) (`factorch export --frequencies/--n-fft/--cqt`).
  std::function<torch::Tensor(const Config&, const NamedTensors& factors, const torch::Tensor& frequencies, int64_t n_fft)>
      sample_dictionary = {};
  ModelCapabilities capabilities = {};
  /// Optional: `factorch separate` for models that do not separate through the shared NMF path
  /// (app/separation.h): trains as the config says and writes sources/ and metrics.json.
  std::function<app::SeparationResult(const Config&, const app::RunOptions&)> separate = {};
  /// Data-parallel runs (capabilities.data_parallel): this rank's share of the data, read
  /// without reading the other ranks' shares, with Dataset::matrix marked as a shard
  /// (app::attach_shard) so that models sum shared statistics over ranks. Collective: every
  /// rank calls it (it may check through the communicator that the ranks agree on shapes).
  std::function<app::Dataset(const Config&, const std::shared_ptr<distributed::Communicator>&)> load_shard = {};
  /// Optional, data-parallel runs: checks that need the config alone (no data). `train --nproc`
  /// runs them once before it starts workers, so that such an error is reported once.
  std::function<void(const Config&)> check_data_parallel = {};
  /// Optional, with capabilities.streams: why this config of the model cannot separate block
  /// by block (e.g. keys that couple the columns of H), "" when it can. The shared checks
  /// (a WAV mixture, data.train, MU) are the block path's own.
  std::function<std::string(const Config&)> stream_obstacle = {};
};

/// Adapters for entry functions that work on the matrix alone (the run's Dataset::matrix).
using MatrixBuild = std::shared_ptr<FactorModelImpl> (*)(const Config&, const TrainingData&);
using MatrixLoad = TrainingData (*)(const Config&);
using MatrixReport = void (*)(const Config&, FactorModelImpl&, const TrainingData&, const std::string&);
inline std::function<std::shared_ptr<FactorModelImpl>(const Config&, const app::Dataset&)> on_matrix(MatrixBuild f) {
  return [f](const Config& c, const app::Dataset& d) { return f(c, d.matrix); };
}
inline std::function<app::Dataset(const Config&)> on_matrix(MatrixLoad f) {
  return [f](const Config& c) {
    app::Dataset d;
    d.matrix = f(c);
    return d;
  };
}
inline std::function<void(const Config&, FactorModelImpl&, const app::Dataset&, const std::string&)> on_matrix(MatrixReport f) {
  return [f](const Config& c, FactorModelImpl& m, const app::Dataset& d, const std::string& dir) { f(c, m, d.matrix, dir); };
}

const std::vector<ModelEntry>& model_registry();
/// Throws factorch::Error listing the known names.
const ModelEntry& model_entry(const std::string& name);

/// entry.build(config, data), with the errors of the model layer reported against the config.
/// Models name their Options fields ("rank must be a positive integer"), which are the names
/// of the model.* keys; this prefixes "CONFIG: model: " so the user knows where to look.
/// Errors that already point into the config (Config::fail) pass unchanged.
std::shared_ptr<FactorModelImpl> build_model(const ModelEntry& entry, const Config& config, const app::Dataset& data);
/// The same for a bare matrix (sub-models fitted on derived data: per-source dictionaries, baselines).
std::shared_ptr<FactorModelImpl> build_model(const ModelEntry& entry, const Config& config, const TrainingData& matrix);

}  // namespace factorch
