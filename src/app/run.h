#pragma once
// The application layer between the CLI and the library: turns a validated Config into
// data, a model and a trainer, runs it, and writes a run directory:
//   DIR/config.resolved.yaml, DIR/history.csv, DIR/checkpoint.pt, DIR/factors/*.npy, DIR/factors.pt
// Everything that can be checked (config, files, shapes, device) is checked before the
// first file is written, so bad input leaves nothing behind.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "app/config.h"
#include "app/dataset.h"
#include "factorch/train/checkpoint.h"
#include "factorch/train/trainer.h"
#include "factorch/models/factor_model.h"

namespace factorch::distributed {
class Communicator;
}

namespace factorch::app {

TrainerOptions trainer_options(const Config& config);

/// The data of a config on the CPU in float64 (data.input .npy, optional data.mask, or
/// audio through the data block turned into V by data.transform).
TrainingData load_training_data(const Config& config);
/// The same, with the audio behind V when it is audio: the default Dataset of a run.
Dataset load_dataset(const Config& config);

struct RunOptions {
  std::optional<std::string> resume;  ///< checkpoint to continue from
  bool write_outputs = true;          ///< false: train in memory only (tests, sub-runs)
  bool quiet = false;                 ///< no progress line
  /// Data-parallel run (set by `factorch train` under torchrun or --nproc): each rank reads
  /// only its share of the data (the model entry's load_shard); rank 0 writes the outputs,
  /// which have the layout of a single-process run (per-column factors gathered). Models
  /// whose entry states capabilities.data_parallel can be sharded.
  /// ({} here and below: `{resume, write_outputs, quiet}` gives no -Wmissing-field-initializers.)
  std::shared_ptr<distributed::Communicator> communicator{};
  /// More callbacks, run after the built-in ones (history, checkpoint, progress) at each
  /// evaluation: e.g. a GUI's progress, or a test's fault injection.
  std::vector<std::shared_ptr<Callback>> callbacks{};
};

struct RunResult {
  std::shared_ptr<FactorModelImpl> model;
  TrainingData data;  ///< the fitted matrix, on the run's device/dtype
  TrainResult result;
  std::string out_dir;
};

/// Builds (or restores) the model and trains it as the config says: data from the model's
/// registry entry (load_data) or load_training_data, then fit_model(), then the entry's report.
RunResult run_training(const Config& config, const RunOptions& options = {});
/// Throws when `config` cannot train data-parallel (model type, keys such as an init that needs
/// every column): what can be known before any process starts or reads data.
void check_data_parallel(const Config& config);
/// Throws when `checkpoint` (read from `path`) cannot be resumed by `config`: another model
/// type, or trainer.max_iter not above the iterations it has already run.
void check_resume(const Config& config, const io::Checkpoint& checkpoint, const std::string& path);

/// Trains an already built model on `data` (CPU float64; moved to the config's device and
/// dtype) with the config's trainer, writing outputs under `out_dir` unless
/// options.write_outputs is false. Used by run_training and by model reports that train
/// baselines or sub-models (e.g. a fixed-transform baseline in out_dir/baseline).
RunResult fit_model(const Config& config, std::shared_ptr<FactorModelImpl> model, TrainingData data,
                    const RunOptions& options, const std::string& out_dir);

/// Writes factors/<name>.npy with their description factors/factors.json (app/factor_manifest.h)
/// and/or factors.pt (formats: "npy", "pt") under dir.
void export_factors(const NamedTensors& factors, const FactorDescriptions& descriptions, const std::string& dir,
                    const std::vector<std::string>& formats);
/// export_factors of a model's factors and descriptions.
inline void export_factors(FactorModelImpl& model, const std::string& dir, const std::vector<std::string>& formats) {
  export_factors(model.factors(), model.describe_factors(), dir, formats);
}

/// For models whose dictionary is a function of frequency (innmf): the dictionary of a
/// checkpoint sampled at `frequencies` (Hz) → F × K, as a DFT of size n_fft sees it (0: the
/// training size; matters for spectral-kernel templates). Throws naming `path` when the
/// model has none, or when a frequency is outside the model's range.
torch::Tensor sample_dictionary(const io::Checkpoint& checkpoint, const torch::Tensor& frequencies, int64_t n_fft,
                                const std::string& path);

}  // namespace factorch::app
