#pragma once
// BSS Eval sources of long signals in bounded memory.
//
// BssEvalAccumulator: the whole-signal bss_eval_sources (bss.h) needs only correlations —
// the lagged autocorrelations of the references (lags |τ| < L, the Gram matrix of their
// delayed copies), the cross-correlations reference/estimate (lags 0 … L−1) and each
// estimate's energy. They are sums over samples, so they accumulate block by block (a tail
// of L − 1 reference samples carries the lags across block edges); every energy of the
// decomposition is then a quadratic form of the projection coefficients:
//   ‖s_target‖² = cᵀG_jj c,  ‖ŝ − s_target‖² = ‖ŝ‖² − 2cᵀd_j + cᵀG_jj c, ...
// The scores equal bss_eval_sources on the concatenated blocks to rounding (~1e-12 relative
// at ordinary SDRs; at very high SDR/SAR (> ~80 dB) the subtraction ‖ŝ‖² − … loses digits).
//
// bss_eval_sources_framewise / FramewiseBssEval: BSS Eval on windows of `window` samples
// every `hop` samples, as mir_eval.separation.bss_eval_sources_framewise (and SiSEC/museval):
// nwin = ⌊(T − window + hop)/hop⌋ windows; a window where any reference or estimate is silent
// scores NaN; with fewer than 2 windows the whole signal is scored as one frame.
#include <torch/types.h>

#include <vector>

#include "factorch/eval/bss.h"

namespace factorch::eval {

class BssEvalAccumulator {
 public:
  explicit BssEvalAccumulator(int64_t sources, const BssEvalOptions& options = {});

  /// The next block of samples: references and estimates S × B (or B for one source), the
  /// same B ≥ 1; any real dtype. Non-finite samples → factorch::Error.
  void add(const torch::Tensor& references, const torch::Tensor& estimates);

  int64_t samples() const { return samples_; }

  /// The scores of everything added (as bss_eval_sources on the whole signals). No samples,
  /// or a silent reference/estimate → factorch::Error (same wording as bss_eval_sources).
  BssEvalResult result() const;

 private:
  int64_t S_, L_;
  BssEvalOptions options_;
  int64_t samples_ = 0;
  torch::Tensor ref_corr_;   // S × S × L: Σ_u r_i(u)·r_j(u + τ), τ = 0 … L−1
  torch::Tensor cross_;      // S × S × L: Σ_u r_i(u)·ŝ_k(u + a), a = 0 … L−1
  torch::Tensor est_energy_; // S: Σ ŝ_k²
  torch::Tensor ref_tail_;   // S × (L−1): the last reference samples (zeros before the start)
  torch::Tensor ref_heard_, est_heard_;  // S booleans: a non-zero sample seen
};

/// Per-frame scores: S × nframes, NaN in silent frames; permutation S × nframes (−1 there).
struct FramewiseBssEvalResult {
  torch::Tensor sdr, sir, sar;  // float64 CPU
  torch::Tensor permutation;    // int64
  int64_t window = 0, hop = 0;  // in samples
  int64_t frames() const { return sdr.defined() ? sdr.size(1) : 0; }
  /// Median over the frames that are not NaN, per source (NaN when every frame is).
  torch::Tensor median(const torch::Tensor& scores) const;
};

/// mir_eval.separation.bss_eval_sources_framewise on in-memory signals (window, hop in samples).
FramewiseBssEvalResult bss_eval_sources_framewise(const torch::Tensor& references, const torch::Tensor& estimates,
                                                  int64_t window, int64_t hop, const BssEvalOptions& options = {});

/// The same fed block by block: keeps at most window + block samples, scores each window as
/// soon as it is complete. finish() returns the frames, or — when fewer than 2 windows fit,
/// i.e. T < window + hop — the whole signal scored as one frame (its first window + hop
/// samples are kept for that case).
class FramewiseBssEval {
 public:
  FramewiseBssEval(int64_t sources, int64_t window, int64_t hop, const BssEvalOptions& options = {});
  void add(const torch::Tensor& references, const torch::Tensor& estimates);
  FramewiseBssEvalResult finish();

 private:
  void score_ready_windows();
  int64_t S_, window_, hop_;
  BssEvalOptions options_;
  int64_t buffer_start_ = 0, next_window_ = 0, total_ = 0;
  torch::Tensor refs_, ests_;  // S × buffered samples from buffer_start_
  std::vector<torch::Tensor> sdr_, sir_, sar_, perm_;  // one S-vector per scored window
  torch::Tensor head_refs_, head_ests_;  // the first window + hop samples (the < 2 windows rule)
};

}  // namespace factorch::eval
