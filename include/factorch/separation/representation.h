#pragma once
// The one time-frequency representation of the separation layer and its inverse: a signal ↔
// (coefficients, V) transform, for the whole signal or for a range of frames (the block
// path of long recordings reads, analyses and synthesises one block of frames at a time).
//   stft  V = |STFT|^exponent    coefficients: complex STFT (n_fft, win_length, hop, window)
//   dct   V = |D·Y|^exponent     coefficients: real DCT-II of the M×N windowed frames Y
//                                (M = n_fft), the fixed-transform baseline of TL-NMF
// Frames are those of signal::frame_signal (frame n starts at sample n·hop − left).
#include <cstdint>

#include <torch/types.h>

#include "factorch/signal/stft.h"

namespace factorch::separation {

enum class TransformKind { Stft, Dct };

struct RepresentationOptions {
  TransformKind kind = TransformKind::Stft;
  signal::StftOptions stft;  ///< framing and window (the DCT uses n_fft as its frame length)
  double exponent = 2;       ///< V = |X|^exponent
};

class Representation {
 public:
  /// Throws factorch::Error for a DCT whose window is shorter than its frame (no zero padding).
  explicit Representation(const RepresentationOptions& options = {});

  /// x (T) → coefficients (complex F×N for STFT, real M×N for DCT).
  torch::Tensor analyse(const torch::Tensor& x) const;
  /// The same transform of the frames lying inside `segment`, unpadded (FramePadding::None).
  torch::Tensor analyse_unpadded(const torch::Tensor& segment) const;
  /// Coefficients → the nonnegative matrix V (power or magnitude).
  torch::Tensor nonnegative(const torch::Tensor& coefficients) const;
  /// Coefficients → signal of `length` samples (least-squares overlap-add).
  torch::Tensor synthesise(const torch::Tensor& coefficients, int64_t length) const;
  /// Exponent p such that V^p is a power (2 for magnitudes, 1 for powers): Wiener masks are
  /// built from model parts raised to it.
  double power_exponent() const { return 2.0 / options_.exponent; }

  // Block-wise framing (float64): frames [n0, n1) read samples first_sample(n0) …
  // + samples_for(n1 − n0) of the signal; analyse_frames / frames_of are the columns that
  // analyse / synthesise produce for the whole signal (before the overlap-add).
  int64_t frame_length() const { return M_; }
  int64_t hop() const { return options_.stft.hop; }
  int64_t left() const { return left_; }  ///< samples of zero padding before frame 0
  int64_t frame_count(int64_t samples) const;
  int64_t first_sample(int64_t n0) const { return n0 * hop() - left_; }
  int64_t samples_for(int64_t frames) const { return (frames - 1) * hop() + M_; }
  const torch::Tensor& window() const { return window_; }  ///< M, float64
  torch::Tensor analyse_frames(const torch::Tensor& segment) const;
  torch::Tensor frames_of(const torch::Tensor& coefficients) const;  ///< unwindowed M × n frames

  const RepresentationOptions& options() const { return options_; }

 private:
  torch::Tensor analyse(const torch::Tensor& x, signal::FramePadding padding) const;
  RepresentationOptions options_;
  int64_t M_ = 0, left_ = 0;
  torch::Tensor window_, dct_;  // float64
};

}  // namespace factorch::separation
