#pragma once
// Orthonormal DCT matrices, rows = atoms: coefficients = Φ · frames, frames = Φᵀ · coefficients.
// DCT-II is TL-NMF's initial/fixed transform (scipy.fftpack.dct(eye(M), 3, norm='ortho')).
#include <torch/types.h>

namespace factorch::signal {

/// Φ[k, m] = c_k·√(2/M)·cos(πk(2m + 1)/(2M)), c_0 = 1/√2, c_k = 1 otherwise.
torch::Tensor dct2_matrix(int64_t M, const torch::TensorOptions& options = torch::kFloat64);

/// Φ[k, m] = √(2/M)·cos(π(2k + 1)(2m + 1)/(4M)); symmetric and its own inverse.
torch::Tensor dct4_matrix(int64_t M, const torch::TensorOptions& options = torch::kFloat64);

}  // namespace factorch::signal
