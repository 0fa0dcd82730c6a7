#pragma once
// What a β-NMF run can show after training (the nmf_audio report and the nmf ARD summary):
// PNG pictures of V, W, H and of each component's Wiener-filtered spectrogram, component
// WAVs, and which ARD components survived.
#include <string>

#include <torch/types.h>

#include "factorch/models/nmf.h"

namespace factorch {

/// out_dir/ard.json: per component ‖w_k‖+‖h_k‖ and its share of the largest, kept and pruned
/// components; also prints one line. Nothing when ARD is off.
void write_ard_summary(NMFImpl& model, const std::string& out_dir);

/// out_dir/pictures/{spectrogram,W,H}.png from V and the factors (frequency rows flipped so
/// that high frequencies are at the top; dB colour scale, 80 dB range).
void write_factor_pictures(NMFImpl& model, const torch::Tensor& V, const std::string& out_dir);

/// Wiener reconstruction of every component from the mixture's complex (or real) transform
/// coefficients: masks (w_k h_k)^p / Σ_j (w_j h_j)^p (p = power_exponent: 1 if V is a power,
/// 2 if a magnitude). Returns the K masked coefficient tensors.
std::vector<torch::Tensor> wiener_components(NMFImpl& model, const torch::Tensor& coefficients, double power_exponent);

}  // namespace factorch
