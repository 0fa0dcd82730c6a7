#pragma once
// The one separation step of every model and baseline:
//   masks → source signals → DIR/sources/<name>.wav → BSS Eval → DIR/metrics.json
// (the schema of factorch/eval/metrics_table.h). A model either hands over its mixture's
// coefficients with one nonnegative part per source (wiener_estimates makes the signals), or
// its own estimates (S × T, or S × C × T source images for multichannel models); the step
// then scores them against the references when they are known, writes everything, and says
// in one line when there is nothing to score against. It validates and scores before it
// writes anything: a shape mismatch leaves no file behind.
//
//   separation::SeparatedMixture m{"", names, separation::wiener_estimates(X, parts, 2.0, inverse), references};
//   separation::SeparationStepOptions o;
//   o.out_dir = dir, o.sample_rate = fs, o.known_assignment = true;
//   const separation::SeparationScores s = separation::run_separation_step({m}, o, {{"dct_nmf", {b}}});
#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "factorch/eval/metrics_json.h"
#include "factorch/eval/metrics_table.h"
#include "factorch/io/wav.h"

namespace factorch::separation {

/// Coefficients (one source's masked transform) → time signal: an inverse STFT / DCT with
/// overlap-add, TL-NMF's Φᵀ + overlap-add, ...
using Synthesis = std::function<torch::Tensor(const torch::Tensor& coefficients)>;

/// Wiener estimates: source s = synthesise(X ⊙ P_s^p / Σ_j P_j^p), stacked S × T.
/// coefficients X: the mixture's transform (complex STFT or real DCT/TL-NMF coefficients);
/// parts P_s: nonnegative, the shape of X (models of |X|: p = 2 gives power masks; models of
/// |X|² or with the paper's gain: p = 1). The estimates sum to the mixture when the synthesis
/// is linear and exact.
torch::Tensor wiener_estimates(const torch::Tensor& coefficients, const std::vector<torch::Tensor>& parts,
                               double exponent, const Synthesis& synthesise);

/// Source images (each C × F × N coefficients, e.g. signal::instantaneous_images) → their
/// signals, one channel at a time: S × C × T estimates for bss_eval_images.
torch::Tensor image_estimates(const std::vector<torch::Tensor>& images, const Synthesis& synthesise);

/// One mixture's separated sources and, when known, the clean references.
struct SeparatedMixture {
  std::string name;                ///< "" for a run over one mixture; else names its folder and row
  std::vector<std::string> names;  ///< one per estimate: written as sources/<name>.wav
  torch::Tensor estimates;         ///< S × T, or S × C × T images (bss_eval_images); any float dtype
  torch::Tensor references;        ///< the same shape; undefined when none are known
  std::vector<std::string> reference_names;  ///< empty: `names`
  torch::Tensor mixture;           ///< optional: written as mixture.wav (report.html plays it)
};

/// A baseline's separation of the same mixtures: scored the same way, reported under
/// "baselines" in metrics.json, its sources written under baselines/<name>/.
struct BaselineSeparation {
  std::string name;
  std::vector<SeparatedMixture> mixtures;
};

struct SeparationStepOptions {
  std::string out_dir;   ///< "": write nothing, only score
  int sample_rate = 0;   ///< of the WAV files (required when writing)
  io::WavFormat wav_format = io::WavFormat::Float32;  ///< output.wav_format
  /// true: estimate s belongs to reference s (supervised); false: BSS Eval's permutation
  /// search (unsupervised, at most 8 sources).
  bool known_assignment = true;
  int64_t filter_length = 512;  ///< BSS Eval distortion filter taps
  eval::Json details;           ///< "details" of metrics.json (model-specific extras); null: none
  bool quiet = false;           ///< no "no references" line
  /// Framewise BSS Eval (sources only; needs sample_rate): window and hop in seconds (hop 0:
  /// the window); 0: none. Estimates are taken in the whole-signal assignment.
  double eval_window = 0, eval_hop = 0;
  /// Images: also each channel's bss_eval_sources SDRs (MetricsTable::channel_sdr).
  bool per_channel_sdr = false;
};

struct SeparationScores {
  bool scored = false;                       ///< false: no references, no metrics.json
  std::vector<eval::MetricsTable> mixtures;  ///< one per mixture, in order
  std::vector<eval::NamedMetrics> baselines;
  std::string metrics_path;                  ///< DIR/metrics.json when written
};

/// Scores one mixture (references required): BSS Eval sources or images by the estimates' rank.
eval::MetricsTable score_separation(const SeparatedMixture& mixture, const SeparationStepOptions& options);

/// An unsupervised separation matched to its references (required): the estimates reordered
/// by BSS Eval's best permutation (bss_eval_sources, `filter_length` taps), so that estimate s
/// belongs to reference s and is then scored with a known assignment, and named after the
/// references (reference_names when given; otherwise the names stay).
SeparatedMixture matched_to_references(SeparatedMixture mixture, int64_t filter_length = 512);

/// Validates, scores (when every mixture has references), then writes DIR/sources/<name>.wav
/// (DIR/sources/<mixture>/<name>.wav with several mixtures), DIR/mixture.wav, the baselines'
/// sources under DIR/baselines/<name>/ and DIR/metrics.json. Without references it writes the
/// sources and prints "no references: metrics.json not written" (unless quiet). Mixtures that
/// mix known and unknown references, names that do not match the estimates, or references of
/// another shape → factorch::Error before anything is written.
SeparationScores run_separation_step(const std::vector<SeparatedMixture>& mixtures, const SeparationStepOptions& options,
                                     const std::vector<BaselineSeparation>& baselines = {});

/// Step 3 of run_separation_step on its own, for a caller that scored first (with an empty
/// out_dir) and needs the scores to compute its metrics.json details (e.g. a protocol of
/// repeated runs): writes the sources, mixtures, baselines' sources and metrics.json (from
/// `scores`, with options.details) without scoring again. Sets scores.metrics_path.
void write_separation(const std::vector<SeparatedMixture>& mixtures, SeparationScores& scores,
                      const SeparationStepOptions& options, const std::vector<BaselineSeparation>& baselines = {});

}  // namespace factorch::separation
