#include "app/data_block.h"

#include <glob.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "factorch/error.h"

namespace factorch::app {

namespace fs = std::filesystem;

namespace {

// Each embedded signal and the parameters it takes, with their defaults (YAML text). The
// parameters are declared once in the schema (data.synthetic.*) without a default, so that a
// config without data.synthetic has no synthetic block at all; the signal's own default fills in.
const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>& signal_table() {
  static const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> table = {
      {"harmonic_notes",
       {{"frequencies", "[440.0, 466.16]"}, {"sample_rate", "5000"}, {"seconds", "3.0"}, {"harmonics", "2"},
        {"decay", "0.5"}, {"envelopes", "paper"}, {"realisations", "1"}, {"train_seconds", "0"}, {"seed", "0"}}},
      {"stereo_notes",
       {{"frequencies", "[440.0, 554.37]"}, {"mixing", "[1.0, 0.4, 0.4, 1.0]"}, {"sample_rate", "8000"},
        {"seconds", "2.0"}, {"harmonics", "6"}, {"decay", "0.7"}, {"seed", "0"}}},
      {"piano", {{"midi_notes", "[61, 65, 68, 72]"}, {"sample_rate", "16000"}, {"event_seconds", "0.5"}, {"seed", "0"}}},
      {"note_sequence",
       {{"frequencies", "[220, 277.18, 329.63, 440]"}, {"sample_rate", "8000"}, {"seconds", "4.0"}, {"harmonics", "6"},
        {"decay", "0.7"}, {"linewidth", "20.0"}, {"seed", "0"}}},
      {"speakers",
       {{"sample_rate", "16000"}, {"train_seconds", "20"}, {"mixture_seconds", "3"}, {"disc_count", "4"},
        {"valid_count", "3"}, {"test_count", "3"}, {"seed", "0"}}},
  };
  return table;
}

const std::vector<std::pair<std::string, std::string>>* signal_params(const std::string& name) {
  for (const auto& [n, params] : signal_table())
    if (n == name) return &params;
  return nullptr;
}

std::vector<std::string> signal_names() {
  std::vector<std::string> out;
  for (const auto& kv : signal_table()) out.push_back(kv.first);
  return out;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

}  // namespace

std::string synthetic_signals_doc() {
  std::ostringstream out;
  for (const auto& [name, params] : signal_table()) {
    out << "      " << name << ":";
    for (const auto& [k, v] : params) out << " " << k << "=" << v;
    out << "\n";
  }
  return out.str();
}

void add_data_keys(ConfigSchema& s) {
  // What to factorise.
  s.add("data.input", KeyType::StringList,
        "the mixture(s): WAV files, directories (their .wav/.flac files) or globs; or one .npy: an F×N "
        "nonnegative matrix used as V as it is (an S×3 (time s, frequency Hz, value) array for innmf)");
  s.add("data.channel", KeyType::Integer, "keep this channel (0-based) of multichannel WAVs").at_least(0);
  s.add("data.downmix", KeyType::Boolean, "average the channels of multichannel WAVs").def("false");
  s.add("data.mask", KeyType::String, "optional .npy of elementwise weights, same shape as V (0 = missing entry)");
  s.add("data.sample_rate", KeyType::Number,
        "Hz: sample rate of input that carries none (an S×3 samples .npy for innmf); WAVs carry their own")
      .above(0);
  s.add("data.references", KeyType::StringListMap,
        "clean sources for BSS metrics: {name: file.wav}, or {name: [one file per mixture of data.input]}; "
        "multichannel_nmf: each source's image with the mixture's channels");
  s.add("data.train", KeyType::StringListMap,
        "supervised models: clean training audio per source {name: [files, directories, globs]} "
        "(sources in this order)");

  // An embedded signal instead of files.
  s.add("data.synthetic.signal", KeyType::String,
        "embedded signal instead of data.input (no files); its clean sources are the references. Each takes "
        "the data.synthetic.* parameters listed with its defaults under `factorch config data`")
      .choice(signal_names());
  s.add("data.synthetic.seed", KeyType::Integer, "seed of the random phases (realisation r uses seed + r)").at_least(0);
  s.add("data.synthetic.sample_rate", KeyType::Number, "sample rate (Hz)").above(0);
  s.add("data.synthetic.seconds", KeyType::Number, "duration of the mixture (s)").above(0);
  s.add("data.synthetic.frequencies", KeyType::NumberList, "fundamental of each note/source (Hz)").above(0);
  s.add("data.synthetic.harmonics", KeyType::Integer, "harmonics per note").at_least(1);
  s.add("data.synthetic.decay", KeyType::Number, "amplitude of harmonic r is decay^r").above(0);
  s.add("data.synthetic.envelopes", KeyType::String,
        "harmonic_notes, 2 notes: note 1 active in the first and last third, note 2 in the last two thirds; "
        "paper: a slowly varying bump sin(π(n+½)/L)^½ over each active interval (the TL-NMF paper's g_i); "
        "abrupt: the same intervals switched on and off; on: always on (any number of notes)")
      .choice({"paper", "abrupt", "on"});
  s.add("data.synthetic.realisations", KeyType::Integer,
        "i.i.d. realisations (random phases); tlnmf: V is the mean of |ΦY_r|² (TL-NMF paper: 10)").at_least(1);
  s.add("data.synthetic.train_seconds", KeyType::Number,
        "clean training audio per source (s) for supervised models (harmonic_notes: 0 = none)").at_least(0);
  s.add("data.synthetic.mixing", KeyType::NumberList, "stereo_notes: channels × sources amplitude gains, row by row");
  s.add("data.synthetic.midi_notes", KeyType::IntegerList, "piano: MIDI numbers of the notes (alone, then in chords)")
      .at_least(0).at_most(127);
  s.add("data.synthetic.event_seconds", KeyType::Number, "piano: duration of each note or chord (s)").above(0);
  s.add("data.synthetic.linewidth", KeyType::Number,
        "note_sequence: half-width in Hz of each partial (phase diffusion); 0: exact stationary sinusoids").at_least(0);
  s.add("data.synthetic.mixture_seconds", KeyType::Number, "speakers: length of each mixture (s)").above(0);
  s.add("data.synthetic.disc_count", KeyType::Integer, "speakers: discriminative-training mixtures").at_least(1);
  s.add("data.synthetic.valid_count", KeyType::Integer,
        "speakers: validation mixtures; their mean SDR picks the discriminative round (0: the last round)").at_least(0);
  s.add("data.synthetic.test_count", KeyType::Integer, "speakers: test mixtures").at_least(1);

  // The one transform block.
  s.add("data.transform.kind", KeyType::String,
        "time-frequency transform of the audio: stft, dct (DCT-II of the windowed frames; TL-NMF's initial Φ) "
        "or cqt (constant-Q, non-uniform bins; analysis only)")
      .choice({"stft", "dct", "cqt"}).def("stft");
  s.add("data.transform.n_fft", KeyType::Integer,
        "frame size: FFT size of the STFT, frame length M of the DCT and of TL-NMF's Φ (M×M)").def("1024").at_least(2);
  s.add("data.transform.win_length", KeyType::Integer, "window length, ≤ n_fft (frames zero-padded; 0: n_fft)")
      .def("0").at_least(0);
  s.add("data.transform.hop", KeyType::Integer, "hop between frames in samples (0: half the window length)")
      .def("0").at_least(0);
  s.add("data.transform.window", KeyType::String, "analysis/synthesis window (sine = √Hann)")
      .choice({"hann", "sine", "tukey", "rectangular"}).def("hann");
  s.add("data.transform.tukey_alpha", KeyType::Number, "cosine fraction of the tukey window").def("0.5").at_least(0).at_most(1);
  s.add("data.transform.exponent", KeyType::Number,
        "V = |X|^exponent: 2 power spectrogram, 1 magnitude, 0.5 compressed magnitude (iN-NMF paper)").def("2").above(0);
  s.add("data.transform.cqt_f_min", KeyType::Number, "cqt: lowest bin centre (Hz)").def("55.0").above(0);
  s.add("data.transform.cqt_bins_per_octave", KeyType::Integer, "cqt: bins per octave").def("24").at_least(1);
}

// ------------------------------------------------------------------ transform

signal::StftOptions TransformSpec::stft(int64_t n) const {
  signal::StftOptions o;
  o.n_fft = n > 0 ? n : n_fft;
  o.win_length = n > 0 && n != n_fft ? std::max<int64_t>(1, win_length * n / n_fft) : win_length;
  if (o.win_length == o.n_fft) o.win_length = 0;
  o.hop = n > 0 && n != n_fft ? std::max<int64_t>(1, hop * n / n_fft) : hop;
  o.window = window;
  o.tukey_alpha = tukey_alpha;
  return o;
}

TransformSpec transform_spec(const Config& c) {
  TransformSpec t;
  t.kind = c.string("data.transform.kind");
  t.n_fft = c.integer("data.transform.n_fft");
  t.win_length = c.integer("data.transform.win_length");
  if (t.win_length == 0) t.win_length = t.n_fft;
  if (t.win_length > t.n_fft)
    c.fail("data.transform.win_length", "must not exceed data.transform.n_fft = " + std::to_string(t.n_fft) + ", got " +
                                            std::to_string(t.win_length));
  t.hop = c.integer("data.transform.hop");
  if (t.hop == 0) t.hop = std::max<int64_t>(1, t.win_length / 2);
  if (t.hop > t.win_length && t.kind != "cqt")
    c.fail("data.transform.hop", "must not exceed the window length " + std::to_string(t.win_length) + ", got " +
                                     std::to_string(t.hop));
  t.window = c.string("data.transform.window");
  t.tukey_alpha = c.number("data.transform.tukey_alpha");
  t.exponent = c.number("data.transform.exponent");
  t.cqt_f_min = c.number("data.transform.cqt_f_min");
  t.cqt_bins_per_octave = static_cast<int>(c.integer("data.transform.cqt_bins_per_octave"));
  return t;
}

// ------------------------------------------------------------------ synthetic

SyntheticParams::SyntheticParams(const Config& c, const std::vector<std::string>& allowed) : config_(c) {
  if (!c.has("data.synthetic")) c.fail("data.synthetic", "is not set (data.synthetic.signal names an embedded signal)");
  if (!c.node("data.synthetic").IsMap())
    c.fail("data.synthetic", "must be a map with at least `signal:` (e.g. data.synthetic.signal: harmonic_notes)");
  if (!c.has("data.synthetic.signal"))
    c.fail("data.synthetic", "needs `signal:` naming the embedded signal (" + join(signal_names(), ", ") + ")");
  signal_ = c.string("data.synthetic.signal");
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), signal_) == allowed.end())
    c.fail("data.synthetic.signal", "must be " + join(allowed, " or ") + " for model.type " + c.string("model.type") +
                                        ", got " + signal_);
  const auto* params = signal_params(signal_);
  for (const auto& kv : c.node("data.synthetic")) {
    const std::string k = kv.first.Scalar();
    if (k == "signal") continue;
    const bool known = std::any_of(params->begin(), params->end(), [&](const auto& p) { return p.first == k; });
    if (!known) {
      std::vector<std::string> names;
      for (const auto& p : *params) names.push_back(p.first);
      c.fail("data.synthetic." + k, "does not apply to the signal " + signal_ + " (it takes " + join(names, ", ") + ")");
    }
  }
}

std::string SyntheticParams::text(const std::string& key) const {
  for (const auto& [k, v] : *signal_params(signal_))
    if (k == key) return v;
  throw Error("data.synthetic." + key + ": not a parameter of " + signal_ + " (internal)");
}

namespace {
// Reads data.synthetic.KEY from the config if set, else from a one-key config holding the default.
template <typename F>
auto param(const Config& c, const std::string& key, const std::string& fallback, F get) {
  const std::string path = "data.synthetic." + key;
  if (c.has(path)) return get(c, path);
  static thread_local std::map<std::string, Config> defaults;
  const std::string yaml = "model: {type: " + c.string("model.type") + "}\ndata:\n  synthetic:\n    " + key + ": " + fallback + "\n";
  auto it = defaults.find(yaml);
  if (it == defaults.end()) it = defaults.emplace(yaml, Config::parse(yaml, "(default of " + path + ")")).first;
  return get(it->second, path);
}
}  // namespace

double SyntheticParams::number(const std::string& k) const {
  return param(config_, k, text(k), [](const Config& c, const std::string& p) { return c.number(p); });
}
int64_t SyntheticParams::integer(const std::string& k) const {
  return param(config_, k, text(k), [](const Config& c, const std::string& p) { return c.integer(p); });
}
std::string SyntheticParams::string(const std::string& k) const {
  return param(config_, k, text(k), [](const Config& c, const std::string& p) { return c.string(p); });
}
std::vector<double> SyntheticParams::numbers(const std::string& k) const {
  return param(config_, k, text(k), [](const Config& c, const std::string& p) { return c.numbers(p); });
}
std::vector<int64_t> SyntheticParams::integers(const std::string& k) const {
  return param(config_, k, text(k), [](const Config& c, const std::string& p) { return c.integers(p); });
}
int64_t SyntheticParams::samples(const std::string& seconds_key) const {
  return static_cast<int64_t>(std::llround(number(seconds_key) * number("sample_rate")));
}
void SyntheticParams::fail(const std::string& key, const std::string& message) const {
  config_.fail("data.synthetic." + key, message);
}

// ------------------------------------------------------------------ files

std::vector<std::string> resolve_audio_paths(const Config& c, const std::string& key, const std::vector<std::string>& entries) {
  std::vector<std::string> out;
  for (const std::string& e : entries) {
    const size_t before = out.size();
    if (e.find_first_of("*?[") != std::string::npos) {
      glob_t g{};
      if (::glob(e.c_str(), 0, nullptr, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; ++i) out.push_back(g.gl_pathv[i]);
      ::globfree(&g);
      if (out.size() == before) c.fail(key, "(" + e + ") matches no file");
    } else if (fs::is_directory(e)) {
      std::vector<std::string> files;
      for (const auto& f : fs::directory_iterator(e)) {
        std::string ext = f.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
        if (f.is_regular_file() && (ext == ".wav" || ext == ".flac")) files.push_back(f.path().string());
      }
      std::sort(files.begin(), files.end());
      if (files.empty()) c.fail(key, "(" + e + ") is a directory with no .wav/.flac file");
      out.insert(out.end(), files.begin(), files.end());
    } else {
      out.push_back(e);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::vector<std::string>>> source_lists(const Config& c, const std::string& key) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  const YAML::Node n = c.node(key);
  if (!n || !n.IsMap()) return out;
  for (const auto& kv : n) {
    std::vector<std::string> items;
    if (kv.second.IsScalar()) {
      items.push_back(kv.second.Scalar());
    } else {
      for (const auto& i : kv.second) items.push_back(i.Scalar());
    }
    if (items.empty()) c.fail(key + "." + kv.first.Scalar(), "has no files (source '" + kv.first.Scalar() + "')");
    out.emplace_back(kv.first.Scalar(), items);
  }
  if (out.empty()) c.fail(key, "names no source");
  return out;
}

}  // namespace factorch::app
