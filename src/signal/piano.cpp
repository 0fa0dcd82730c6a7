#include "factorch/signal/piano.h"

#include <cmath>

#include <ATen/CPUGeneratorImpl.h>

#include "factorch/error.h"

namespace factorch::signal {

double midi_to_hz(double midi) { return 440.0 * std::pow(2.0, (midi - 69.0) / 12.0); }

PianoSignal piano_signal(const PianoOptions& o) {
  require(!o.midi.empty(), "piano: needs at least one note");
  require(o.sample_rate > 0 && o.event_seconds > 0, "piano: sample_rate and event_seconds must be > 0");
  std::vector<std::vector<int64_t>> events = o.events;
  if (events.empty()) {
    for (int64_t m = 0; m < static_cast<int64_t>(o.midi.size()); ++m) events.push_back({m});
    if (o.midi.size() == 4) {
      events.insert(events.end(), {{0, 1}, {2, 3}, {0, 2}, {1, 3}, {0, 1, 2, 3}});
    } else {
      std::vector<int64_t> all;
      for (int64_t m = 0; m < static_cast<int64_t>(o.midi.size()); ++m) all.push_back(m);
      events.push_back(all);
    }
  }
  const auto M = static_cast<int64_t>(o.midi.size());
  const auto L = static_cast<int64_t>(std::llround(o.event_seconds * o.sample_rate));
  require(L >= 16, "piano: event_seconds too short for the sample rate");
  const int64_t T = L * static_cast<int64_t>(events.size());
  const double fs = o.sample_rate;

  torch::Generator gen = at::detail::createCPUGenerator(o.seed);
  const torch::Tensor t = torch::arange(L, torch::kFloat64) / fs;  // time within an event
  // Envelope: 5 ms linear attack, exponential decay, 20 ms damper fade at the event's end.
  const int64_t attack = std::max<int64_t>(1, static_cast<int64_t>(0.005 * fs));
  const int64_t release = std::min<int64_t>(L / 4, static_cast<int64_t>(0.02 * fs));
  torch::Tensor env = torch::exp(-o.decay * t);
  env.slice(0, 0, attack).mul_(torch::arange(1, attack + 1, torch::kFloat64) / attack);
  env.slice(0, L - release, L).mul_(0.5 * (1 + torch::cos(M_PI * torch::arange(1, release + 1, torch::kFloat64) / release)));

  PianoSignal out;
  out.notes = torch::zeros({M, T}, torch::kFloat64);
  out.hammer = torch::zeros({T}, torch::kFloat64);
  out.events = events;
  out.sample_rate = fs;
  // Hammer: 15 ms noise burst, decaying, smoothed by a 4-tap moving average (low-pass).
  const int64_t burst = std::max<int64_t>(8, static_cast<int64_t>(0.015 * fs));
  for (size_t e = 0; e < events.size(); ++e) {
    const int64_t start = static_cast<int64_t>(e) * L;
    for (int64_t m : events[e]) {
      require(m >= 0 && m < M, "piano: event note index " + std::to_string(m) + " is out of range");
      const double f0 = midi_to_hz(static_cast<double>(o.midi[m]));
      torch::Tensor note = torch::zeros({L}, torch::kFloat64);
      for (int64_t r = 1;; ++r) {
        const double fr = r * f0 * std::sqrt(1.0 + o.inharmonicity * r * r);
        if (fr >= 0.45 * fs) break;
        const double phase = 2 * M_PI * torch::rand({1}, gen, torch::kFloat64).item<double>();
        note.add_(torch::cos(2 * M_PI * fr * t + phase), std::pow(static_cast<double>(r), -o.tilt));
      }
      out.notes[m].slice(0, start, start + L).add_(note.mul_(env).mul_(0.3));
    }
    if (o.hammer > 0) {
      torch::Tensor n = torch::randn({burst + 3}, gen, torch::kFloat64);
      n = (n.slice(0, 0, burst) + n.slice(0, 1, burst + 1) + n.slice(0, 2, burst + 2) + n.slice(0, 3, burst + 3)) / 4;
      n.mul_(torch::exp(-torch::arange(burst, torch::kFloat64) / (0.004 * fs))).mul_(o.hammer);
      out.hammer.slice(0, start, start + burst).add_(n);
    }
  }
  out.noise = o.noise > 0 ? torch::randn({T}, gen, torch::kFloat64).mul_(o.noise) : torch::zeros({T}, torch::kFloat64);
  out.mixture = out.notes.sum(0) + out.hammer + out.noise;
  return out;
}

}  // namespace factorch::signal
