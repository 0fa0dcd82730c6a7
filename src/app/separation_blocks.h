#pragma once
// Supervised separation of long recordings in memory bounded by the block size
// (data.block_seconds): the mixture WAV is read, fitted, Wiener-filtered, written and
// scored one block of STFT (or DCT) frames at a time.
//   * Activations: with W fixed, the MU updates of H act on each column alone, so fitting
//     H block by block gives the whole-matrix H (same per-column start, same sweeps). The
//     start is per column — h_n = mean_f(v_n) / (K·mean(W)), the level that makes WH match
//     v_n's mean — because a random start drawn over the whole H would depend on the blocks.
//     Every block runs trainer.max_iter sweeps (trainer.tol does not apply: a per-block
//     stop would make the result depend on the blocking).
//   * Wiener + overlap-add, the sinks and the scores: the library's routine
//     separation::separate_stream (factorch/separation/separate_stream.h), the one
//     separation routine fed block by block; this file opens and checks the inputs against
//     their config keys, learns the dictionaries and hands over the WAV readers and writers.
//   * Output: sources/<name>.wav and mixture.wav through io::WavBlockWriter (temporary
//     file renamed here at the end); metrics.json from the routine's MetricsTable
//     (eval::metrics_json, with the framewise scores when output.eval_window > 0).
// data.stream: auto streams when the supervised NMF mixture (a WAV in data.input)
// is longer than one block; always streams even one block (for tests and checks); never
// keeps everything in memory (the path of app/separation.cpp).
#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "app/audio_data.h"
#include "app/config.h"
#include "app/run.h"
#include "app/separation.h"

namespace factorch {
struct ModelEntry;
}

namespace factorch::app {

/// True when `factorch separate` of this config with the model `entry` takes the block path:
/// the entry states the capability (capabilities.streams, stream_obstacle); validates the
/// data.stream and data.block_seconds keys (and, with stream: always, that the model and input allow it).
bool separates_in_blocks(const Config& config, const ModelEntry& entry);

/// H (K × N, float64 CPU) of V (F × N) on the fixed dictionary W (F × K): `mix`'s model
/// (model.fixed_w: true) fits it (FactorModelImpl::fit_activations: the per-column start
/// above, then trainer.max_iter MU sweeps) on the config's device and dtype. Columns are
/// independent: any column split gives the same H.
torch::Tensor fit_block_activations(const Config& mix, const ModelEntry& entry, const torch::Tensor& W,
                                    const torch::Tensor& V);

/// One dictionary per source, learnt on its clean training signal (model.rank components
/// each, the config's model and trainer), float64 CPU: the supervised separation's W blocks.
std::vector<torch::Tensor> learn_source_dictionaries(const Config& config, const ModelEntry& entry,
                                                     const AudioRepresentation& representation,
                                                     const std::vector<torch::Tensor>& training,
                                                     const RunOptions& options);

/// The config of the mixture's fit: model.rank = rank · sources, model.fixed_w, random init.
Config mixture_fit_config(const Config& config, int64_t sources);

/// The block path of run_separation (supervised NMF on a WAV mixture).
SeparationResult run_block_separation(const Config& config, const ModelEntry& entry, const RunOptions& options);

}  // namespace factorch::app
