#pragma once
// Embedded synthetic signals (no data file): harmonic "notes" with on/off envelopes, as in
// the TL-NMF identifiability paper (Sec. III-A):
//   y_k(t) = g_k(t) · Σ_{r=1..R} β^r · cos(r(2π f_k t / fs + θ_k)),  θ_k ~ U[0, 2π),
// with t the 0-based sample index, and y = Σ_k y_k. Defaults follow the paper: f = 440 and
// 466.16 Hz, fs = 5 kHz, T = 15000 (3 s), R = 2, β = 0.5, source 1 on for t ∈ [0, 5000) ∪
// [10000, 15000), source 2 on for t ∈ [5000, 15000). The paper's g_i "varies slowly over t"
// (its Sec. III-B needs g_i nearly constant within a frame): set envelope_shape = SineRoot for
// that; the default (Flat) switches the notes on and off abruptly.
#include <torch/types.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace factorch::signal {

/// Shape of the envelope over each active interval [start, end) of length L:
///   Flat:     1 (abrupt on/off, softened only by `fade`);
///   SineRoot: sin(π(n + ½)/L)^½, n = 0 … L−1: a slowly varying bump (rises from ≈ 0, peaks
///             at 1 mid-interval, falls back), continuous at the interval's ends.
enum class EnvelopeShape { Flat, SineRoot };

/// Envelope: 0 outside the half-open sample intervals [start, end), `shape` inside; Flat has
/// an optional raised-cosine fade of `fade` samples inside each interval at both ends (clipped
/// to half the interval). No interval at all means "always on" (1 everywhere).
struct Envelope {
  std::vector<std::pair<int64_t, int64_t>> active;
  int64_t fade = 0;
  EnvelopeShape shape = EnvelopeShape::Flat;
};

/// The envelope as a signal of `length` samples. Intervals outside [0, length] → Error.
torch::Tensor envelope_signal(const Envelope& envelope, int64_t length,
                              const torch::TensorOptions& options = torch::kFloat64);

/// One harmonic note Σ_{r=1..harmonics} decay^r·cos(r(2π f0 t/fs + θ)) · g(t), θ drawn from
/// `seed` (deterministic across platforms). Any harmonic at or above fs/2 → Error (aliasing).
torch::Tensor harmonic_source(double f0, double sample_rate, int64_t length, int harmonics = 2, double decay = 0.5,
                              const Envelope& envelope = {}, uint64_t seed = 0,
                              const torch::TensorOptions& options = torch::kFloat64);

struct HarmonicMixtureOptions {
  std::vector<double> frequencies{440.0, 466.16};  // Hz, one per source
  double sample_rate = 5000.0;
  int64_t length = 15000;
  int harmonics = 2;     // R
  double decay = 0.5;    // β_r = decay^r
  uint64_t seed = 0;     // phases θ_k are drawn in source order from one generator
  // One per source. Empty: the paper's layout for two sources (thirds of `length`:
  // source 1 on in the first and last third, source 2 in the last two) with `envelope_shape`
  // over each interval, always on otherwise.
  std::vector<Envelope> envelopes;
  EnvelopeShape envelope_shape = EnvelopeShape::Flat;
};

struct HarmonicMixture {
  torch::Tensor mixture;        // T
  torch::Tensor sources;        // K × T, clean sources (sum = mixture)
  std::vector<double> phases;   // θ_k in [0, 2π)
  double sample_rate = 0.0;
};

HarmonicMixture harmonic_mixture(const HarmonicMixtureOptions& options = {},
                                 const torch::TensorOptions& tensor_options = torch::kFloat64);

}  // namespace factorch::signal
