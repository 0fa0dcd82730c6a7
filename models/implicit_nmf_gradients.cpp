// iN-NMF's backward pass written out (the network is fixed: Fourier features → sine layers →
// linear → softplus, V̂ = W·softplus(H_raw), generalised KL), so a training epoch runs one
// forward pass that keeps what the backward needs and a handful of GEMMs, with no autograd
// graph. The autograd path (loss().backward()) stays the reference: the tests compare both.
#include <ATen/ATen.h>

#include "factorch/error.h"
#include "factorch/models/implicit_nmf.h"
#include "factorch/accumulate_grad.h"

namespace factorch {

bool ImplicitNMFImpl::has_gradients(const TrainingData& data) {
  const torch::Tensor& X = data.X;
  if (options.activations() != ImplicitActivations::Matrix || options.spectral_kernel() || !joint_.empty()) return false;
  if (!X.defined() || X.dim() != 2 || X.size(1) != 3 || data.mask.defined()) return false;
  if (!divergence_.is_kl() || divergence_.eps() != 0.0 || !W_net->has_backward()) return false;
  if (X.device() != frequencies_.device() || X.scalar_type() != frequencies_.scalar_type()) return false;
  return grid_index_of(X).flat_index.defined();
}

torch::Tensor ImplicitNMFImpl::gradients(const TrainingData& data, bool with_loss) {
  require(has_gradients(data), "iN-NMF: no hand-written gradients for this configuration or data (use loss())");
  torch::NoGradGuard no_grad;
  const GridIndex& g = grid_index_of(data.X);
  const int64_t N = times_.size(0);
  nn::BatchedImplicitMLPImpl::Tape& tape = w_tape_;
  const torch::Tensor W = W_net->forward(frequency_coordinate(frequencies_), tape);  // F × K
  const torch::Tensor Wb = W.narrow(0, g.f_first, g.f_count);
  const torch::Tensor H = torch::softplus(H_);
  const torch::Tensor V = torch::mm(Wb, H);  // the band's V̂
  const torch::Tensor x = data.X.select(1, 2);
  // R = dL/dV̂ = 1 − x/V̂ on the band (summed over repeated rows).
  torch::Tensor R, loss;
  if (g.whole_grid) {
    const torch::Tensor xv = x.view({g.f_count, N});
    R = xv.div(V).neg_().add_(1);
    if (with_loss) loss = (V - at::xlogy(xv, V)).sum();
  } else {
    const torch::Tensor Vs = V.flatten().index_select(0, g.flat_index);
    R = torch::zeros({g.f_count * N}, V.options()).index_add_(0, g.flat_index, x.div(Vs).neg_().add_(1));
    R = R.view({g.f_count, N});
    if (with_loss) loss = (Vs - at::xlogy(x, Vs)).sum();
  }
  if (with_loss) {
    torch::Tensor& constant = grid_cache_.kl_constant;  // shared with loss()
    if (!constant.defined()) constant = (at::xlogy(x, x) - x).sum();
    loss = loss + constant;
  }
  if (H_.requires_grad()) {
    torch::Tensor gH = torch::mm(Wb.t(), R);
    // softplus' as LibTorch's softplus backward: e^h/(e^h + 1), 1 above the threshold 20.
    const torch::Tensor e = H_.exp();
    gH.mul_(e.div(e + 1).masked_fill_(H_ > 20, 1.0));
    accumulate_grad(H_, gH);
  }
  bool train_w = false;
  for (const auto& p : W_net->parameters()) train_w = train_w || p.requires_grad();
  if (train_w) {
    torch::Tensor gW = torch::mm(R, H.t());  // band × K
    if (g.f_count != W.size(0)) {
      torch::Tensor full = torch::zeros(W.sizes(), W.options());
      full.narrow(0, g.f_first, g.f_count).copy_(gW);
      gW = full;
    }
    W_net->backward(tape, gW);
  }
  return loss;
}

}  // namespace factorch
