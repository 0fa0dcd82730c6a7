#include "factorch/signal/synthetic.h"

#include <cmath>
#include <random>
#include <sstream>

#include "factorch/error.h"

namespace factorch::signal {

namespace {

// A uniform phase in [0, 2π) from the top 53 bits of mt19937_64, which (unlike
// std::uniform_real_distribution) is specified exactly by the standard.
double draw_phase(std::mt19937_64& generator) {
  return 2.0 * M_PI * static_cast<double>(generator() >> 11) * 0x1.0p-53;
}

void require_source(double f0, double sample_rate, int64_t length, int harmonics, double decay) {
  require(sample_rate > 0, "synthetic signal: sample rate must be positive");
  require(length >= 1, "synthetic signal: length must be positive");
  require(harmonics >= 1, "synthetic signal: need at least one harmonic");
  require(std::isfinite(decay) && decay > 0, "synthetic signal: harmonic decay must be positive");
  require(f0 > 0, "synthetic signal: fundamental frequency must be positive (got " + std::to_string(f0) + ")");
  require(harmonics * f0 < sample_rate / 2, "synthetic signal: harmonic " + std::to_string(harmonics) + " of " +
                                                std::to_string(f0) + " Hz is above the Nyquist frequency " +
                                                std::to_string(sample_rate / 2) + " Hz");
}

torch::Tensor harmonic_note(double f0, double sample_rate, int64_t length, int harmonics, double decay, double theta) {
  const auto t = torch::arange(length, torch::kFloat64);
  // Phase of the fundamental reduced mod 2π, so r·phase stays a small, accurate argument.
  const auto phase = torch::remainder((2.0 * M_PI * f0 / sample_rate) * t + theta, 2.0 * M_PI);
  auto note = torch::zeros({length}, torch::kFloat64);
  for (int r = 1; r <= harmonics; ++r) note += std::pow(decay, r) * torch::cos(static_cast<double>(r) * phase);
  return note;
}

}  // namespace

torch::Tensor envelope_signal(const Envelope& envelope, int64_t length, const torch::TensorOptions& options) {
  require(length >= 1, "envelope: length must be positive");
  require(envelope.fade >= 0, "envelope: fade must be non-negative");
  if (envelope.active.empty()) return torch::ones({length}, options);
  auto g = torch::zeros({length}, torch::kFloat64);
  for (const auto& [start, end] : envelope.active) {
    std::ostringstream where;
    where << "envelope: interval [" << start << ", " << end << ")";
    require(0 <= start && start < end && end <= length,
            where.str() + " must satisfy 0 <= start < end <= length " + std::to_string(length));
    if (envelope.shape == EnvelopeShape::SineRoot) {
      const double L = static_cast<double>(end - start);
      g.slice(0, start, end).copy_(torch::sin((M_PI / L) * (torch::arange(end - start, torch::kFloat64) + 0.5)).sqrt_());
      continue;
    }
    g.slice(0, start, end).fill_(1.0);
    const int64_t fade = std::min(envelope.fade, (end - start) / 2);
    if (fade > 0) {
      const auto ramp = 0.5 - 0.5 * torch::cos((M_PI / fade) * (torch::arange(fade, torch::kFloat64) + 0.5));
      g.slice(0, start, start + fade).copy_(ramp);
      g.slice(0, end - fade, end).copy_(ramp.flip(0));
    }
  }
  return g.to(options);
}

torch::Tensor harmonic_source(double f0, double sample_rate, int64_t length, int harmonics, double decay,
                              const Envelope& envelope, uint64_t seed, const torch::TensorOptions& options) {
  require_source(f0, sample_rate, length, harmonics, decay);
  std::mt19937_64 generator(seed);
  const double theta = draw_phase(generator);
  return (harmonic_note(f0, sample_rate, length, harmonics, decay, theta) * envelope_signal(envelope, length))
      .to(options);
}

HarmonicMixture harmonic_mixture(const HarmonicMixtureOptions& o, const torch::TensorOptions& tensor_options) {
  const auto K = static_cast<int64_t>(o.frequencies.size());
  require(K >= 1, "harmonic mixture: no source frequencies");
  require(o.envelopes.empty() || static_cast<int64_t>(o.envelopes.size()) == K,
          "harmonic mixture: " + std::to_string(o.envelopes.size()) + " envelopes for " + std::to_string(K) +
              " sources");
  std::vector<Envelope> envelopes = o.envelopes;
  if (envelopes.empty()) {
    envelopes.resize(K);
    if (K == 2) {
      const int64_t third = o.length / 3;
      envelopes[0].active = {{0, third}, {2 * third, o.length}};
      envelopes[1].active = {{third, o.length}};
      for (auto& e : envelopes) e.shape = o.envelope_shape;
    }
  }
  std::mt19937_64 generator(o.seed);
  HarmonicMixture out;
  out.sample_rate = o.sample_rate;
  auto sources = torch::empty({K, o.length}, torch::kFloat64);
  for (int64_t k = 0; k < K; ++k) {
    require_source(o.frequencies[k], o.sample_rate, o.length, o.harmonics, o.decay);
    out.phases.push_back(draw_phase(generator));
    sources[k].copy_(harmonic_note(o.frequencies[k], o.sample_rate, o.length, o.harmonics, o.decay, out.phases[k]) *
                     envelope_signal(envelopes[k], o.length));
  }
  out.sources = sources.to(tensor_options);
  out.mixture = sources.sum(0).to(tensor_options);
  return out;
}

}  // namespace factorch::signal
