#include "app/experiments/layered_nmf_data.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "app/audio_shard.h"
#include "app/data_block.h"
#include "app/run.h"
#include "factorch/train/device.h"
#include "factorch/error.h"
#include "factorch/io/wav.h"
#include "factorch/signal/speakers.h"

namespace factorch::layered {

namespace fs = std::filesystem;
using separation::Mixture;
using separation::SpeechSet;

namespace {

// Reads mono WAVs at one sample rate (the first file's) and checks that each is long enough
// for one STFT frame, so that nothing fails after training has started.
struct AudioReader {
  AudioReader(const Config& config, const signal::StftOptions& options) : c(config), stft(options) {}
  const Config& c;
  signal::StftOptions stft;
  int rate = 0;
  std::string rate_file;

  torch::Tensor read(const std::string& key, const std::string& path) {
    io::Audio a;
    try {
      a = io::read_wav(path, app::mono_read_options(c));
    } catch (const Error& e) {
      c.fail(key, std::string("cannot be read: ") + e.what());
    }
    if (rate == 0) {
      rate = a.sample_rate, rate_file = path;
    } else if (a.sample_rate != rate) {
      c.fail(key, "(" + path + ") has sample rate " + std::to_string(a.sample_rate) + " Hz but the training audio (" +
                      rate_file + ") is " + std::to_string(rate) + " Hz");
    }
    if (a.samples[0].size(0) < stft.frame_length())
      c.fail("data.transform.n_fft", "= " + std::to_string(stft.n_fft) + " is longer than " + key + " (" + path + ": " +
                                         std::to_string(a.samples[0].size(0)) + " samples)");
    return a.samples[0];
  }
};

// Mixtures (mix_key: files/dirs/globs) and their clean sources ({name: [files]} in the same
// order), by the names of the training sources. Without src_key the sources are undefined
// unless `sources_required`.
std::vector<Mixture> read_mixtures(const Config& c, AudioReader& reader, const std::string& mix_key,
                                   const std::string& src_key, const std::vector<std::string>& names,
                                   bool sources_required = true) {
  std::vector<Mixture> out;
  if (!c.has(mix_key)) {
    if (c.has(src_key)) c.fail(src_key, "is given but " + mix_key + " is not");
    return out;
  }
  const std::vector<std::string> files = app::resolve_audio_paths(c, mix_key, c.strings(mix_key));
  const bool with_sources = c.has(src_key);
  if (!with_sources && sources_required) c.fail(src_key, "is required with " + mix_key + " (the clean sources of each mixture)");
  std::map<std::string, std::vector<std::string>> sources;
  if (with_sources) {
    for (auto& [name, list] : app::source_lists(c, src_key)) sources[name] = app::resolve_audio_paths(c, src_key + "." + name, list);
    for (const auto& [name, list] : sources)
      if (std::find(names.begin(), names.end(), name) == names.end()) c.fail(src_key + "." + name, "is not a source of data.train");
    for (const std::string& name : names) {
      auto it = sources.find(name);
      if (it == sources.end()) c.fail(src_key, "has no files for source '" + name + "'");
      if (it->second.size() != files.size())
        c.fail(src_key + "." + name, "lists " + std::to_string(it->second.size()) + " files for " +
                                         std::to_string(files.size()) + " mixtures in " + mix_key);
    }
  }
  for (size_t i = 0; i < files.size(); ++i) {
    Mixture m;
    m.name = fs::path(files[i]).stem().string();
    for (size_t j = 0; j < i; ++j)  // names pick the output folders and rows
      if (out[j].name == m.name) c.fail(mix_key, "names two mixtures '" + m.name + "' (" + files[j] + ", " + files[i] + ")");
    m.mixture = reader.read(mix_key, files[i]);
    if (!with_sources) {
      out.push_back(std::move(m));
      continue;
    }
    std::vector<torch::Tensor> srcs;
    for (const std::string& name : names) {
      const std::string& f = sources[name][i];
      torch::Tensor x = reader.read(src_key + "." + name, f);
      if (x.size(0) != m.mixture.size(0))
        c.fail(src_key + "." + name, "(" + f + ") has " + std::to_string(x.size(0)) + " samples but its mixture " +
                                         files[i] + " has " + std::to_string(m.mixture.size(0)));
      srcs.push_back(x);
    }
    m.sources = torch::stack(srcs);
    out.push_back(std::move(m));
  }
  return out;
}

uint64_t derived_seed(int64_t seed, int kind, int64_t index) {
  return static_cast<uint64_t>(seed) * 1000003ULL + static_cast<uint64_t>(kind) * 10007ULL + static_cast<uint64_t>(index);
}

// What to read besides the training audio.
struct Needs {
  bool discriminative = false;  // dlnmf: disc and valid mixtures
  bool test = false;            // dlnmf train: test mixtures for the report
  bool inputs = false;          // separate: the mixtures to separate
};

LayeredData read_speakers(const Config& c, const Needs& needs) {
  LayeredData out;
  auto set = std::make_shared<SpeechSet>();
  const app::SyntheticParams p(c, {"speakers"});
  for (const char* k : {"data.train", "data.disc_mixtures", "data.valid_mixtures", "data.test_mixtures", "data.input",
                        "data.references"})
    if (c.has(k)) c.fail(k, "cannot be combined with data.synthetic: speakers");
  const std::vector<signal::SpeakerOptions> speakers = {signal::speaker_preset(0), signal::speaker_preset(1)};
  const double rate = p.number("sample_rate");
  if (rate < 2000) p.fail("sample_rate", "must be at least 2000 Hz for the speakers, got " + std::to_string(rate));
  const int64_t seed = p.integer("seed");
  set->sample_rate = static_cast<int>(rate);
  try {
    for (size_t s = 0; s < speakers.size(); ++s) {
      set->source_names.push_back(speakers[s].name);
      set->train.push_back({signal::speaker_signal(speakers[s], p.number("train_seconds"), rate, derived_seed(seed, 0, s))});
    }
    const double secs = p.number("mixture_seconds");
    auto make = [&](int kind, int64_t count, std::vector<Mixture>& dest, const char* prefix) {
      for (int64_t i = 0; i < count; ++i) {
        const auto m = signal::speaker_mixture(speakers, secs, rate, derived_seed(seed, kind, i));
        dest.push_back({prefix + std::to_string(i), m.mixture, m.sources});
      }
    };
    if (needs.discriminative) {
      make(1, p.integer("disc_count"), set->disc, "disc");
      make(2, p.integer("valid_count"), set->valid, "valid");
    }
    if (needs.test) make(3, p.integer("test_count"), set->test, "test");
    if (needs.inputs) make(3, p.integer("test_count"), out.inputs, "test");  // separate: the test mixtures
  } catch (const Error& e) {
    c.fail("data.synthetic", std::string("cannot generate the speakers: ") + e.what());
  }
  const int64_t frame = pipeline_options(c).stft.frame_length();
  if (static_cast<double>(frame) > p.number("mixture_seconds") * rate || static_cast<double>(frame) > p.number("train_seconds") * rate)
    c.fail("data.transform.n_fft", "= " + std::to_string(frame) + " is longer than the speakers' signals (data.synthetic.*_seconds)");
  out.has_references = needs.inputs;
  out.speech = std::move(set);
  return out;
}

LayeredData read_speech(const Config& c, const Needs& needs) {
  if (c.has("data.synthetic")) return read_speakers(c, needs);
  if (!c.has("data.train")) c.fail("data.train", "is required (per-source training WAVs) unless data.synthetic: speakers");
  LayeredData out;
  auto set = std::make_shared<SpeechSet>();
  AudioReader reader(c, pipeline_options(c).stft);
  for (const auto& [name, entries] : app::source_lists(c, "data.train")) {
    const std::vector<std::string> files = app::resolve_audio_paths(c, "data.train." + name, entries);
    set->source_names.push_back(name);
    std::vector<torch::Tensor> signals;
    for (const std::string& f : files) signals.push_back(reader.read("data.train." + name, f));
    set->train.push_back(std::move(signals));
  }
  if (set->train.empty()) c.fail("data.train", "lists no sources");
  const bool separates = needs.discriminative || needs.inputs;
  if (separates && set->source_names.size() < 2) c.fail("data.train", "needs at least two sources for separation");
  if (needs.discriminative) {
    set->disc = read_mixtures(c, reader, "data.disc_mixtures", "data.disc_sources", set->source_names);
    set->valid = read_mixtures(c, reader, "data.valid_mixtures", "data.valid_sources", set->source_names);
    if (set->disc.empty()) c.fail("data.disc_mixtures", "is required for dlnmf (discriminative-training mixtures)");
  }
  if (needs.test) set->test = read_mixtures(c, reader, "data.test_mixtures", "data.test_sources", set->source_names);
  if (needs.inputs) {
    if (!c.has("data.input")) c.fail("data.input", "is required: the mixture(s) to separate");
    out.inputs = read_mixtures(c, reader, "data.input", "data.references", set->source_names, false);
    out.has_references = c.has("data.references");
  }
  set->sample_rate = reader.rate;
  out.speech = std::move(set);
  return out;
}

app::Dataset dataset_of(LayeredData data, TrainingData matrix) {
  app::Dataset d;
  d.matrix = std::move(matrix);
  d.part = std::make_shared<const LayeredData>(std::move(data));
  return d;
}

TrainingData speech_matrix(const Config& c, const SpeechSet& set, bool discriminative) {
  const separation::PipelineOptions p = pipeline_options(c);
  TrainingData d;
  if (discriminative) {
    d.X = separation::discriminative_matrix(set.disc, p.stft, p.exponent);
    return d;
  }
  std::vector<torch::Tensor> all;
  for (const auto& signals : set.train) all.insert(all.end(), signals.begin(), signals.end());
  d.X = separation::concatenated_spectrogram(all, p.stft, p.exponent);
  return d;
}

}  // namespace

separation::PipelineOptions pipeline_options(const Config& c) {
  const app::TransformSpec t = app::transform_spec(c);
  if (t.kind != "stft") c.fail("data.transform.kind", "must be stft for " + c.string("model.type") + ", got " + t.kind);
  separation::PipelineOptions o;
  o.stft = t.stft();
  o.exponent = t.exponent;
  o.mask_exponent = c.number("model.mask_exponent");
  try {
    o.device = device_from_name(c.string("trainer.device"), "trainer.device");
  } catch (const Error& e) {
    throw Error(c.where("trainer.device") + ": " + e.what());
  }
  o.dtype = dtype_from_name(c.string("trainer.dtype"), "trainer.dtype");
  return o;
}

app::Dataset load_lnmf(const Config& c) {
  if (c.has("data.input")) {
    if (c.has("data.synthetic") || c.has("data.train")) c.fail("data.input", "cannot be combined with data.synthetic or data.train");
    return app::load_dataset(c);  // an F×N .npy, or the V of a WAV through the data block
  }
  LayeredData data = read_speech(c, {});
  const TrainingData matrix = speech_matrix(c, *data.speech, false);
  return dataset_of(std::move(data), matrix);
}

app::Dataset load_dlnmf(const Config& c) {
  if (c.has("data.input"))
    c.fail("data.input", "is separated by `factorch separate` with dlnmf; `factorch train` scores data.test_mixtures");
  LayeredData data = read_speech(c, {true, true, false});
  const TrainingData matrix = speech_matrix(c, *data.speech, true);
  return dataset_of(std::move(data), matrix);
}

app::Dataset load_for_separation(const Config& c) {
  const bool dl = c.string("model.type") == "dlnmf";
  LayeredData data = read_speech(c, {dl, false, true});
  const TrainingData matrix = dl ? speech_matrix(c, *data.speech, true) : TrainingData{};
  return dataset_of(std::move(data), matrix);
}

}  // namespace factorch::layered
