#include "factorch/separation/block_overlap_add.h"
#include <algorithm>

#include <torch/nn/functional/fold.h>

#include "factorch/error.h"

namespace factorch::separation {


namespace {

// Columns (B × M × n) overlap-added at stride hop → B × ((n − 1)·hop + M), as frames.cpp.
torch::Tensor fold_batch(const torch::Tensor& columns, int64_t hop) {
  namespace F = torch::nn::functional;
  const int64_t B = columns.size(0), M = columns.size(1), n = columns.size(2);
  const int64_t total = (n - 1) * hop + M;
  return F::fold(columns, F::FoldFuncOptions({1, total}, {1, M}).stride({1, hop})).reshape({B, total});
}

}  // namespace

BlockOverlapAdd::BlockOverlapAdd(int64_t sources, const torch::Tensor& window, int64_t hop, int64_t left,
                                 int64_t length)
    : S_(sources), M_(window.size(0)), hop_(hop), left_(left), length_(length),
      window_(window.to(torch::kCPU, torch::kFloat64)) {
  require(hop >= 1 && hop <= M_, "BlockOverlapAdd: hop must lie in [1, frame length]");
  tiny_ = 1e-10 * window_.square().max().item<double>();
  pending_num_ = torch::zeros({S_, M_ - hop_}, torch::kFloat64);
  pending_den_ = torch::zeros({M_ - hop_}, torch::kFloat64);
}

// Normalised samples at padded positions first_position … (+ num's length), clipped to the
// unpadded signal [emitted_, length).
torch::Tensor BlockOverlapAdd::emit(const torch::Tensor& num, const torch::Tensor& den, int64_t first_position) {
  const int64_t begin = std::max<int64_t>(emitted_ + left_, first_position);
  const int64_t end = std::min<int64_t>(length_ + left_, first_position + num.size(1));
  if (end <= begin) return torch::zeros({S_, 0}, torch::kFloat64);
  const auto n = num.slice(1, begin - first_position, end - first_position);
  const auto d = den.slice(0, begin - first_position, end - first_position);
  const auto safe = torch::where(d > tiny_, d, torch::ones_like(d));
  auto y = torch::where(d > tiny_, n / safe, torch::zeros_like(n));
  emitted_ = end - left_;
  return y;
}

torch::Tensor BlockOverlapAdd::push(const torch::Tensor& frames) {
  require(frames.dim() == 3 && frames.size(0) == S_ && frames.size(1) == M_,
          "BlockOverlapAdd: expected S × M × n frames");
  const int64_t n = frames.size(2);
  if (n == 0) return torch::zeros({S_, 0}, torch::kFloat64);
  const auto w = window_.unsqueeze(1);
  auto num = fold_batch(frames.to(torch::kFloat64) * w, hop_);                                     // S × total
  auto den = fold_batch((w * w).expand({M_, n}).unsqueeze(0).contiguous(), hop_).squeeze(0);     // total
  const int64_t overlap = M_ - hop_;
  num.slice(1, 0, overlap) += pending_num_;
  den.slice(0, 0, overlap) += pending_den_;
  const int64_t first = frames_seen_ * hop_;
  const int64_t final_count = n * hop_;  // positions before the next frame's start
  auto out = emit(num.slice(1, 0, final_count), den.slice(0, 0, final_count), first);
  pending_num_ = num.slice(1, final_count).contiguous();
  pending_den_ = den.slice(0, final_count).contiguous();
  frames_seen_ += n;
  return out;
}

torch::Tensor BlockOverlapAdd::finish() {
  auto out = emit(pending_num_, pending_den_, frames_seen_ * hop_);
  if (emitted_ < length_) {  // beyond the last frame: zeros, as overlap_add
    out = torch::cat({out, torch::zeros({S_, length_ - emitted_}, torch::kFloat64)}, 1);
    emitted_ = length_;
  }
  return out;
}

}  // namespace factorch::separation
