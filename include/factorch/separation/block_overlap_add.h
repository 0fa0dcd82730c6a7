#pragma once
// Overlap-add of S signals from frames arriving in consecutive blocks, for separating long
// recordings in memory bounded by the block: each block's frames are overlap-added into a
// running numerator Σw·y and denominator Σw²; samples before the next block's first frame
// are final (no later frame reaches them) and are returned, the overlap (M − hop samples) is
// carried to the next block. Same formula as signal::overlap_add.
#include <cstdint>

#include <torch/types.h>

namespace factorch::separation {

/// Frame geometry of frame_signal: frame n starts at sample n·hop − left. push() takes the
/// next M × n frame blocks (one per source, not yet windowed) and returns the S × count
/// samples that no later frame can reach, as signal::overlap_add computes them; finish()
/// returns the rest up to `length`.
class BlockOverlapAdd {
 public:
  BlockOverlapAdd(int64_t sources, const torch::Tensor& window, int64_t hop, int64_t left, int64_t length);
  torch::Tensor push(const torch::Tensor& frames);  ///< S × M × n → S × (samples now final)
  torch::Tensor finish();                           ///< the remaining samples (up to length)
  int64_t emitted() const { return emitted_; }

 private:
  int64_t S_, M_, hop_, left_, length_;
  torch::Tensor window_;  // M, float64
  double tiny_;           // Σw² below this: no frame sees the sample (output 0, as overlap_add)
  int64_t frames_seen_ = 0, emitted_ = 0;
  torch::Tensor pending_num_, pending_den_;  // padded positions [frames_seen_·hop, + M − hop): not final yet
  torch::Tensor emit(const torch::Tensor& num, const torch::Tensor& den, int64_t first_position);
};

}  // namespace factorch::separation
