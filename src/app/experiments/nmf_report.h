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

}  // namespace factorch
