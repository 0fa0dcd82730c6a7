#pragma once
// Elementwise passes that LibTorch runs as several kernels, fused into one pass over memory
// on the CPU (contiguous float32/float64); other devices and layouts get the same values
// from the equivalent ATen ops. Used by hand-written gradients (sine networks, Rprop).
#include <vector>

#include <torch/types.h>

namespace factorch {

/// z ← sin(z) in place; returns cos(z) (of the value before). One range reduction serves
/// both: float32 uses a vectorised minimax polynomial (within 2 ulp of libm for |z| < 10⁴),
/// float64 uses libm.
torch::Tensor sin_cos_(torch::Tensor& z);
/// The same, writing cos(z) into `c` (z's shape, dtype and device): a caller that keeps its
/// buffers between calls allocates nothing.
void sin_cos_(torch::Tensor& z, torch::Tensor& c);
/// The same for z + bias (z: B × U × W, bias: B × 1 × W, added to every row first): a sine
/// layer's pre-activation from a plain product, without a pass that copies the bias into
/// the output before the GEMM (what baddbmm does).
void sin_cos_(torch::Tensor& z, torch::Tensor& c, const torch::Tensor& bias);

/// g ← g ⊙ c in place; returns the sums over dimension 1 (B × 1 × W for B × U × W), from
/// the same pass (a sine layer's dL/dz and its bias gradient). Other shapes and layouts:
/// g.mul_(c).sum(1, true).
torch::Tensor mul_sum_rows_(torch::Tensor& g, const torch::Tensor& c);

/// One Rprop− step on a parameter (Riedmiller & Braun 1993; η+ = 1.2, η− = 0.5, steps
/// clamped to [1e-6, 50]), the same arithmetic as the ATen sequence it replaces:
///   s ← clamp(s·(1.2 if g·prev > 0, 0.5 if < 0, else 1)), g ← 0 where g·prev < 0,
///   prev ← g, p ← p − sign(g)·s.   `grad` is used as scratch.
void rprop_step_(torch::Tensor& param, torch::Tensor& grad, torch::Tensor& step, torch::Tensor& prev);

/// One Rprop− step on every parameter of a list, each with its `.grad()` as the gradient
/// (and scratch); parameters without a gradient are left alone. Then `moved[i]` ← param i
/// (the caller's buffers, allocated on first use): what projected Rprop compares with after
/// the model's projection (rprop_restart_where_moved_).
void rprop_step_(std::vector<torch::Tensor>& params, std::vector<torch::Tensor>& steps,
                 std::vector<torch::Tensor>& prevs, std::vector<torch::Tensor>& moved);

/// Projected Rprop's restart: where a projection changed an entry (param ≠ moved), its
/// step goes back to `initial` and its sign memory to 0, in one pass per parameter.
void rprop_restart_where_moved_(std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& moved,
                                std::vector<torch::Tensor>& steps, std::vector<torch::Tensor>& prevs, double initial);

/// Σᵢ w[i]·x[i]² over all of x, w broadcast over x's leading dimensions (x: … × w's shape),
/// in one pass over memory where fusable (contiguous float32/float64 on the CPU; accumulated
/// in double, blocked so that the rounding stays that of a pairwise sum), else
/// dot(x ⊙ w, x). TL-NMF's Armijo trials score every trial transform with it.
double weighted_square_sum(const torch::Tensor& x, const torch::Tensor& w);

}  // namespace factorch
