#pragma once
// C independent ImplicitMLPs (Fourier features → sine layers → linear read-out → softplus)
// evaluated as one batched network: every weight is stacked along a leading network
// dimension and each layer is one batched matrix product (torch::baddbmm), so K small
// networks cost a handful of kernels instead of K times as many (iN-NMF's one network per
// component). Initialisation builds the C ImplicitMLPs in turn and stacks their weights, so
// the distribution and, for a given seed, the very values match C separate modules.
//
// Parameters and buffers (net c is slice c of the leading dimension):
//   "features_B"      C × m × d   (a parameter with trainable_features, else a buffer)
//   "features_phase"  C × 1 × m   (buffer)
//   "layer<i>_weight" C × in × width,  "layer<i>_bias" C × 1 × width   (sine layers)
//   "output_weight"   C × width × out, "output_bias"   C × 1 × out
// Weights are stored transposed with respect to torch::nn::Linear (x·W, not x·Wᵀ).
// The names of a separate ImplicitMLP ("features.B", "siren.layers.i.weight", …) can still
// be loaded into slot c (set_network_tensor), so dictionaries saved before stay usable.
#include <string>
#include <vector>

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "factorch/models/networks/mlp.h"

namespace factorch::nn {

class BatchedImplicitMLPImpl : public torch::nn::Cloneable<BatchedImplicitMLPImpl> {
 public:
  /// `count` networks, each with `options` (in_features → out_features).
  BatchedImplicitMLPImpl(int64_t count, const ImplicitMLPOptions& options);

  void reset() override;
  /// v (U × in_features) → U × (count·out_features): network c's outputs in columns
  /// c·out … c·out + out − 1 (the torch::cat of the separate networks' outputs).
  torch::Tensor forward(const torch::Tensor& v);
  /// What backward() needs from a forward pass: each sine layer's input, the cosine of its
  /// pre-activation and its ω₀-scaled weights; the read-out's input and the slope of its
  /// output (softplus' or 1). No autograd graph is kept.
  /// A tape kept between calls (a training loop: the same shapes every epoch) is reused: the
  /// layers write into its buffers (no allocation, so no fresh pages to fault in), and the
  /// Fourier features of an unchanged input, B and phase are not recomputed. The tensors of
  /// one forward pass are therefore only valid until the next forward pass on the same tape.
  struct Tape {
    std::vector<torch::Tensor> inputs, cosines, scaled_weights, scaled_biases, outputs;
    torch::Tensor readout_input, slope;
    torch::Tensor features, features_v, features_B, features_phase;  // cached features and what they came from
    torch::Tensor grad, grad_next;  // backward(): dL/dz of a layer and of the one below
  };
  /// forward(v) without autograd, filling `tape` (sin and cos of each layer from one pass).
  torch::Tensor forward(const torch::Tensor& v, Tape& tape);
  /// Whether backward() can give every trainable tensor's gradient (not trainable features).
  bool has_backward() const { return !(B.defined() && B.requires_grad()); }
  /// Adds dL/dθ to θ.grad() for every parameter θ that requires grad, given dL/d(output)
  /// (U × count·out, the layout of forward()) and the tape of the forward pass that made it:
  /// the same sums as autograd's, in GEMMs plus one fused pass per layer (`tape`'s
  /// gradient buffers are scratch).
  void backward(Tape& tape, const torch::Tensor& grad_output);
  /// Copies the weights of a separate ImplicitMLP into slot c (same options).
  void load_network(int64_t c, ImplicitMLPImpl& net);
  /// The tensor names of one separate ImplicitMLP with these options.
  std::vector<std::string> network_tensor_names() const;
  /// Sets one tensor from a per-network name of a separate ImplicitMLP ("features.B",
  /// "siren.layers.i.weight", "output.bias", …) into slot c. False when the name is unknown.
  bool set_network_tensor(int64_t c, const std::string& name, const torch::Tensor& value);
  void pretty_print(std::ostream& stream) const override;

  int64_t count;
  ImplicitMLPOptions options;
  torch::Tensor B, phase;                       ///< Fourier features (undefined with features: none)
  std::vector<torch::Tensor> weights, biases;   ///< sine layers
  torch::Tensor out_weight, out_bias;           ///< read-out
};
TORCH_MODULE(BatchedImplicitMLP);

}  // namespace factorch::nn
