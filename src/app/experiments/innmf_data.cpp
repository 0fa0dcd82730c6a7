// iN-NMF's data, loaded once per run into InnmfData: a signal (data.input WAV, or the embedded
// note_sequence toy) turned into (time, frequency, value) samples by an STFT (|STFT|^exponent)
// or a constant-Q transform, or a user's S×3 .npy of samples (data.input: samples.npy).
#include <cmath>

#include "app/audio_data.h"
#include "app/data_block.h"
#include "app/experiments/implicit_nmf_entry.h"
#include "factorch/error.h"
#include "factorch/io/npy.h"
#include "factorch/io/wav.h"
#include "factorch/signal/frames.h"
#include "factorch/signal/logfreq.h"
#include "factorch/signal/stft.h"
#include "factorch/signal/synthetic.h"

namespace factorch::innmf {

namespace {

bool is_npy(const std::string& path) { return path.size() > 4 && path.substr(path.size() - 4) == ".npy"; }

// The toy brings its own sources: audio keys beside it would be silently ignored.
void refuse_user_sources(const Config& c) {
  for (const char* key : {"data.train", "data.references"})
    if (c.has(key)) c.fail(key, "is given by data.synthetic (the toy's own sources); use data.input for your audio");
}

}  // namespace

std::string representation(const Config& c) {
  if (c.has("data.input")) {
    const auto inputs = c.strings("data.input");
    if (inputs.size() == 1 && is_npy(inputs[0])) return "samples";
  }
  const std::string kind = c.string("data.transform.kind");
  if (kind == "dct") c.fail("data.transform.kind", "must be stft or cqt for innmf, got dct");
  return kind;
}

Signal synthetic_signal(const std::vector<double>& notes, double rate, double seconds, int harmonics, double decay,
                        uint64_t seed, bool overlap, double linewidth) {
  const int64_t T = std::llround(seconds * rate);
  const int64_t S = static_cast<int64_t>(notes.size());
  require(S >= 1, "synthetic signal: needs at least one note");
  Signal out;
  out.rate = rate;
  out.sources = torch::zeros({S, T}, torch::kFloat64);
  // Note k sounds in slot k of S (plus, with overlap, half of the next slot): every note is
  // heard alone and with a neighbour, so the components are identifiable.
  const int64_t slot = T / S;
  for (int64_t k = 0; k < S; ++k) {
    signal::Envelope env;
    env.fade = std::min<int64_t>(slot / 8, std::llround(0.02 * rate));
    const int64_t start = k * slot, end = std::min(T, (k + 1) * slot + (overlap ? slot / 2 : 0));
    env.active.push_back({start, k == S - 1 ? T : end});
    if (linewidth <= 0) {
      out.sources[k].copy_(signal::harmonic_source(notes[k], rate, T, harmonics, decay, env, seed * 7919 + k));
      continue;
    }
    // Phase diffusion: increments N(0, σ²) per sample give a Lorentzian line of half-width
    // σ²·fs/(4π) Hz around each partial.
    require(harmonics * notes[k] < rate / 2, "synthetic signal: harmonic " + std::to_string(harmonics) + " of " +
                                                 std::to_string(notes[k]) + " Hz is above the Nyquist frequency");
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed * 7919 + k);
    const double sigma = std::sqrt(4 * M_PI * linewidth / rate);
    const torch::Tensor n = torch::arange(T, torch::kFloat64);
    torch::Tensor x = torch::zeros({T}, torch::kFloat64);
    for (int r = 1; r <= harmonics; ++r) {
      const torch::Tensor phi = at::normal(0.0, sigma, {T}, gen, torch::kFloat64).cumsum(0);
      x += std::pow(decay, r) * torch::cos((2 * M_PI * r * notes[k] / rate) * n + phi);
    }
    out.sources[k].copy_(x * signal::envelope_signal(env, T));
  }
  out.signal = out.sources.sum(0);
  return out;
}

SeparationSet user_separation_set(const app::AudioData& a) {
  SeparationSet out;
  out.names = a.source_names;
  out.training = a.training;
  out.mixture = a.mixture;
  out.references = a.references;
  out.rate = a.sample_rate;
  return out;
}

Signal load_signal(const Config& c) {
  if (c.has("data.input")) {  // the shared loader: data.channel/downmix, rate and count checks
    const app::AudioData a = app::load_audio_data(c);
    return Signal{a.mixture, static_cast<double>(a.sample_rate), {}};
  }
  if (!c.has("data.synthetic")) c.fail("data.input", "is required (a WAV, or an S×3 samples .npy) unless data.synthetic is set");
  refuse_user_sources(c);
  const app::SyntheticParams p(c, {"note_sequence"});
  try {
    return synthetic_signal(p.numbers("frequencies"), p.number("sample_rate"), p.number("seconds"),
                            static_cast<int>(p.integer("harmonics")), p.number("decay"),
                            static_cast<uint64_t>(p.integer("seed")), true, p.number("linewidth"));
  } catch (const Error& e) {
    p.fail("frequencies", std::string("do not make a valid signal: ") + e.what());
  }
}

Spectrogram stft_spectrogram(const Config& c, const Signal& s, int64_t n_fft) {
  const signal::StftOptions o = app::transform_spec(c).stft(n_fft);
  require(n_fft <= s.signal.size(0), "iN-NMF: n_fft " + std::to_string(n_fft) + " exceeds the signal's " +
                                         std::to_string(s.signal.size(0)) + " samples");
  Spectrogram out;
  out.complex = signal::stft(s.signal, o);
  out.V = signal::magnitude(out.complex).pow(c.number("data.transform.exponent"));
  out.frequencies = signal::stft_frequencies(n_fft, s.rate);
  out.times = signal::frame_times(out.V.size(1), o.frame_length(), o.hop, s.rate);
  out.options = o;
  return out;
}

torch::Tensor samples_of(const Spectrogram& sp) {
  return signal::time_frequency_samples(sp.V, sp.frequencies, sp.times);
}


SeparationSet toy_separation_set(const Config& c) {
  // Two "instruments" of two notes each, with different harmonic structures; dictionaries are
  // learnt on solo renderings, the mixture uses other phases and the notes in the other order.
  refuse_user_sources(c);
  const app::SyntheticParams p(c, {"note_sequence"});
  const double rate = p.number("sample_rate");
  const double seconds = p.number("seconds");
  const std::vector<double> notes = p.numbers("frequencies");
  if (notes.size() < 4) p.fail("frequencies", "needs 4 notes for the separation report (2 per source)");
  const uint64_t seed = static_cast<uint64_t>(p.integer("seed"));
  const int harmonics = static_cast<int>(p.integer("harmonics"));
  const double lw = p.number("linewidth");
  SeparationSet out;
  out.rate = rate;
  out.names = {"source1", "source2"};
  const std::vector<std::vector<double>> src = {{notes[0], notes[2]}, {notes[1], notes[3]}};
  const std::vector<double> decays = {0.85, 0.35};  // bright vs dull source
  std::vector<torch::Tensor> refs;
  for (size_t k = 0; k < 2; ++k) {
    out.training.push_back(synthetic_signal(src[k], rate, seconds, harmonics, decays[k], seed + 100 + k, true, lw).signal);
    refs.push_back(synthetic_signal({src[k][1], src[k][0]}, rate, seconds, harmonics, decays[k], seed + 200 + k, true, lw).signal);
  }
  out.references = torch::stack(refs);
  out.mixture = out.references.sum(0);
  return out;
}

app::Dataset load_innmf_dataset(const Config& c) {
  auto part = std::make_shared<InnmfData>();
  part->representation = representation(c);
  app::Dataset out;
  TrainingData& data = out.matrix;
  data.rows_are_samples = true;
  if (part->representation == "samples") {
    if (!c.has("data.sample_rate"))
      c.fail("data.sample_rate", "is required with a samples .npy (it sets the frequency range up to Nyquist)");
    part->rate = c.number("data.sample_rate");
    torch::Tensor X;
    try {
      X = io::load_npy(c.strings("data.input")[0]).to(torch::kFloat64);
    } catch (const Error& e) {
      c.fail("data.input", std::string("cannot be loaded: ") + e.what());
    }
    if (X.dim() != 2 || X.size(1) != 3) {
      std::string shape;
      for (int64_t i = 0; i < X.dim(); ++i) shape += (i ? "x" : "") + std::to_string(X.size(i));
      c.fail("data.input", "must be an S×3 array (time s, frequency Hz, value), got shape " + (shape.empty() ? "()" : shape));
    }
    if (X.size(0) == 0) c.fail("data.input", "has no samples");
    data.X = X;
  } else {
    if (c.has("data.input")) {
      // Read once: the mixture is the signal; clean training audio, if any, is the separation set.
      auto audio = std::make_shared<const app::AudioData>(app::load_audio_data(c));
      part->signal = Signal{audio->mixture, static_cast<double>(audio->sample_rate), {}};
      if (!audio->training.empty()) part->separation = std::make_shared<const SeparationSet>(user_separation_set(*audio));
      out.audio = audio;
    } else {
      part->signal = load_signal(c);
      if (!c.integers("model.separation_n_fft").empty())
        part->separation = std::make_shared<const SeparationSet>(toy_separation_set(c));
    }
    part->rate = part->signal.rate;
    if (part->representation == "stft") {
      const int64_t n_fft = c.integer("data.transform.n_fft");
      if (n_fft > part->signal.signal.size(0))
        c.fail("data.transform.n_fft", std::to_string(n_fft) + " exceeds the signal's " +
                                           std::to_string(part->signal.signal.size(0)) + " samples");
      data.X = samples_of(stft_spectrogram(c, part->signal, n_fft));
    } else {
      const app::TransformSpec tf = app::transform_spec(c);
      signal::ConstantQOptions o;
      o.f_min = tf.cqt_f_min;
      o.bins_per_octave = tf.cqt_bins_per_octave;
      o.hop = tf.hop;
      signal::ConstantQ cq;
      try {
        cq = signal::constant_q(part->signal.signal, part->rate, o);
      } catch (const Error& e) {
        c.fail("data.transform.cqt_f_min", e.what());
      }
      data.X = signal::time_frequency_samples(cq.magnitude().pow(tf.exponent), cq.frequencies, cq.times);
    }
  }
  out.part = part;
  return out;
}

}  // namespace factorch::innmf
