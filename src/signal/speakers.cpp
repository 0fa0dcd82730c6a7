#include "factorch/signal/speakers.h"

#include <cmath>
#include <random>

#include "factorch/error.h"

namespace factorch::signal {

namespace {

// Uniform in [0, 1) from the top 53 bits (exactly specified, unlike std::uniform_real_distribution).
double uniform(std::mt19937_64& g) { return static_cast<double>(g() >> 11) * 0x1.0p-53; }
double uniform(std::mt19937_64& g, double lo, double hi) { return lo + (hi - lo) * uniform(g); }

// splitmix64: decorrelated seeds for the sources of one mixture.
uint64_t mix_seed(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

torch::Tensor formant_envelope(const torch::Tensor& f, const std::vector<Formant>& vowel) {
  torch::Tensor env = torch::full_like(f, 0.02);  // floor: no harmonic is exactly silent
  for (const Formant& r : vowel) env += r.gain * torch::exp(-0.5 * torch::square((f - r.frequency) / r.bandwidth));
  return env;
}

}  // namespace

SpeakerOptions speaker_preset(int index) {
  SpeakerOptions s;
  if (index == 0) {
    s.name = "low";
    s.f0_min = 95.0, s.f0_max = 150.0;
    s.tilt = 0.7;
    s.vibrato_rate = 4.5;
    s.vowels = {{{600, 90, 1.0}, {1000, 110, 0.6}, {2400, 170, 0.25}},   // /a/-like
                {{300, 60, 1.0}, {2200, 150, 0.45}, {3000, 200, 0.3}},   // /i/-like
                {{350, 70, 1.0}, {800, 90, 0.5}, {2300, 170, 0.15}},     // /u/-like
                {{450, 80, 1.0}, {1700, 130, 0.5}, {2500, 170, 0.25}}};  // /e/-like
  } else if (index == 1) {
    s.name = "high";
    s.f0_min = 190.0, s.f0_max = 290.0;
    s.tilt = 0.45;
    s.vibrato_rate = 6.0;
    s.vibrato_depth = 0.02;
    s.syllable_min = 0.1, s.syllable_max = 0.3;
    s.vowels = {{{850, 110, 1.0}, {1220, 130, 0.7}, {2800, 200, 0.3}},
                {{370, 70, 1.0}, {2700, 180, 0.5}, {3400, 230, 0.35}},
                {{430, 80, 1.0}, {1000, 110, 0.5}, {2750, 200, 0.2}},
                {{600, 90, 1.0}, {2100, 150, 0.55}, {2950, 200, 0.3}}};
  } else {
    throw Error("speaker preset must be 0 or 1, got " + std::to_string(index));
  }
  return s;
}

torch::Tensor speaker_signal(const SpeakerOptions& s, double seconds, double sample_rate, uint64_t seed) {
  require(sample_rate > 0, "speaker '" + s.name + "': sample rate must be positive");
  require(seconds > 0, "speaker '" + s.name + "': duration must be positive");
  require(!s.vowels.empty(), "speaker '" + s.name + "': needs at least one vowel (formant set)");
  require(0 < s.f0_min && s.f0_min <= s.f0_max && s.f0_max * 1.2 < 0.45 * sample_rate,
          "speaker '" + s.name + "': pitch range must satisfy 0 < f0_min <= f0_max < 0.375*fs");
  require(0 < s.syllable_min && s.syllable_min <= s.syllable_max && 0 <= s.pause_min && s.pause_min <= s.pause_max,
          "speaker '" + s.name + "': syllable/pause durations must be positive ranges");
  const auto T = static_cast<int64_t>(std::llround(seconds * sample_rate));
  require(T >= 1, "speaker '" + s.name + "': duration shorter than one sample");
  std::mt19937_64 g(seed);
  torch::Tensor out = torch::zeros({T}, torch::kFloat64);
  const double nyquist_guard = 0.45 * sample_rate;
  int64_t t0 = static_cast<int64_t>(uniform(g, s.pause_min, s.pause_max) * sample_rate);
  while (t0 < T) {
    const int64_t n = std::min<int64_t>(T - t0, std::max<int64_t>(8, std::llround(uniform(g, s.syllable_min, s.syllable_max) * sample_rate)));
    // Log-uniform pitch, log-linear glide, sinusoidal vibrato.
    const double f_start = s.f0_min * std::pow(s.f0_max / s.f0_min, uniform(g));
    const double f_end = f_start * std::pow(2.0, uniform(g, -1, 1) * s.glide_semitones / 12.0);
    const double vib_phase = uniform(g, 0, 2 * M_PI), phase0 = uniform(g, 0, 2 * M_PI);
    const double level = uniform(g, 0.6, 1.0);
    const auto& vowel = s.vowels[static_cast<size_t>(uniform(g) * s.vowels.size())];
    const torch::Tensor t = torch::arange(n, torch::kFloat64);
    const torch::Tensor f0 = f_start * torch::pow(f_end / f_start, t / static_cast<double>(n)) *
                             (1.0 + s.vibrato_depth * torch::sin((2 * M_PI * s.vibrato_rate / sample_rate) * t + vib_phase));
    const torch::Tensor phase = torch::cumsum(f0, 0).mul_(2 * M_PI / sample_rate).add_(phase0);
    const double f0_peak = f0.max().item<double>();
    torch::Tensor segment = torch::zeros({n}, torch::kFloat64);
    for (int h = 1; h * f0_peak < nyquist_guard; ++h) {
      const torch::Tensor amp = formant_envelope(h * f0, vowel) * std::pow(h, -s.tilt);
      segment += amp * torch::cos(torch::remainder(h * phase, 2 * M_PI));
    }
    // Raised-cosine attack/release (15 ms, at most a third of the syllable).
    const int64_t fade = std::min<int64_t>(n / 3, std::llround(0.015 * sample_rate));
    if (fade > 0) {
      const torch::Tensor ramp = 0.5 - 0.5 * torch::cos((M_PI / fade) * (torch::arange(fade, torch::kFloat64) + 0.5));
      segment.slice(0, 0, fade).mul_(ramp);
      segment.slice(0, n - fade, n).mul_(ramp.flip(0));
    }
    out.slice(0, t0, t0 + n).add_(segment, level);
    t0 += n + static_cast<int64_t>(uniform(g, s.pause_min, s.pause_max) * sample_rate);
  }
  const double rms = out.square().mean().sqrt().item<double>();
  if (rms > 0) out.mul_(0.1 / rms);
  return out;
}

SpeakerMixture speaker_mixture(const std::vector<SpeakerOptions>& speakers, double seconds, double sample_rate,
                               uint64_t seed) {
  require(!speakers.empty(), "speaker mixture: no speakers");
  std::vector<torch::Tensor> sources;
  for (size_t k = 0; k < speakers.size(); ++k)
    sources.push_back(speaker_signal(speakers[k], seconds, sample_rate, mix_seed(seed * 64 + k)));
  SpeakerMixture m;
  m.sources = torch::stack(sources);  // each at 0.1 RMS: a 0 dB mixture
  m.mixture = m.sources.sum(0);
  return m;
}

}  // namespace factorch::signal
