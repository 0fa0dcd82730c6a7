#pragma once
// Synthetic "speakers" for supervised separation without a download: each speaker utters a
// random sequence of voiced "syllables" (harmonic tones) separated by short pauses.
//   - pitch: each syllable draws f0 from the speaker's range, glides (log-linearly) to a
//     second draw within ±glide semitones, with sinusoidal vibrato (rate, depth);
//   - timbre: harmonic amplitudes follow a formant envelope — a sum of Gaussian resonances
//     (one "vowel" per syllable, picked from the speaker's vowel set) times a spectral tilt
//     h^(−tilt) — so two speakers differ in pitch range *and* in spectral envelope;
//   - level: 15 ms raised-cosine attack/release per syllable; harmonics stop below 0.45·fs.
// Everything derives from one seed through mt19937_64 with an exactly specified mapping
// to [0, 1) (so the same seed gives the same audio on every platform).
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace factorch::signal {

struct Formant {
  double frequency;  // Hz
  double bandwidth;  // Hz (standard deviation of the Gaussian resonance)
  double gain;       // linear
};

struct SpeakerOptions {
  std::string name = "speaker";
  double f0_min = 100.0, f0_max = 160.0;  // Hz, syllable pitch range
  double glide_semitones = 3.0;           // max |pitch glide| within a syllable
  double vibrato_rate = 5.5;              // Hz
  double vibrato_depth = 0.015;           // relative f0 deviation
  double syllable_min = 0.12, syllable_max = 0.35;  // s
  double pause_min = 0.02, pause_max = 0.12;        // s
  double tilt = 0.6;                      // harmonic h scaled by h^-tilt
  std::vector<std::vector<Formant>> vowels;  // one formant set per vowel (≥ 1)
};

/// Two distinguishable presets: 0 = low voice (f0 95–150 Hz, lower formants),
/// 1 = high voice (f0 190–290 Hz, formants ≈ 17% higher, brighter). Other index → Error.
SpeakerOptions speaker_preset(int index);

/// `seconds` of the speaker at `sample_rate` Hz (float64, CPU), peak-free level ≈ 0.1 RMS.
/// Invalid options (empty vowel set, f0 range, rate) → factorch::Error.
torch::Tensor speaker_signal(const SpeakerOptions& speaker, double seconds, double sample_rate, uint64_t seed);

/// Two sources s (2 × T) and their sum mixed at 0 dB (both scaled to the same RMS).
struct SpeakerMixture {
  torch::Tensor mixture;  // T
  torch::Tensor sources;  // S × T, sum = mixture
};

/// One mixture of the given speakers, each drawn with its own seed derived from `seed`.
SpeakerMixture speaker_mixture(const std::vector<SpeakerOptions>& speakers, double seconds, double sample_rate,
                               uint64_t seed);

}  // namespace factorch::signal
