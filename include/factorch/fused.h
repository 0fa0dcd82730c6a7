#pragma once
// Elementwise passes that LibTorch runs as several kernels, fused into one pass over memory
// on the CPU (contiguous float32/float64); other devices and layouts get the same values
// from the equivalent ATen ops. Used by hand-written gradients (sine networks, Rprop).
#include <torch/types.h>

namespace factorch {

/// z ← sin(z) in place; returns cos(z) (of the value before). One range reduction serves
/// both: float32 uses a vectorised minimax polynomial (within 2 ulp of libm for |z| < 10⁴),
/// float64 uses libm.
torch::Tensor sin_cos_(torch::Tensor& z);

/// One Rprop− step on a parameter (Riedmiller & Braun 1993; η+ = 1.2, η− = 0.5, steps
/// clamped to [1e-6, 50]), the same arithmetic as the ATen sequence it replaces:
///   s ← clamp(s·(1.2 if g·prev > 0, 0.5 if < 0, else 1)), g ← 0 where g·prev < 0,
///   prev ← g, p ← p − sign(g)·s.   `grad` is used as scratch.
void rprop_step_(torch::Tensor& param, torch::Tensor& grad, torch::Tensor& step, torch::Tensor& prev);

}  // namespace factorch
