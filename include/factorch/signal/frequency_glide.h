#pragma once
// Frequency glide: how fast the spectral lines of a signal move, and what that does to the
// lines seen through a longer analysis window.
//
// A partial whose frequency glides at the relative rate r = |d log ν / dt| sweeps over about
// ν·r·d within a window whose energy (w²) lasts d seconds (its rms duration), so its
// expected periodogram is the window's kernel widened by a spread of std ν·r·d. A density
// learnt at one window length already holds the spread of that length; at a longer window
// the extra spread has std ν·r·sqrt(d² − d_train²) (spreads add in variance). Speech glides
// (intonation: r ≈ 0.5 /s measured on synthesised speech), a piano barely (r ≈ 0.05 /s measured on a rendered piano).
#include <torch/types.h>

#include <string>

namespace factorch::signal {

struct GlideEstimateOptions {
  double f_lo = 100.0;         ///< Hz: the band searched for lines
  double f_hi = 4000.0;        ///< Hz (clipped to 0.9 × Nyquist)
  double log_step = 0.002;     ///< log-frequency grid step (0.2 %)
  double max_relative = 0.1;   ///< largest line shift per hop considered (±10 %)
  double min_correlation = 0.5;  ///< frame pairs less alike than this are ignored (onsets, noise)
};

/// The rms relative glide rate r (1/s) of the lines of a magnitude spectrogram |X| (F × N,
/// columns = frames `hop_seconds` apart, F bins of `frequencies` Hz, evenly spaced): the
/// shift of each pair of consecutive frames is found by cross-correlating their line
/// patterns (magnitude minus its ±5 % local mean, ≥ 0) on a log-frequency grid, where a
/// change of pitch is a translation; pairs are weighted by their energy and likeness.
/// 0 when no pair of frames has lines in common.
double glide_rate(const torch::Tensor& magnitude, const torch::Tensor& frequencies, double hop_seconds,
                  const GlideEstimateOptions& options = {});

/// The rms duration (s) of the energy w² of the named window of n samples at `sample_rate`:
/// sqrt(Σ (t − t̄)² w² / Σ w²).
double window_rms_duration(const std::string& window, int64_t n, double sample_rate);

/// G × G matrix S (float64) that spreads a density on the grid `nu` (Hz, increasing):
/// column g is a Gaussian in ν of std `relative_std`·ν_g centred at ν_g, normalised to sum 1
/// over the grid (mass is kept), or the unit column where that std is below a tenth of the grid step.
/// A density D seen with the spread is S·D.
torch::Tensor glide_spread(const torch::Tensor& nu, double relative_std);

}  // namespace factorch::signal
