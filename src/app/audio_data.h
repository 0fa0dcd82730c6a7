#pragma once
// Audio input for the models that take a nonnegative matrix V (NMF and its variants), read
// through the shared data block (app/data_block.h): a WAV file (data.input) or the embedded
// harmonic_notes signal (data.synthetic), turned into V by data.transform, which can also be
// inverted for separation:
//   stft  V = |STFT|^exponent    coefficients: complex STFT (n_fft, win_length, hop, window)
//   dct   V = |D·Y|^exponent     coefficients: real DCT-II of the M×N windowed frames Y
//                                (M = n_fft), the fixed-transform baseline of TL-NMF
#include <string>
#include <vector>

#include <torch/types.h>

#include "app/config.h"
#include "app/data_block.h"
#include "factorch/separation/representation.h"
#include "factorch/signal/stft.h"
#include "factorch/signal/synthetic.h"

namespace factorch::app {

/// True when the config's data is audio (data.synthetic, or a data.input that is not .npy).
bool has_audio_input(const Config& config);

/// The library's representation (factorch/separation/representation.h) chosen by
/// data.transform (stft or dct); errors about the frame size name data.transform.n_fft.
class AudioRepresentation {
 public:
  explicit AudioRepresentation(const Config& config);
  /// x (T) → transform coefficients (complex F×N for STFT, real M×N for DCT).
  torch::Tensor analyse(const torch::Tensor& x) const;
  /// The same transform of the frames lying inside `segment`, unpadded (FramePadding::None):
  /// a data-parallel rank's columns of analyse(x) from the samples they cover (app/audio_shard.h).
  torch::Tensor analyse_unpadded(const torch::Tensor& segment) const;
  /// Frame length M (the STFT's window length, the DCT's n_fft) and hop of the framing.
  int64_t frame_length() const { return stft_.frame_length(); }
  int64_t hop() const { return stft_.hop; }
  /// Coefficients → the nonnegative matrix V (power or magnitude).
  torch::Tensor nonnegative(const torch::Tensor& coefficients) const { return rep_.nonnegative(coefficients); }
  /// Coefficients → signal of `length` samples (least-squares overlap-add).
  torch::Tensor synthesise(const torch::Tensor& coefficients, int64_t length) const {
    return rep_.synthesise(coefficients, length);
  }
  /// Exponent p such that V^p is a power (2 for magnitudes, 1 for powers): Wiener masks
  /// are built from model parts raised to it.
  double power_exponent() const { return spec_.power_exponent(); }
  const TransformSpec& spec() const { return spec_; }
  const separation::Representation& representation() const { return rep_; }

 private:
  TransformSpec spec_;
  std::string where_;  // origin of data.transform.n_fft, for errors about the frame size
  signal::StftOptions stft_;
  separation::Representation rep_;
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

/// Loads data.input (WAV, with data.channel / data.downmix) or synthesises data.synthetic
/// (harmonic_notes), plus data.references and data.train. Errors name the key, file and cause.
AudioData load_audio_data(const Config& config);

/// One realisation of harmonic_notes (data.synthetic.*) with phases drawn from `seed`.
signal::HarmonicMixture harmonic_notes(const SyntheticParams& params, uint64_t seed);
/// "note1", "note2", …: the sources of harmonic_notes, for every model.
std::vector<std::string> harmonic_note_names(size_t count);
/// harmonic_notes' clean training notes (data.synthetic.train_seconds, steady, own phases).
std::vector<torch::Tensor> harmonic_training_notes(const SyntheticParams& params);

}  // namespace factorch::app
