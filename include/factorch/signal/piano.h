#pragma once
// A piano-like toy signal for the IS-NMF demo of the β-NMF lecture (MIDI 61, 65, 68, 72
// played alone, then in chords). Each note is a sum of slightly inharmonic partials
// f_r = r·f0·sqrt(1 + B r²) with amplitudes r^(−tilt), a 5 ms attack and one exponential
// decay shared by all partials (so each note has a fixed spectral shape: one "true" NMF
// component). Every onset also has a hammer thump (a short low-passed noise burst, one more
// component) and the whole signal a stationary white-noise floor (another): six true
// components, as in the lecture's ARD piano figure.
#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace factorch::signal {

struct PianoOptions {
  std::vector<int64_t> midi{61, 65, 68, 72};  ///< the notes (MIDI numbers; 69 = A4 = 440 Hz)
  /// Events played in turn, each a set of note indices (into midi). Empty: each note alone,
  /// then the pairs (0,1), (2,3), (0,2), (1,3) and all four together.
  std::vector<std::vector<int64_t>> events;
  double sample_rate = 16000.0;
  double event_seconds = 0.5;   ///< duration of each event (the notes are damped at its end)
  double inharmonicity = 2e-4;  ///< B
  double tilt = 1.0;            ///< partial r has amplitude r^(−tilt)
  double decay = 3.0;           ///< amplitude decay rate (1/s)
  double hammer = 0.15;         ///< amplitude of the onset noise burst (0: none)
  double noise = 1e-3;          ///< standard deviation of the white-noise floor (0: none)
  uint64_t seed = 0;            ///< phases and noise
};

struct PianoSignal {
  torch::Tensor mixture;  ///< T
  torch::Tensor notes;    ///< M × T, each note's part of the mixture (all its events)
  torch::Tensor hammer;   ///< T, the onset bursts
  torch::Tensor noise;    ///< T, the noise floor
  std::vector<std::vector<int64_t>> events;
  double sample_rate = 0.0;
};

/// MIDI number → frequency in Hz (equal temperament, A4 = 440 Hz).
double midi_to_hz(double midi);

/// Synthesises the toy (float64, CPU). Partials at or above 0.45·fs are left out. Bad
/// options (no notes, a note index out of range, non-positive rate or duration) → Error.
PianoSignal piano_signal(const PianoOptions& options = {});

}  // namespace factorch::signal
