#pragma once
// Short-time framing and weighted overlap-add. A signal x (T) becomes an M × N frame matrix
// Y with Y[m, n] = w[m]·x[s_n + m], s_n = n·hop − offset. With FramePadding::Zero the signal
// is zero-padded so that every sample lies under as many frames as an interior one
// (offset = M − hop; for hop = M/2 this is y_n(m) = y(m + nM/2 − M)·a(m) of the TL-NMF
// papers). overlap_add() is the least-squares inverse Σ w·Y / Σ w², which is perfect
// reconstruction wherever Σ_n w²[t − s_n] > 0, whatever the hop.
#include <torch/types.h>

namespace factorch::signal {

enum class FramePadding {
  Zero,  // zero-pad both borders: full coverage of every sample (default)
  None,  // frames lie inside the signal; a tail shorter than one hop past the last frame is dropped
};

/// Number of frames N for a signal of T samples.
int64_t frame_count(int64_t T, int64_t M, int64_t hop, FramePadding padding = FramePadding::Zero);

/// Index (in the unpadded signal) of the first sample of frame 0: −(M − hop) or 0.
int64_t frame_offset(int64_t M, int64_t hop, FramePadding padding = FramePadding::Zero);

/// x (T), window (M) → M × N windowed frames (dtype/device of x). M > T → factorch::Error.
torch::Tensor frame_signal(const torch::Tensor& x, int64_t M, int64_t hop, const torch::Tensor& window,
                           FramePadding padding = FramePadding::Zero);

/// Inverse of frame_signal: frames (M × N) → signal of `length` samples.
torch::Tensor overlap_add(const torch::Tensor& frames, int64_t hop, const torch::Tensor& window, int64_t length,
                          FramePadding padding = FramePadding::Zero);

/// Centre time in seconds of each of the N frames (float64, CPU).
torch::Tensor frame_times(int64_t N, int64_t M, int64_t hop, double sample_rate,
                          FramePadding padding = FramePadding::Zero);

}  // namespace factorch::signal
