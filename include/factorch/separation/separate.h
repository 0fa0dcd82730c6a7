#pragma once
// The one separation routine: mixture → representation → per-source nonnegative parts (from
// any model) → Wiener masks → signals → optional metrics table. A C++ user calls it without
// YAML; the app writes what it returns (separation_step.h: sources, mixture, metrics.json).
// The long-recording path is the same steps fed one block of frames at a time
// (BlockSeparator): analysis of the block's frames, the model's parts, the same masks, and
// an overlap-add that returns the samples no later frame reaches.
//
//   separation::Representation rep({separation::TransformKind::Stft, stft, 1.0});
//   auto parts = [&](const torch::Tensor& V) {
//     return separation::dictionary_parts(dictionaries, nmf->fit_activations(W, V, 200));
//   };
//   const separation::SeparatedMixture out = separation::separate(x, rep, parts, {{"voice", "noise"}});
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "factorch/eval/metrics_table.h"
#include "factorch/separation/block_overlap_add.h"
#include "factorch/separation/representation.h"
#include "factorch/separation/separation_step.h"

namespace factorch::separation {

/// Per-source nonnegative parts of the mixture's V (F × N → S tensors F × N): a model's
/// W_s H_s, a discriminative model's source estimates, ...
using SourceParts = std::function<std::vector<torch::Tensor>(const torch::Tensor& V)>;

/// The one mask step: coefficient parts X ⊙ P_s^p / Σ_j P_j^p (parts of the shape of X).
std::vector<torch::Tensor> masked_coefficients(const torch::Tensor& coefficients, const std::vector<torch::Tensor>& parts,
                                               double exponent);

/// Source parts W_s H_s of concatenated dictionaries [W_1 … W_S] with the activations H of
/// their concatenation (rows of H in the same order).
std::vector<torch::Tensor> dictionary_parts(const std::vector<torch::Tensor>& dictionaries, const torch::Tensor& H);

struct SeparateOptions {
  std::vector<std::string> names;  ///< one per source; empty: source1, source2, …
  /// p of the masks on the parts; 0: the representation's power exponent (V^p is a power).
  double mask_exponent = 0;
  torch::Tensor references;        ///< S × T clean sources; undefined: no metrics
  std::vector<std::string> reference_names;  ///< empty: `names`
  std::string name;                ///< the mixture's name (several mixtures: its folder and row)
  bool known_assignment = true;    ///< false: BSS Eval's permutation search
  int64_t filter_length = 512;     ///< BSS Eval distortion filter taps
  bool keep_mixture = true;        ///< the result carries the mixture (mixture.wav)
};

/// A separated mixture and, when references were given, its metrics table (the rows of
/// metrics.json, eval/metrics_table.h).
struct Separation {
  SeparatedMixture mixture;  ///< estimates S × T (float64 CPU), names, references
  bool scored = false;
  eval::MetricsTable table;
};

/// Separates the mixture x (T) with the model's parts of its representation.
Separation separate(const torch::Tensor& x, const Representation& representation, const SourceParts& parts,
                    const SeparateOptions& options = {});

/// separate() block by block: push() the samples of the next frames (first_sample(n0) …
/// + samples_for(n1 − n0) of the signal, as Representation describes) and get the S × count
/// samples that are now final; finish() returns the rest up to `length`.
class BlockSeparator {
 public:
  BlockSeparator(const Representation& representation, SourceParts parts, int64_t sources, int64_t length,
                 double mask_exponent = 0);
  torch::Tensor push(const torch::Tensor& segment);
  torch::Tensor finish() { return ola_.finish(); }
  int64_t emitted() const { return ola_.emitted(); }

 private:
  const Representation& representation_;
  SourceParts parts_;
  double exponent_;
  BlockOverlapAdd ola_;
};

}  // namespace factorch::separation
