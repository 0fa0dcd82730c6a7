#pragma once
// Initial factors for NMF-like models (also used for layer-wise pre-training).
#include <string>
#include <utility>

#include <torch/types.h>

namespace factorch {

/// (W, H) for V ≈ WH with rank K, on V's device/dtype:
///  "random":  |N(0,1)|·sqrt(mean(V)/K), so that WH has the data's scale (scikit-learn's rule)
///  "nndsvd":  nonnegative double SVD (Boutsidis & Gallopoulos 2008), zeros kept
///  "nndsvda": nndsvd with zeros replaced by mean(V) (better for MU, which cannot leave 0)
/// Seeded: the same seed gives the same factors on every device.
std::pair<torch::Tensor, torch::Tensor> initial_factors(const torch::Tensor& V, int64_t rank,
                                                        const std::string& method, uint64_t seed);

/// |N(0,1)|·scale of the given shape, drawn on the CPU with `seed` then moved (reproducible).
torch::Tensor random_nonnegative(at::IntArrayRef shape, double scale, uint64_t seed,
                                 const torch::TensorOptions& options);

}  // namespace factorch
