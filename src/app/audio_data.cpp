#include "app/audio_data.h"

#include <algorithm>
#include <filesystem>

#include "app/audio_shard.h"
#include "factorch/error.h"
#include "factorch/io/wav.h"
#include "factorch/signal/synthetic.h"

namespace factorch::app {

namespace fs = std::filesystem;

bool has_audio_input(const Config& c) {
  if (c.has("data.synthetic")) return true;
  if (!c.has("data.input")) return false;
  const auto inputs = c.strings("data.input");
  return !(inputs.size() == 1 && fs::path(inputs[0]).extension() == ".npy");
}

// ------------------------------------------------------------------ representation

namespace {

separation::RepresentationOptions representation_options(const Config& c, const TransformSpec& spec) {
  if (spec.kind == "cqt") c.fail("data.transform.kind", "cqt cannot be inverted: model.type " + c.string("model.type") + " needs stft or dct");
  if (spec.kind == "dct" && spec.win_length != spec.n_fft)
    c.fail("data.transform.win_length", "must equal data.transform.n_fft for the dct (frames are not zero-padded)");
  separation::RepresentationOptions o;
  o.kind = spec.kind == "dct" ? separation::TransformKind::Dct : separation::TransformKind::Stft;
  o.stft = spec.stft();
  o.exponent = spec.exponent;
  return o;
}

}  // namespace

AudioRepresentation::AudioRepresentation(const Config& c)
    : spec_(transform_spec(c)), where_(c.where("data.transform.n_fft")), stft_(spec_.stft()),
      rep_(representation_options(c, spec_)) {}

torch::Tensor AudioRepresentation::analyse(const torch::Tensor& x) const {
  try {
    return rep_.analyse(x);
  } catch (const Error& e) {
    throw Error(where_ + ": data.transform.n_fft = " + std::to_string(stft_.n_fft) + ": " + e.what());
  }
}

torch::Tensor AudioRepresentation::analyse_unpadded(const torch::Tensor& segment) const {
  try {
    return rep_.analyse_unpadded(segment);
  } catch (const Error& e) {
    throw Error(where_ + ": data.transform.n_fft = " + std::to_string(stft_.n_fft) + ": " + e.what());
  }
}

// ------------------------------------------------------------------ loading

signal::HarmonicMixture harmonic_notes(const SyntheticParams& p, uint64_t seed) {
  signal::HarmonicMixtureOptions o;
  o.frequencies = p.numbers("frequencies");
  if (o.frequencies.empty()) p.fail("frequencies", "needs at least one frequency");
  o.sample_rate = p.number("sample_rate");
  o.length = p.samples();
  o.harmonics = static_cast<int>(p.integer("harmonics"));
  o.decay = p.number("decay");
  o.seed = seed;
  const std::string envelopes = p.string("envelopes");
  if (envelopes == "on") {
    o.envelopes.assign(o.frequencies.size(), signal::Envelope{});
  } else if (o.frequencies.size() != 2) {
    p.fail("envelopes", "'" + envelopes + "' is laid out for 2 notes, got " + std::to_string(o.frequencies.size()) +
                            " frequencies (use on)");
  }
  o.envelope_shape = envelopes == "paper" ? signal::EnvelopeShape::SineRoot : signal::EnvelopeShape::Flat;
  try {
    return signal::harmonic_mixture(o);
  } catch (const Error& e) {
    p.fail("frequencies", std::string("do not make a valid signal: ") + e.what());
  }
}

namespace {

io::Audio read_mono(const Config& c, const std::string& key, const std::string& path) {
  try {
    return io::read_wav(path, mono_read_options(c));
  } catch (const Error& e) {
    c.fail(key, e.what());
  }
}

}  // namespace

std::vector<std::string> harmonic_note_names(size_t count) {
  std::vector<std::string> names;
  for (size_t k = 0; k < count; ++k) names.push_back("note" + std::to_string(k + 1));
  return names;
}

std::vector<torch::Tensor> harmonic_training_notes(const SyntheticParams& p) {
  std::vector<torch::Tensor> out;
  const auto freqs = p.numbers("frequencies");
  const int64_t length = p.samples("train_seconds");
  const auto seed = static_cast<uint64_t>(p.integer("seed"));
  try {
    // Steady notes (always on), with phases independent of every realisation of the mixture.
    for (size_t k = 0; k < freqs.size(); ++k)
      out.push_back(signal::harmonic_source(freqs[k], p.number("sample_rate"), length, static_cast<int>(p.integer("harmonics")),
                                            p.number("decay"), {}, seed + 100003ULL + k));
  } catch (const Error& e) {
    p.fail("train_seconds", std::string("do not make valid training notes: ") + e.what());
  }
  return out;
}

AudioData load_audio_data(const Config& c) {
  AudioData d;
  if (c.has("data.synthetic")) {
    if (c.has("data.input")) c.fail("data.synthetic", "and data.input are exclusive (the signal is embedded)");
    const SyntheticParams p(c, {"harmonic_notes"});
    const signal::HarmonicMixture m = harmonic_notes(p, static_cast<uint64_t>(p.integer("seed")));
    d.mixture = m.mixture;
    d.sample_rate = static_cast<int>(m.sample_rate);
    d.references = m.sources;
    d.source_names = harmonic_note_names(p.numbers("frequencies").size());
    if (c.has("data.references")) c.fail("data.references", "is given by data.synthetic (its clean notes)");
    if (c.has("data.train")) c.fail("data.train", "is given by data.synthetic (set data.synthetic.train_seconds)");
    if (p.number("train_seconds") > 0) d.training = harmonic_training_notes(p);
    return d;
  }

  if (!c.has("data.input")) c.fail("data.input", "is required (a .npy matrix, WAV files, or data.synthetic)");
  const std::vector<std::string> inputs = resolve_audio_paths(c, "data.input", c.strings("data.input"));
  if (inputs.size() != 1)
    c.fail("data.input", "must be one mixture for model.type " + c.string("model.type") + ", got " +
                             std::to_string(inputs.size()) + " files");
  const io::Audio mix = read_mono(c, "data.input", inputs[0]);
  d.mixture = mix.samples[0];
  d.sample_rate = mix.sample_rate;

  auto check_rate = [&](const std::string& key, const io::Audio& a) {
    try {
      io::require_same_rate(mix, a);
    } catch (const Error& e) {
      c.fail(key, e.what());
    }
  };
  if (c.has("data.train")) {
    for (const auto& [name, entries] : source_lists(c, "data.train")) {
      std::vector<torch::Tensor> parts;
      for (const std::string& path : resolve_audio_paths(c, "data.train." + name, entries)) {
        const io::Audio a = read_mono(c, "data.train." + name, path);
        check_rate("data.train." + name, a);
        parts.push_back(a.samples[0]);
      }
      // Several files of one source are one training signal (their spectrograms side by side
      // but for the few frames across each boundary).
      d.training.push_back(torch::cat(parts));
      d.source_names.push_back(name);
    }
  }
  if (c.has("data.references")) {
    std::vector<torch::Tensor> refs;
    std::vector<std::string> names;
    for (const auto& [name, files] : source_lists(c, "data.references")) {
      if (files.size() != 1)
        c.fail("data.references." + name, "must be one file (one mixture in data.input), got " + std::to_string(files.size()));
      const io::Audio a = read_mono(c, "data.references." + name, files[0]);
      check_rate("data.references." + name, a);
      if (a.frames() != mix.frames())
        c.fail("data.references." + name, files[0] + ": has " + std::to_string(a.frames()) + " samples but the mixture " +
                                              mix.path + " has " + std::to_string(mix.frames()));
      names.push_back(name);
      refs.push_back(a.samples[0]);
    }
    d.references = torch::stack(refs);
    if (!d.source_names.empty() && names != d.source_names)
      c.fail("data.references", "must name the same sources in the same order as data.train");
    d.source_names = names;
  }
  return d;
}

}  // namespace factorch::app
