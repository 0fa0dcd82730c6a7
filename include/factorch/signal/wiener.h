#pragma once
// Wiener (soft) masks for separation: mask_k = P_k / Σ_j P_j from per-source power
// estimates (e.g. the k-th NMF part W_k H_k), applied element-wise to any transform of the
// mixture — complex STFT coefficients or real orthogonal-transform (DCT, TL-NMF Φ)
// coefficients — so the masked parts add up exactly to the mixture coefficients.
#include <torch/types.h>

#include <vector>

namespace factorch::signal {

/// Default eps of wiener_masks (below any power of real audio).
inline constexpr double kWienerEps = 1e-12;

/// mask_k = (P_k + eps/K) / (Σ_j P_j + eps): every mask in [0, 1], the K masks sum to 1
/// everywhere (eps keeps silent bins at 1/K instead of 0/0). Powers must be non-negative and
/// share one shape (or broadcast to a common one).
std::vector<torch::Tensor> wiener_masks(const std::vector<torch::Tensor>& source_powers, double eps = kWienerEps);

/// coefficients ⊙ mask_k for each k (real masks on real or complex coefficients).
std::vector<torch::Tensor> apply_masks(const torch::Tensor& coefficients, const std::vector<torch::Tensor>& masks);

/// The multichannel Wiener filter of an instantaneous mixture (Ozerov & Févotte 2010): channel
/// i's power is modelled as Σ_j q_ij S_j, so source j's image in channel i is
///   (q_ij S_j / max(Σ_l q_il S_l, tiny)) ⊙ X_i.
/// coefficients X: I × F × N (complex STFT or real); source_powers: J tensors F × N (≥ 0);
/// mixing_powers Q: I × J (≥ 0). Returns J images I × F × N on the CPU; where some source has
/// power, the images add up to X. Shapes that do not agree → factorch::Error.
std::vector<torch::Tensor> instantaneous_images(const torch::Tensor& coefficients,
                                                const std::vector<torch::Tensor>& source_powers,
                                                const torch::Tensor& mixing_powers);

}  // namespace factorch::signal
