#pragma once
// separate() of a recording too long to hold in memory: the same routine fed block by block.
// The mixture is read `block_frames` frames at a time and goes through BlockSeparator (the
// block's frames analysed, the model's parts, the same masks, overlap-add); the samples that
// no later frame reaches go to the sinks (WAV files being written, ...) and, with references,
// into BSS Eval accumulated block by block (eval/bss_streaming.h). Memory is bounded by the
// block, not by the recording. With parts that treat frames independently (fit_activations
// on a fixed dictionary: per-column start, a fixed number of sweeps) the estimates equal
// separate() on the whole signal, and the scores bss_eval_sources on it, to rounding.
//
//   io::WavBlockReader in("long.wav", mono);
//   io::WavBlockWriter voice("voice.wav", 1, in.sample_rate()), noise("noise.wav", 1, in.sample_rate());
//   separation::StreamOptions o;
//   o.names = {"voice", "noise"};
//   o.block_frames = 2000;
//   o.sources = {separation::wav_sink(voice), separation::wav_sink(noise)};
//   const separation::StreamSeparation r = separation::separate_stream(separation::wav_source(in), rep, parts, o);
//   voice.commit(), noise.commit();
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "factorch/eval/bss.h"
#include "factorch/eval/metrics_table.h"
#include "factorch/io/wav_stream.h"
#include "factorch/separation/representation.h"
#include "factorch/separation/separate.h"

namespace factorch::separation {

/// One channel of a long signal, read in pieces.
struct BlockSource {
  int64_t length = 0;   ///< samples
  int sample_rate = 0;  ///< Hz; 0: unknown (no framewise scores)
  /// Samples [start, start + count) as a 1-D tensor of count samples; zeros outside [0, length)
  /// (the zero padding of the first and last frames).
  std::function<torch::Tensor(int64_t start, int64_t count)> read;
};

/// Receives a signal's samples in order, one piece (1-D) at a time.
using BlockSink = std::function<void(const torch::Tensor& samples)>;

/// The first channel of what `reader` reads (it must outlive the source).
BlockSource wav_source(io::WavBlockReader& reader);
/// A signal x (T) already in memory (short signals, tests).
BlockSource tensor_source(const torch::Tensor& x, int sample_rate = 0);
/// Appends to `writer` (it must outlive the sink; committing it stays the caller's).
BlockSink wav_sink(io::WavBlockWriter& writer);

struct StreamOptions {
  std::vector<std::string> names;  ///< one per source (required: it gives their number)
  int64_t block_frames = 0;        ///< representation frames per block (≥ 1)
  double mask_exponent = 0;        ///< as SeparateOptions::mask_exponent
  std::vector<BlockSource> references;       ///< empty, or one per source of the mixture's length
  std::vector<std::string> reference_names;  ///< empty: `names`
  bool known_assignment = true;    ///< false: BSS Eval's permutation search
  int64_t filter_length = 512;     ///< BSS Eval distortion filter taps
  /// Framewise BSS Eval (with references; needs the mixture's sample_rate): window and hop in
  /// seconds (hop 0: the window); 0: none.
  double eval_window = 0, eval_hop = 0;
  std::vector<BlockSink> sources;  ///< empty, or one per source: its estimate
  BlockSink mixture;               ///< optional: the mixture's samples, in step with the estimates
  /// After each block: blocks done (1 … blocks) and their number.
  std::function<void(int64_t done, int64_t blocks)> progress;
};

struct StreamSeparation {
  std::vector<std::string> names;
  int64_t samples = 0;          ///< samples given to each source sink (the mixture's length)
  bool scored = false;          ///< references were given
  eval::BssEvalResult metrics;  ///< when scored: of the whole signal
  eval::MetricsTable table;     ///< when scored: the rows of metrics.json (framewise when asked)
};

/// Separates the mixture block by block with the model's parts of its representation. Bad
/// arguments (no names, block_frames < 1, a mixture shorter than one frame, references or
/// sinks of another count, references of another length or sample rate) → factorch::Error
/// before any block is read.
StreamSeparation separate_stream(const BlockSource& mixture, const Representation& representation,
                                 const SourceParts& parts, const StreamOptions& options);

}  // namespace factorch::separation
