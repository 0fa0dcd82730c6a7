#pragma once
// `factorch separate`: source separation with a model that factorises an audio
// representation V ≈ WH (NMF and its variants), by Wiener masks on the mixture's transform.
//   supervised   (data.train given): one model of model.rank components is learnt per source
//                on its clean training audio; their dictionaries, concatenated and fixed, fit
//                the activations of the mixture (source s = its own block of components).
//   unsupervised (no data.train): the model is learnt on the mixture; output.sources assigns
//                components to sources (default: component k is source k).
// Then the separation step (app/separation_step.h): mask_s = P_s / Σ_j P_j with
// P_s = (W_s H_s)^p (p = 1 for power representations, 2 for magnitudes), applied to the
// mixture's complex STFT (or DCT coefficients), inverted and overlap-added. Writes
// DIR/sources/<name>.wav, DIR/mixture.wav and, when clean references are known
// (data.references or data.synthetic), DIR/metrics.json (factorch/eval/metrics_table.h) —
// beside the usual run outputs of the final fit (config.resolved.yaml, history.csv,
// checkpoint.pt, factors).
#include <string>
#include <vector>

#include <torch/types.h>

#include "app/run.h"
#include "app/config.h"
#include "factorch/eval/bss.h"
#include "factorch/eval/metrics_table.h"

namespace factorch::separation {
struct SeparatedMixture;
struct SeparationScores;
}  // namespace factorch::separation

namespace factorch::app {

struct SeparationResult {
  std::vector<std::string> names;  ///< estimated sources, in output order
  torch::Tensor estimates;         ///< S × T, float64 CPU
  bool has_metrics = false;
  eval::BssEvalResult metrics;     ///< when has_metrics; estimate j is scored against reference j
  std::vector<std::string> reference_names;
  eval::MetricsTable table;        ///< when has_metrics: the scores as metrics.json has them
  std::string out_dir;
  /// Separated block by block (data.stream, app/separation_blocks.h): `estimates` is
  /// undefined (the sources are only in the WAV files) and no report.html is drawn.
  bool streamed = false;
};

SeparationResult run_separation(const Config& config, const RunOptions& options = {});

/// A `separate` result from what the separation step was given and returned: the first
/// mixture's estimates; the names of every mixture's estimates ("<mixture>/<name>" when there
/// are several); when scored, the per-source scores (the mean over mixtures when several).
SeparationResult separation_result(const std::vector<separation::SeparatedMixture>& mixtures, const separation::SeparationScores& scores,
                                   const std::string& out_dir);

}  // namespace factorch::app
