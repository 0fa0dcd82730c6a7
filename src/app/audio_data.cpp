#include "app/audio_data.h"

#include <algorithm>
#include <filesystem>

#include "factorch/error.h"
#include "factorch/io/wav.h"
#include "factorch/signal/dct.h"
#include "factorch/signal/synthetic.h"
#include "factorch/signal/window.h"

namespace factorch::app {

namespace fs = std::filesystem;

void add_audio_data_keys(ConfigSchema& s, const std::vector<std::string>& m) {
  s.add("data.representation", KeyType::String,
        "audio → V: stft_power (|STFT|²), stft_magnitude (|STFT|) or dct_power (squared DCT-II of the frames)")
      .choice({"stft_power", "stft_magnitude", "dct_power"}).def("stft_power").for_models(m);
  s.add("data.n_fft", KeyType::Integer, "FFT size (STFT) or frame length M (DCT)").def("1024").at_least(2).for_models(m);
  s.add("data.hop", KeyType::Integer, "hop between frames in samples").def("256").at_least(1).for_models(m);
  s.add("data.window", KeyType::String, "analysis/synthesis window").choice({"hann", "sine", "tukey", "rectangular"})
      .def("hann").for_models(m);
  s.add("data.tukey_alpha", KeyType::Number, "cosine fraction of the tukey window").def("0.5").at_least(0).for_models(m);
  s.add("data.channel", KeyType::Integer, "keep this channel (0-based) of a multichannel WAV").at_least(0).for_models(m);
  s.add("data.downmix", KeyType::Boolean, "average the channels of a multichannel WAV").def("false").for_models(m);
  s.add("data.synthetic", KeyType::String,
        "embedded signal instead of data.input: harmonic_notes (sum of cos(r(2πft/fs+θ))·decay^r notes "
        "with on/off envelopes, TL-NMF identifiability paper); its clean notes are the references")
      .choice({"harmonic_notes"}).for_models(m);
  s.add("data.frequencies", KeyType::NumberList, "synthetic: fundamental frequency of each note (Hz)")
      .def("[440.0, 466.16]").for_models(m);
  s.add("data.sample_rate", KeyType::Integer, "synthetic: sample rate (Hz)").def("5000").at_least(1).for_models(m);
  s.add("data.length", KeyType::Integer, "synthetic: length in samples").def("15000").at_least(1).for_models(m);
  s.add("data.harmonics", KeyType::Integer, "synthetic: harmonics per note").def("2").at_least(1).for_models(m);
  s.add("data.decay", KeyType::Number, "synthetic: amplitude of harmonic r is decay^r").def("0.5").above(0).for_models(m);
  s.add("data.seed", KeyType::Integer, "synthetic: seed of the phases").def("0").at_least(0).for_models(m);
  s.add("data.references", KeyType::StringOrMap,
        "clean sources {name: file.wav} for evaluation (BSS metrics in metrics.json)").for_models(m);
  s.add("data.train", KeyType::StringOrMap,
        "supervised separation: per-source clean training audio {name: file.wav}, or 'synthetic' "
        "(notes of another realisation of data.synthetic, seed + 1)").for_models(m);
}

bool has_audio_input(const Config& c) {
  if (c.has("data.synthetic")) return true;
  if (!c.has("data.input")) return false;
  return fs::path(c.string("data.input")).extension() != ".npy";
}

// ------------------------------------------------------------------ representation

AudioRepresentation::AudioRepresentation(const Config& c)
    : kind_(c.string("data.representation")), where_(c.where("data.n_fft")) {
  stft_.n_fft = c.integer("data.n_fft");
  stft_.hop = c.integer("data.hop");
  stft_.window = c.string("data.window");
  stft_.tukey_alpha = c.number("data.tukey_alpha");
  if (stft_.hop > stft_.n_fft) c.fail("data.hop", "must not exceed data.n_fft = " + std::to_string(stft_.n_fft) +
                                                      ", got " + std::to_string(stft_.hop));
}

torch::Tensor AudioRepresentation::analyse(const torch::Tensor& x) const {
  try {
    if (kind_ == "dct_power") {
      const int64_t M = stft_.n_fft;
      const torch::Tensor w = signal::window_from_name(stft_.window, M, stft_.tukey_alpha, x.options());
      return torch::mm(signal::dct2_matrix(M, x.options()), signal::frame_signal(x, M, stft_.hop, w));
    }
    return signal::stft(x, stft_);
  } catch (const Error& e) {
    throw Error(where_ + ": data.n_fft = " + std::to_string(stft_.n_fft) + ": " + e.what());
  }
}

torch::Tensor AudioRepresentation::nonnegative(const torch::Tensor& coefficients) const {
  if (kind_ == "dct_power") return coefficients.square();
  return kind_ == "stft_magnitude" ? signal::magnitude(coefficients) : signal::power(coefficients);
}

torch::Tensor AudioRepresentation::synthesise(const torch::Tensor& coefficients, int64_t length) const {
  if (kind_ == "dct_power") {
    const int64_t M = stft_.n_fft;
    const torch::Tensor w = signal::window_from_name(stft_.window, M, stft_.tukey_alpha, coefficients.options());
    const torch::Tensor frames = torch::mm(signal::dct2_matrix(M, coefficients.options()).t(), coefficients);
    return signal::overlap_add(frames, stft_.hop, w, length);
  }
  return signal::istft(coefficients, stft_, length);
}

// ------------------------------------------------------------------ loading

namespace {

signal::HarmonicMixture synthesise_notes(const Config& c, uint64_t seed) {
  signal::HarmonicMixtureOptions o;
  o.frequencies = c.numbers("data.frequencies");
  if (o.frequencies.empty()) c.fail("data.frequencies", "needs at least one frequency");
  o.sample_rate = static_cast<double>(c.integer("data.sample_rate"));
  o.length = c.integer("data.length");
  o.harmonics = static_cast<int>(c.integer("data.harmonics"));
  o.decay = c.number("data.decay");
  o.seed = seed;
  try {
    return signal::harmonic_mixture(o);
  } catch (const Error& e) {
    c.fail("data.synthetic", e.what());
  }
}

io::Audio read_mono(const Config& c, const std::string& key, const std::string& path) {
  io::ReadOptions r;
  if (c.has("data.channel")) r.channel = static_cast<int>(c.integer("data.channel"));
  r.downmix = c.boolean("data.downmix");
  r.require_mono = true;
  try {
    return io::read_wav(path, r);
  } catch (const Error& e) {
    c.fail(key, e.what());
  }
}

// A {name: file.wav} map of the config, in file order.
std::vector<std::pair<std::string, std::string>> file_map(const Config& c, const std::string& key) {
  const YAML::Node n = c.node(key);
  if (!n.IsMap()) c.fail(key, "must map source names to WAV files, got " + n.Scalar());
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : n) out.emplace_back(kv.first.Scalar(), kv.second.Scalar());
  if (out.empty()) c.fail(key, "names no source");
  return out;
}

}  // namespace

AudioData load_audio_data(const Config& c) {
  AudioData d;
  if (c.has("data.synthetic")) {
    if (c.has("data.input")) c.fail("data.synthetic", "and data.input are exclusive (the signal is embedded)");
    const signal::HarmonicMixture m = synthesise_notes(c, static_cast<uint64_t>(c.integer("data.seed")));
    d.mixture = m.mixture;
    d.sample_rate = static_cast<int>(m.sample_rate);
    d.references = m.sources;
    for (size_t k = 0; k < c.numbers("data.frequencies").size(); ++k) d.source_names.push_back("note" + std::to_string(k + 1));
    if (c.has("data.references")) c.fail("data.references", "is given by data.synthetic (its clean notes)");
    if (c.has("data.train")) {
      if (!c.node("data.train").IsScalar() || c.string("data.train") != "synthetic")
        c.fail("data.train", "must be 'synthetic' with data.synthetic, got " + c.string("data.train"));
      const signal::HarmonicMixture t = synthesise_notes(c, static_cast<uint64_t>(c.integer("data.seed")) + 1);
      for (int64_t s = 0; s < t.sources.size(0); ++s) d.training.push_back(t.sources[s]);
    }
    return d;
  }

  if (!c.has("data.input")) c.fail("data.input", "is required (a .npy matrix, a WAV file, or data.synthetic)");
  const io::Audio mix = read_mono(c, "data.input", c.string("data.input"));
  d.mixture = mix.samples[0];
  d.sample_rate = mix.sample_rate;

  auto load_sources = [&](const std::string& key, std::vector<torch::Tensor>& out, bool same_length) {
    std::vector<std::string> names;
    for (const auto& [name, path] : file_map(c, key)) {
      const io::Audio a = read_mono(c, key, path);
      try {
        io::require_same_rate(mix, a);
      } catch (const Error& e) {
        c.fail(key, e.what());
      }
      if (same_length && a.frames() != mix.frames())
        c.fail(key, path + ": has " + std::to_string(a.frames()) + " samples but the mixture " + mix.path + " has " +
                        std::to_string(mix.frames()));
      names.push_back(name);
      out.push_back(a.samples[0]);
    }
    return names;
  };
  std::vector<std::string> train_names;
  if (c.has("data.train")) {
    if (c.node("data.train").IsScalar()) c.fail("data.train", "must map source names to WAV files without data.synthetic");
    train_names = load_sources("data.train", d.training, false);
  }
  if (c.has("data.references")) {
    std::vector<torch::Tensor> refs;
    d.source_names = load_sources("data.references", refs, true);
    d.references = torch::stack(refs);
    if (!train_names.empty() && train_names != d.source_names)
      c.fail("data.references", "must name the same sources in the same order as data.train");
  } else {
    d.source_names = train_names;
  }
  return d;
}

}  // namespace factorch::app
