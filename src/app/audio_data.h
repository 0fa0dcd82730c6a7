#pragma once
// Audio input for the models that take a nonnegative matrix V (NMF and its variants):
// a WAV file (data.input: mix.wav) or an embedded synthetic signal (data.synthetic), turned
// into V by a representation that can also be inverted for separation:
//   stft_power      V = |STFT|²   coefficients: complex STFT (n_fft, hop, window)
//   stft_magnitude  V = |STFT|    coefficients: complex STFT
//   dct_power       V = (D·Y)²    coefficients: real DCT-II of the M×N windowed frames Y
//                                 (M = n_fft), the fixed-transform baseline of TL-NMF
// Models with their own data layout (TL-NMF frames, iN-NMF (t, f, value) samples, DL-NMF
// speaker sets) declare their own data keys instead.
#include <string>
#include <vector>

#include <torch/types.h>

#include "app/config.h"
#include "factorch/signal/stft.h"

namespace factorch::app {

/// Declares the audio data.* keys (representation, STFT sizes, synthetic signal, reference
/// and training files) for the given model types.
void add_audio_data_keys(ConfigSchema& schema, const std::vector<std::string>& models);

/// True when the config's data is audio (data.synthetic, or a data.input that is not .npy).
bool has_audio_input(const Config& config);

/// A signal ↔ (coefficients, V) transform chosen by data.representation.
class AudioRepresentation {
 public:
  explicit AudioRepresentation(const Config& config);
  /// x (T) → transform coefficients (complex F×N for STFT, real M×N for DCT).
  torch::Tensor analyse(const torch::Tensor& x) const;
  /// Coefficients → the nonnegative matrix V (power or magnitude).
  torch::Tensor nonnegative(const torch::Tensor& coefficients) const;
  /// Coefficients → signal of `length` samples (least-squares overlap-add).
  torch::Tensor synthesise(const torch::Tensor& coefficients, int64_t length) const;
  /// Exponent p such that V^p is a power (2 for magnitudes, 1 for powers): Wiener masks
  /// are built from model parts raised to it.
  double power_exponent() const { return kind_ == "stft_magnitude" ? 2.0 : 1.0; }
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  std::string where_;  // origin of data.n_fft, for errors about the frame size
  signal::StftOptions stft_;
};

/// A mixture with what is known about it.
struct AudioData {
  torch::Tensor mixture;                  ///< T, float64 CPU
  int sample_rate = 0;
  torch::Tensor references;               ///< S × T clean sources, undefined when unknown
  std::vector<std::string> source_names;  ///< names of the references (or of data.train)
  /// Per-source clean training signals (supervised separation), in source_names order.
  std::vector<torch::Tensor> training;
};

/// Loads data.input (WAV, with data.channel / data.downmix) or synthesises data.synthetic,
/// plus data.references and data.train. Errors name the key, file and cause.
AudioData load_audio_data(const Config& config);

}  // namespace factorch::app
