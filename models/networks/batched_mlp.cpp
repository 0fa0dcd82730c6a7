#include "factorch/models/networks/batched_mlp.h"

#include <cmath>
#include <ostream>

#include <torch/nn/functional/activation.h>

#include "factorch/error.h"
#include "factorch/fused.h"
#include "factorch/accumulate_grad.h"
#include "factorch/shape_string.h"

namespace factorch::nn {

BatchedImplicitMLPImpl::BatchedImplicitMLPImpl(int64_t count_, const ImplicitMLPOptions& options_)
    : count(count_), options(options_) {
  require(count >= 1, "BatchedImplicitMLP: count must be >= 1, got " + std::to_string(count));
  validate(options);
  reset();
}

void BatchedImplicitMLPImpl::reset() {
  // The separate networks, built in turn (same random draws as `count` ImplicitMLPs), then stacked.
  std::vector<ImplicitMLP> nets;
  for (int64_t c = 0; c < count; ++c) nets.emplace_back(options);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const int64_t W = options.width(), d = options.in_features();
  int64_t in = d;
  if (nets[0]->features) {
    const int64_t m = nets[0]->features->B.size(0);
    const torch::Tensor b = torch::zeros({count, m, d}, f64);
    B = options.trainable_features() ? register_parameter("features_B", b) : register_buffer("features_B", b);
    phase = register_buffer("features_phase", torch::zeros({count, 1, m}, f64));
    in = 2 * m;
  }
  weights.clear();
  biases.clear();
  for (int64_t i = 0; i < options.depth(); ++i) {
    weights.push_back(register_parameter("layer" + std::to_string(i) + "_weight", torch::zeros({count, i ? W : in, W}, f64)));
    biases.push_back(register_parameter("layer" + std::to_string(i) + "_bias", torch::zeros({count, 1, W}, f64)));
  }
  out_weight = register_parameter("output_weight", torch::zeros({count, W, options.out_features()}, f64));
  out_bias = register_parameter("output_bias", torch::zeros({count, 1, options.out_features()}, f64));
  for (int64_t c = 0; c < count; ++c) load_network(c, *nets[c]);
}

std::vector<std::string> BatchedImplicitMLPImpl::network_tensor_names() const {
  std::vector<std::string> names;
  if (B.defined()) names = {"features.B", "features.phase"};
  for (int64_t i = 0; i < options.depth(); ++i) {
    names.push_back("siren.layers." + std::to_string(i) + ".weight");
    names.push_back("siren.layers." + std::to_string(i) + ".bias");
  }
  names.push_back("output.weight");
  names.push_back("output.bias");
  return names;
}

bool BatchedImplicitMLPImpl::set_network_tensor(int64_t c, const std::string& name, const torch::Tensor& value) {
  require(c >= 0 && c < count, "BatchedImplicitMLP: network " + std::to_string(c) + " does not exist (" +
                                   std::to_string(count) + " networks)");
  torch::Tensor target;
  bool linear_weight = false;  // torch::nn::Linear stores out × in: transpose
  if (name == "features.B" && B.defined()) {
    target = B[c];
  } else if (name == "features.phase" && phase.defined()) {
    target = phase[c][0];
  } else if (name == "output.weight") {
    target = out_weight[c];
    linear_weight = true;
  } else if (name == "output.bias") {
    target = out_bias[c][0];
  } else if (name.rfind("siren.layers.", 0) == 0) {
    const std::string rest = name.substr(13);
    const size_t dot = rest.find('.');
    if (dot == std::string::npos || dot == 0 || rest.find_first_not_of("0123456789") != dot) return false;
    const int64_t i = std::stoll(rest.substr(0, dot));
    const std::string what = rest.substr(dot + 1);
    if (i >= options.depth() || (what != "weight" && what != "bias")) return false;
    linear_weight = what == "weight";
    target = linear_weight ? weights[i][c] : biases[i][c][0];
  } else {
    return false;
  }
  const torch::Tensor v = linear_weight && value.dim() == 2 ? value.t() : value;
  require(v.sizes() == target.sizes(), "network tensor " + name + " is " + shape_string(value) +
                                           " but this network needs " +
                                           shape_string(linear_weight ? target.t() : target) + " (different network options?)");
  torch::NoGradGuard no_grad;
  target.copy_(v.to(target.options()));
  return true;
}

void BatchedImplicitMLPImpl::load_network(int64_t c, ImplicitMLPImpl& net) {
  for (const auto& p : net.named_parameters(true)) set_network_tensor(c, p.key(), p.value());
  for (const auto& b : net.named_buffers(true)) set_network_tensor(c, b.key(), b.value());
}

torch::Tensor BatchedImplicitMLPImpl::forward(const torch::Tensor& v) {
  require(v.dim() == 2 && v.size(1) == options.in_features(),
          "BatchedImplicitMLP: input must be U × " + std::to_string(options.in_features()));
  torch::Tensor x;
  if (B.defined()) {
    // (U × d)·(C × d × m) → C × U × m, as FourierFeatures per network.
    const torch::Tensor arg = torch::matmul(v, B.transpose(1, 2)).mul(2.0 * M_PI).add(phase);
    x = torch::cat({torch::cos(arg), torch::sin(arg)}, -1);
  } else {
    x = v.unsqueeze(0).expand({count, v.size(0), v.size(1)});
  }
  const double w0 = options.omega_0();
  // sin(ω₀(xW + b)) as sin(x(ω₀W) + ω₀b): ω₀ scales the small weights (C × in × width),
  // not the U × width activations, so neither the forward nor the backward pass makes a
  // scaled copy of an activation-sized tensor (baddbmm with α = β = 1).
  for (size_t i = 0; i < weights.size(); ++i) x = torch::sin(torch::baddbmm(biases[i] * w0, x, weights[i] * w0));
  torch::Tensor y = torch::baddbmm(out_bias, x, out_weight);  // C × U × out
  if (options.softplus()) y = torch::softplus(y);
  // U × (C·out); with one output per network a transposed view (no copy).
  return options.out_features() == 1 ? y.squeeze(2).t() : y.permute({1, 0, 2}).reshape({v.size(0), -1});
}

namespace {

// `buffer` when it already has this shape, dtype and device, else a new uninitialised tensor
// kept in it: a tape's buffers are allocated on the first pass only.
torch::Tensor& reuse(torch::Tensor& buffer, torch::IntArrayRef sizes, const torch::TensorOptions& options) {
  if (!buffer.defined() || buffer.sizes() != sizes || buffer.scalar_type() != options.dtype().toScalarType() ||
      buffer.device() != options.device())
    buffer = torch::empty(sizes, options);
  return buffer;
}

bool same_values(const torch::Tensor& cached, const torch::Tensor& t) {
  return cached.defined() && cached.sizes() == t.sizes() && cached.scalar_type() == t.scalar_type() &&
         cached.device() == t.device() && torch::equal(cached, t);
}

}  // namespace

torch::Tensor BatchedImplicitMLPImpl::forward(const torch::Tensor& v, Tape& tape) {
  require(v.dim() == 2 && v.size(1) == options.in_features(),
          "BatchedImplicitMLP: input must be U × " + std::to_string(options.in_features()));
  torch::NoGradGuard no_grad;
  const int64_t U = v.size(0), width = options.width();
  const auto opts = v.options();
  torch::Tensor x;
  if (B.defined()) {
    // A training loop evaluates the same grid every epoch with B a buffer: the features are
    // constant then (a few hundred values to compare, against U·m sines and cosines).
    if (!(same_values(tape.features_v, v) && same_values(tape.features_B, B) && same_values(tape.features_phase, phase))) {
      torch::Tensor s = torch::matmul(v, B.transpose(1, 2)).mul_(2.0 * M_PI).add_(phase);
      const torch::Tensor c = sin_cos_(s);
      tape.features = torch::cat({c, s}, -1);
      tape.features_v = v.clone();
      tape.features_B = B.detach().clone();
      tape.features_phase = phase.detach().clone();
    }
    x = tape.features;
  } else {
    x = v.unsqueeze(0).expand({count, U, v.size(1)});
  }
  const double w0 = options.omega_0();
  const size_t L = weights.size();
  tape.inputs.resize(L);
  tape.cosines.resize(L);
  tape.scaled_weights.resize(L);
  tape.scaled_biases.resize(L);
  tape.outputs.resize(L);
  for (size_t i = 0; i < L; ++i) {
    torch::Tensor& w = reuse(tape.scaled_weights[i], weights[i].sizes(), weights[i].options());
    torch::Tensor& b = reuse(tape.scaled_biases[i], biases[i].sizes(), biases[i].options());
    w.copy_(weights[i]).mul_(w0);
    b.copy_(biases[i]).mul_(w0);
    tape.inputs[i] = x;
    // z into layer i's buffer; sin_cos_ turns it into sin(z) (the next layer's input) and fills the cosines.
    torch::Tensor& z = reuse(tape.outputs[i], {count, U, width}, opts);
    at::bmm_out(z, x, w);
    sin_cos_(z, reuse(tape.cosines[i], z.sizes(), opts), b);  // z + ω₀b, then sin and cos
    x = z;
  }
  tape.readout_input = x;
  torch::Tensor y = torch::baddbmm(out_bias, x, out_weight);
  if (options.softplus()) {
    // softplus'(y) as LibTorch's softplus backward has it: e^y/(e^y + 1), exactly 1 above
    // its threshold 20 (where softplus(y) = y).
    const torch::Tensor e = y.exp();
    tape.slope = e.div(e + 1).masked_fill_(y > 20, 1.0);
    y = torch::softplus(y);
  } else {
    tape.slope = torch::Tensor();
  }
  return options.out_features() == 1 ? y.squeeze(2).t() : y.permute({1, 0, 2}).reshape({U, -1});
}

void BatchedImplicitMLPImpl::backward(Tape& tape, const torch::Tensor& grad_output) {
  require(has_backward(), "BatchedImplicitMLP: backward() does not cover trainable features (use autograd)");
  torch::NoGradGuard no_grad;
  const int64_t U = grad_output.size(0), out = options.out_features();
  torch::Tensor gy = out == 1 ? grad_output.t().unsqueeze(2) : grad_output.reshape({U, count, out}).permute({1, 0, 2});
  gy = tape.slope.defined() ? gy * tape.slope : gy.contiguous();  // dL/dy, C × U × out
  accumulate_grad(out_weight, torch::bmm(tape.readout_input.transpose(1, 2), gy));
  accumulate_grad(out_bias, gy.sum(1, true));
  if (weights.empty()) return;
  const double w0 = options.omega_0();
  const torch::Tensor& x = tape.readout_input;
  at::bmm_out(reuse(tape.grad, x.sizes(), x.options()), gy, out_weight.transpose(1, 2));  // dL/dx of the last sine layer
  for (int64_t i = static_cast<int64_t>(weights.size()) - 1; i >= 0; --i) {
    // dL/dz = dL/dx ⊙ cos z (z = x·(ω₀W) + ω₀b), and its column sums (the bias gradient), in one pass.
    const torch::Tensor bias_sum = mul_sum_rows_(tape.grad, tape.cosines[i]);
    if (weights[i].requires_grad()) accumulate_grad(weights[i], torch::bmm(tape.inputs[i].transpose(1, 2), tape.grad).mul_(w0));
    if (biases[i].requires_grad()) accumulate_grad(biases[i], bias_sum.mul_(w0));
    if (i > 0) {
      at::bmm_out(reuse(tape.grad_next, tape.grad.sizes(), tape.grad.options()), tape.grad,
                  tape.scaled_weights[i].transpose(1, 2));
      std::swap(tape.grad, tape.grad_next);
    }
  }
}

void BatchedImplicitMLPImpl::pretty_print(std::ostream& stream) const {
  stream << "factorch::nn::BatchedImplicitMLP(count=" << count << ", in=" << options.in_features()
         << ", out=" << options.out_features() << ", features=" << options.features() << ", width=" << options.width()
         << ", depth=" << options.depth() << ", omega_0=" << options.omega_0() << (options.softplus() ? ", softplus" : "")
         << ")";
}

}  // namespace factorch::nn
