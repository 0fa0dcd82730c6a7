#pragma once
// BSS Eval v3 source metrics (Vincent et al. 2006), numerically as mir_eval.separation.
// bss_eval_sources: each estimate is decomposed as
//   ŝ = s_target + e_interf + e_artif,
// s_target = projection of ŝ on the `filter_length`-tap delayed versions of its reference,
// s_target + e_interf = projection on the delayed versions of all references. Projections
// are least-squares solves with Gram matrices of FFT cross-correlations.
#include <torch/types.h>

#include <vector>

namespace factorch::eval {

struct BssEvalOptions {
  int64_t filter_length = 512;     // distortion filter taps
  bool compute_permutation = true;  // best assignment of estimates to references by mean SIR
};

struct BssEvalResult {
  torch::Tensor sdr, sir, sar;       // S, float64 CPU, indexed by reference, in dB (+inf: no error)
  std::vector<int64_t> permutation;  // permutation[j] = estimate matched to reference j
};

/// references, estimates: S × T (or T for one source), real, any dtype/device; computed in
/// float64. Shape mismatch, silent (all-zero) sources, non-finite samples, T < 1 or more
/// than 8 sources with compute_permutation → factorch::Error.
BssEvalResult bss_eval_sources(const torch::Tensor& references, const torch::Tensor& estimates,
                               const BssEvalOptions& options = {});

struct BssEvalImagesResult {
  torch::Tensor sdr, isr, sir, sar;  // S, float64 CPU, indexed by reference, in dB
  std::vector<int64_t> permutation;  // permutation[j] = estimate matched to reference j
};

/// BSS Eval v3 image metrics (Vincent et al. 2007/2012; numerically as
/// mir_eval.separation.bss_eval_images). references, estimates: S × C × T source images
/// (sources × channels × samples; mir_eval's arrays are S × T × C), or S × T for one channel.
/// Each estimated image ŝ (C × T) is decomposed as
///   ŝ = s_img + e_spat + e_interf + e_artif,
/// P_j(ŝ) = projection of every channel of ŝ on the `filter_length`-tap delayed versions of all
/// channels of reference image j (a multichannel filter of the true image), P(ŝ) = the same on
/// all channels of all references; e_spat = P_j(ŝ) − s_img, e_interf = P(ŝ) − P_j(ŝ),
/// e_artif = ŝ − P(ŝ); SDR = ‖s_img‖²/‖ŝ − s_img‖², ISR = ‖s_img‖²/‖e_spat‖²,
/// SIR = ‖P_j ŝ‖²/‖e_interf‖², SAR = ‖P ŝ‖²/‖e_artif‖² (sums over channels). Errors as
/// bss_eval_sources (shapes, silent sources, non-finite samples).
BssEvalImagesResult bss_eval_images(const torch::Tensor& references, const torch::Tensor& estimates,
                                    const BssEvalOptions& options = {});

}  // namespace factorch::eval
